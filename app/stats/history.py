"""A case's risk level over time and its missing episodes: the points a trend chart draws."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import readable_case
from app.auth.principal import Principal
from app.db import utcnow
from app.risk.evaluation import load_case_records
from app.risk.flags import CaseRecords

MIN_SPAN = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class LevelPoint:
    """From `at` on, the case's level was `level` (until the next point)."""

    at: dt.datetime
    level: str
    assessment_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class EpisodeMark:
    started_at: dt.datetime
    ended_at: dt.datetime | None  # None: still missing at the chart's end
    kind: str


@dataclass(frozen=True, slots=True)
class RiskHistory:
    pseudonym: str
    start: dt.datetime
    end: dt.datetime
    points: tuple[LevelPoint, ...]
    episodes: tuple[EpisodeMark, ...]


def history_of(records: CaseRecords | None, pseudonym: str, at: dt.datetime) -> RiskHistory:
    """The step line and episodes as the register knew them at `at` (pure).

    The level at a moment is the latest assessment by `assessed_at` (ties: the later recorded),
    as for the case's current risk, so the last point is always the current level.
    """
    if records is None:
        return RiskHistory(pseudonym, at - MIN_SPAN, at, (), ())
    assessments = sorted(
        (a for a in records.assessments if a.recorded_at <= at and a.assessed_at <= at),
        key=lambda a: (a.assessed_at, a.recorded_at, str(a.id)),
    )
    points: list[LevelPoint] = []
    for a in assessments:
        if points and points[-1].at == a.assessed_at:
            points.pop()  # the same moment assessed twice: the later record stands
        points.append(LevelPoint(a.assessed_at, a.level, a.id))
    episodes = tuple(
        EpisodeMark(e.started_at, e.ended_at, e.kind)
        for e in sorted(records.episodes, key=lambda e: e.started_at)
        if e.recorded_at <= at and e.started_at <= at
    )
    moments = [records.case.created_at, *(p.at for p in points)]
    moments += [e.started_at for e in episodes]
    start = min(min(moments), at - MIN_SPAN)
    return RiskHistory(pseudonym, start, at, tuple(points), episodes)


async def risk_history(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, at: dt.datetime | None = None
) -> RiskHistory:
    """A readable case's history (404 for any other), as of `at` (default: now)."""
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    at = at or utcnow()
    records = await load_case_records(session, [case.id], at)
    return history_of(records.get(case.id), case.pseudonym, at)


async def histories(
    session: AsyncSession, pseudonyms: dict[uuid.UUID, str], at: dt.datetime
) -> dict[uuid.UUID, RiskHistory]:
    """Histories of many cases as of `at` (an agenda's moment), in the loader's fixed number of
    queries; no access check: the caller has already decided these cases may be shown."""
    records = await load_case_records(session, list(pseudonyms), at)
    return {
        case_id: history_of(records.get(case_id), pseudonym, at)
        for case_id, pseudonym in pseudonyms.items()
    }
