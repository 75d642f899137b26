"""What the case view shows of risk: current level and flags, for many cases at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.schemas import CurrentRisk, FlagRead
from app.risk.evaluation import load_case_records
from app.risk.flags import CaseRecords, Window, evaluate, latest_assessment


async def risk_summaries(
    session: AsyncSession,
    case_ids: list[uuid.UUID],
    at: dt.datetime,
    *,
    known: Sequence[tuple[uuid.UUID, dt.datetime, str]] | None = None,
) -> dict[uuid.UUID, tuple[CurrentRisk | None, list[FlagRead]]]:
    """Current risk and flags as of `at` (window: the 24 hours before it) for each case."""
    records = await load_case_records(session, case_ids, at, known=known)
    window = Window.ending(at)
    return {case_id: risk_summary(records.get(case_id), at, window) for case_id in case_ids}


def risk_summary(
    records: CaseRecords | None, at: dt.datetime, window: Window | None = None
) -> tuple[CurrentRisk | None, list[FlagRead]]:
    """One case's current risk and flags as of `at` from its records (None: not created yet)."""
    if records is None:
        return None, []
    window = window or Window.ending(at)
    current = latest_assessment(records.assessments, at)
    current_risk = (
        CurrentRisk(
            level=current.level,
            score=current.score,
            assessed_at=current.assessed_at,
            next_review_due=current.next_review_due,
            assessment_id=current.id,
        )
        if current
        else None
    )
    flags = [
        FlagRead(
            code=f.code,
            severity=f.severity,
            since=f.since,
            detail=f.detail,
            evidence=list(f.evidence),
        )
        for f in evaluate(records, at, window)
    ]
    return current_risk, flags
