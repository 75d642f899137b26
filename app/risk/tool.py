"""The risk assessment tool: a versioned indicator catalogue, validated, stored and applied.

The default ships as package data (`tools/default.json`); an admin may load another version.
Scoring is pure: indicators -> score -> calculated level (thresholds, then floors).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.models import RiskToolVersion


class Level(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


LEVEL_ORDER: tuple[str, ...] = ("none", "low", "medium", "high")


def rank(level: str) -> int:
    return LEVEL_ORDER.index(level)


class ReferralService(StrEnum):
    substance_misuse = "substance_misuse"
    sexual_health = "sexual_health"
    camhs = "camhs"
    prevent = "prevent"
    online_safety = "online_safety"
    specialist_exploitation = "specialist_exploitation"
    youth_service = "youth_service"
    other = "other"


_CODE = r"^[a-z][a-z0-9_]{0,59}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IndicatorDef(_Strict):
    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1, max_length=300)
    weight: int = Field(ge=0, le=100)
    needs_referral: ReferralService | None = None


class CategoryDef(_Strict):
    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1, max_length=200)
    indicators: list[IndicatorDef] = Field(min_length=1, max_length=100)


class LevelDef(_Strict):
    code: Level
    name: str = Field(min_length=1, max_length=100)
    review_interval_days: int | None = Field(ge=1, le=730)


class ThresholdDef(_Strict):
    level: Level
    min_score: int = Field(ge=0)


class FloorDef(_Strict):
    rule: Literal["under_age_with_indicator"]
    under_age_years: int = Field(ge=1, le=25)
    min_indicators: int = Field(ge=1)
    level: Level
    explanation: str | None = None


class SourceDef(_Strict):
    part: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=2000)


class RiskTool(_Strict):
    """A complete tool definition; the same shape is stored, served and accepted from an admin."""

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    levels: list[LevelDef]
    thresholds: list[ThresholdDef]
    floors: list[FloorDef] = Field(default_factory=list)
    categories: list[CategoryDef] = Field(min_length=1, max_length=50)
    sources: list[SourceDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RiskTool:
        if [lv.code.value for lv in self.levels] != list(LEVEL_ORDER):
            raise ValueError("levels must be none, low, medium, high, in that order")
        scores = [t.min_score for t in self.thresholds]
        if [t.level.value for t in self.thresholds] != list(LEVEL_ORDER) or scores[0] != 0:
            raise ValueError("thresholds must give none (min_score 0), low, medium, high in order")
        if any(b <= a for a, b in zip(scores, scores[1:], strict=False)):
            raise ValueError("threshold min_score must rise strictly from none to high")
        seen: set[str] = set()
        for category in self.categories:
            for indicator in category.indicators:
                if indicator.code in seen:
                    raise ValueError(f"indicator code {indicator.code!r} appears twice")
                seen.add(indicator.code)
        if len({c.code for c in self.categories}) != len(self.categories):
            raise ValueError("category codes must be unique")
        return self

    def indicators(self) -> dict[str, IndicatorDef]:
        return {i.code: i for c in self.categories for i in c.indicators}

    def review_interval(self, level: str) -> dt.timedelta | None:
        days = next(lv.review_interval_days for lv in self.levels if lv.code == level)
        return dt.timedelta(days=days) if days else None


def age_in_years(birth_month: str, on: dt.date) -> int:
    """Completed years on `on`, counting the birthday as passed only once its month has ended.

    Only the month of birth is held; taking the latest possible birthday keeps a child
    'under 13' through the whole month of their 13th birthday, the protective reading.
    """
    year, month = (int(p) for p in birth_month.split("-"))
    return on.year - year - (1 if on.month <= month else 0)


def score(tool: RiskTool, indicators: list[str]) -> int:
    catalogue = tool.indicators()
    return sum(catalogue[code].weight for code in indicators)


def calculated_level(
    tool: RiskTool, indicators: list[str], birth_month: str | None, on: dt.date
) -> tuple[int, str]:
    """The score and the level the tool gives, floors applied."""
    total = score(tool, indicators)
    level = "none"
    for threshold in tool.thresholds:
        if total >= threshold.min_score:
            level = threshold.level.value
    for floor in tool.floors:
        if (
            floor.rule == "under_age_with_indicator"
            and birth_month is not None
            and len(indicators) >= floor.min_indicators
            and age_in_years(birth_month, on) < floor.under_age_years
            and rank(level) < rank(floor.level.value)
        ):
            level = floor.level.value
    return total, level


def unknown_indicators(tool: RiskTool, indicators: list[str]) -> list[str]:
    catalogue = tool.indicators()
    return [code for code in indicators if code not in catalogue]


@cache
def default_tool() -> RiskTool:
    """The packaged default, validated once (at import of the API, i.e. at start-up)."""
    raw = resources.files("app.risk").joinpath("tools/default.json").read_text(encoding="utf-8")
    return RiskTool.model_validate(json.loads(raw))


_parsed: dict[str, RiskTool] = {}
_tools_by_version: dict[str, RiskTool] = {}


def parse_stored(definition: dict[str, Any]) -> RiskTool:
    """A stored definition as a RiskTool, cached by its content."""
    key = json.dumps(definition, sort_keys=True)
    tool = _parsed.get(key)
    if tool is None:
        tool = RiskTool.model_validate(definition)
        _parsed[key] = tool
    return tool


def referral_needs(definition: dict[str, Any]) -> dict[str, str]:
    """indicator code -> referral service, read straight from a stored definition."""
    return {
        i["code"]: i["needs_referral"]
        for c in definition.get("categories", [])
        for i in c.get("indicators", [])
        if i.get("needs_referral")
    }


_needs_by_version: dict[str, dict[str, str]] = {}


def cached_referral_needs(version: str) -> dict[str, str] | None:
    """A version's referral needs if already read; content per version never changes."""
    return _needs_by_version.get(version)


