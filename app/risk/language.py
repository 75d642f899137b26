"""Victim-blaming language check (SPEC §5): the phrase list is data; findings warn, never refuse."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PhraseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phrases: list[str] = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    source: str


class PhraseList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    description: str
    sources: dict[str, str]
    note: str
    entries: list[PhraseEntry]


@dataclass(frozen=True, slots=True)
class Finding:
    phrase: str  # the words as they appear in the text
    start: int
    end: int
    suggestion: str
    reason: str
    source: str


def _pattern(phrase: str) -> str:
    # Any run of spaces or hyphens in the list matches any run of spaces or hyphens in the text.
    words = [re.escape(w) for w in re.split(r"[\s\-]+", phrase.strip()) if w]
    return r"[\s\-]+".join(words)


@dataclass(frozen=True, slots=True)
class _Compiled:
    regex: re.Pattern[str]
    entries: tuple[PhraseEntry, ...]
    group_entry: dict[str, int]


@cache
def phrase_list() -> PhraseList:
    raw = resources.files("app.risk").joinpath("phrases.json").read_text(encoding="utf-8")
    phrases = PhraseList.model_validate(json.loads(raw))
    for entry in phrases.entries:
        if entry.source not in phrases.sources:
            raise ValueError(f"phrase entry names an unknown source {entry.source!r}")
    return phrases


@cache
def _compiled() -> _Compiled:
    entries = tuple(phrase_list().entries)
    alternatives: list[tuple[str, int]] = []
    for i, entry in enumerate(entries):
        alternatives.extend((p, i) for p in entry.phrases)
    # Longest first, so "older boyfriend" wins over "boyfriend" at the same position.
    alternatives.sort(key=lambda a: -len(a[0]))
    parts = []
    group_entry: dict[str, int] = {}
    for n, (phrase, i) in enumerate(alternatives):
        group = f"p{n}"
        group_entry[group] = i
        parts.append(f"(?P<{group}>{_pattern(phrase)})")
    regex = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)
    return _Compiled(regex, entries, group_entry)


def check(text: str | None) -> list[Finding]:
    """Every victim-blaming phrase in `text`, in order, non-overlapping (longest match wins)."""
    if not text:
        return []
    # The flag rules check the same stored notes on every read of a case; the regex costs
    # far more than a digest. Keyed by digest, so the cache holds no free text, only findings.
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    found = _checked.get(digest)
    if found is None:
        found = tuple(_check(text))
        if len(_checked) >= _CHECKED_MAX:
            _checked.pop(next(iter(_checked)))
        _checked[digest] = found
    return list(found)


_CHECKED_MAX = 4096
_checked: dict[bytes, tuple[Finding, ...]] = {}


def _check(text: str) -> list[Finding]:
    compiled = _compiled()
    out = []
    for match in compiled.regex.finditer(text):
        group = match.lastgroup
        assert group is not None
        entry = compiled.entries[compiled.group_entry[group]]
        out.append(
            Finding(
                phrase=match.group(0),
                start=match.start(),
                end=match.end(),
                suggestion=entry.suggestion,
                reason=entry.reason,
                source=entry.source,
            )
        )
    return out


def has_concern(text: str | None) -> bool:
    return bool(text) and _compiled().regex.search(text or "") is not None


def sources() -> dict[str, Any]:
    return dict(phrase_list().sources)
