"""How an agenda item is weighed: currently missing first, then risk level, then flag severity.

priority = 10000 if the child is currently missing
         + 1000 x level rank (high 3, medium 2, low 1, none or unassessed 0)
         + severity points of the reasons (urgent 10, warning 3, info 1), capped at 999

so a missing child always comes before one who is not, a high-risk child before a medium-risk
one, and among equals the one with more and graver reasons comes first. Ties are broken by
pseudonym when the agenda is ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LEVEL_RANK = {"high": 3, "medium": 2, "low": 1, "none": 0}
SEVERITY_POINTS = {"urgent": 10, "warning": 3, "info": 1}
MISSING_WEIGHT = 10000
LEVEL_WEIGHT = 1000
MAX_SEVERITY_POINTS = 999


def priority(level: str | None, reasons: Iterable[Mapping[str, Any]]) -> int:
    missing = 0
    points = 0
    for r in reasons:
        if r.get("code") == "currently_missing":
            missing = 1
        points += SEVERITY_POINTS.get(str(r.get("severity")), 0)
    return (
        MISSING_WEIGHT * missing
        + LEVEL_WEIGHT * LEVEL_RANK.get(level or "none", 0)
        + min(points, MAX_SEVERITY_POINTS)
    )


def order_key(priority_value: int, pseudonym: str) -> tuple[int, str]:
    return (-priority_value, pseudonym)