def remember_referral_needs(version: str, definition: dict[str, Any]) -> dict[str, str]:
    needs = referral_needs(definition)
    _needs_by_version[version] = needs
    return needs


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


# The version in force; a statement of its own, or a scalar subquery of a caller's statement.
ACTIVE_VERSION = select(RiskToolVersion.version).where(RiskToolVersion.active.is_(True)).limit(1)


async def active_tool(session: AsyncSession) -> RiskTool:
    """The tool in force; on a fresh database the packaged default is stored and activated."""
    return await tool_in_force(session, await session.scalar(ACTIVE_VERSION))


async def tool_in_force(session: AsyncSession, version: str | None) -> RiskTool:
    """`active_tool` for a caller that already read the active version (None: none is)."""
    if version is not None:
        # A version's content never changes (load_tool refuses that), so it is read once.
        cached = _tools_by_version.get(version)
        if cached is not None:
            return cached
        return await tool_version(session, version)
    default = default_tool()
    await session.execute(
        _insert(session)(RiskToolVersion)
        .values(version=default.version, definition=default.model_dump(mode="json"), active=False)
        .on_conflict_do_nothing(index_elements=["version"])
    )
    await session.execute(
        update(RiskToolVersion)
        .where(RiskToolVersion.version == default.version)
        .values(active=True)
    )
    return default


async def tool_version(session: AsyncSession, version: str) -> RiskTool:
    row = await session.get(RiskToolVersion, version)
    if row is None:
        raise NotFound(f"no risk tool version {version!r}")
    tool = parse_stored(row.definition)
    _tools_by_version[version] = tool
    return tool


async def load_tool(session: AsyncSession, tool: RiskTool) -> RiskTool:
    """Make `tool` the one in force. Old assessments keep the version they were scored with.

    Loading a version that exists with identical content re-activates it; the same version
    with different content is refused, because stored assessments name versions.
    """
    await active_tool(session)  # make sure the default row exists before switching away
    definition = tool.model_dump(mode="json")
    existing = await session.get(RiskToolVersion, tool.version)
    if existing is not None and parse_stored(existing.definition) != tool:
        raise Conflict(
            f"risk tool version {tool.version!r} already exists with different content; "
            "give the new tool a new version"
        )
    await session.execute(
        update(RiskToolVersion).where(RiskToolVersion.active.is_(True)).values(active=False)
    )
    if existing is None:
        session.add(RiskToolVersion(version=tool.version, definition=definition, active=True))
        await session.flush()
    else:
        await session.execute(
            update(RiskToolVersion)
            .where(RiskToolVersion.version == tool.version)
            .values(active=True)
        )
    return tool
