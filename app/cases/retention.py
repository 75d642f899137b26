"""Retention (SPEC §6): closed cases lose their identifiers and birth month after a period.

The case row, its risk records and its counts stay, so statistics do not change; what could
help re-identify the child goes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from app.db import Database
from app.models import Case, SubjectIdentifier


async def purge_closed_cases(db: Database, now: dt.datetime, retention_days: int) -> int:
    """Purge cases closed `retention_days` ago or more and not yet purged; returns how many."""
    cutoff = now - dt.timedelta(days=retention_days)
    async with db.transaction() as session:
        due = list(
            await session.scalars(
                select(Case.id)
                .where(Case.status == "closed", Case.closed_at <= cutoff, Case.purged_at.is_(None))
                .with_for_update()
            )
        )
        if not due:
            return 0
        await session.execute(delete(SubjectIdentifier).where(SubjectIdentifier.case_id.in_(due)))
        # Core UPDATE: the descriptive version (ETag) is not what changed hands here.
        await session.execute(
            update(Case)
            .where(Case.id.in_(due), Case.purged_at.is_(None))
            .values(birth_month=None, purged_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(due)
