"""What the case view shows of risk: current level and flags, for many cases at once."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.schemas import CurrentRisk, FlagRead


async def risk_summaries(
    session: AsyncSession, case_ids: list[uuid.UUID], at: dt.datetime
) -> dict[uuid.UUID, tuple[CurrentRisk | None, list[FlagRead]]]:
    """Current risk and flags as of `at` for each case (no assessments exist yet)."""
    return {case_id: (None, []) for case_id in case_ids}
