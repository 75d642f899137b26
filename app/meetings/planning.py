"""Materialising meetings ahead from their series, and re-planning when a series changes.

Idempotent: a meeting is unique per kind and local date, inserts skip dates that exist, and
only meetings still in draft with a cutoff in the future are moved or dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.calendar import (
    local_today,
    occurrence,
    occurrences,
    previous_meeting_date,
)
from app.meetings.series import all_series, rule_of
from app.models import AgendaItem, Meeting, MeetingSeries

log = logging.getLogger("riskreg.meetings")


@dataclass(frozen=True, slots=True)
class PlanResult:
    created: int = 0
    moved: int = 0
    dropped: int = 0

    def __add__(self, other: PlanResult) -> PlanResult:
        return PlanResult(
            self.created + other.created, self.moved + other.moved, self.dropped + other.dropped
        )


async def materialise(session: AsyncSession, now: dt.datetime) -> PlanResult:
    """Make sure every series has its meetings from today to its horizon."""
    total = PlanResult()
    for series in await all_series(session):
        total = total + await plan_series(session, series, now)
    return total


async def plan_series(session: AsyncSession, series: MeetingSeries, now: dt.datetime) -> PlanResult:
    rule = rule_of(series)
    today = local_today(series.timezone, now)
    plan = {
        o.local_date: o
        for o in occurrences(rule, today, today + dt.timedelta(days=series.horizon_days))
    }
    existing = (
        await session.scalars(
            select(Meeting).where(Meeting.kind == series.code, Meeting.local_date >= today)
        )
    ).all()
    moved = dropped = 0
    for meeting in existing:
        if meeting.agenda_status != "draft" or meeting.agenda_cutoff <= now:
            continue  # published, closed, or due to publish as planned: never moved
        wanted = plan.get(meeting.local_date)
        if wanted is None:
            dropped += await _drop_unless_items(session, meeting)
            continue
        if (
            wanted.starts_at != meeting.starts_at
            or wanted.ends_at != meeting.ends_at
            or wanted.agenda_cutoff != meeting.agenda_cutoff
            or series.timezone != meeting.timezone
        ):
            result = await session.execute(
                update(Meeting)
                .where(Meeting.id == meeting.id, Meeting.agenda_status == "draft")
                .values(
                    starts_at=wanted.starts_at,
                    ends_at=wanted.ends_at,
                    agenda_cutoff=wanted.agenda_cutoff,
                    timezone=series.timezone,
                )
                .execution_options(synchronize_session=False)
            )
            moved += result.rowcount  # type: ignore[attr-defined]
    have = {m.local_date for m in existing}
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    created = 0
    for day, o in sorted(plan.items()):
        if day in have:
            continue
        result = await session.execute(
            insert(Meeting)
            .values(
                kind=series.code,
                local_date=day,
                timezone=series.timezone,
                starts_at=o.starts_at,
                ends_at=o.ends_at,
                agenda_cutoff=o.agenda_cutoff,
                agenda_status="draft",
            )
            .on_conflict_do_nothing(index_elements=["kind", "local_date"])
        )
        created += result.rowcount  # type: ignore[attr-defined]
    if created or moved or dropped:
        log.info(
            "planned %s meetings: %d created, %d moved, %d dropped",
            series.code,
            created,
            moved,
            dropped,
        )
    return PlanResult(created, moved, dropped)


async def _drop_unless_items(session: AsyncSession, meeting: Meeting) -> int:
    # A meeting a coordinator already added late items to is kept rather than losing them.
    result = await session.execute(
        delete(Meeting)
        .where(
            Meeting.id == meeting.id,
            Meeting.agenda_status == "draft",
            ~exists().where(AgendaItem.meeting_id == Meeting.id),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


async def window_start(session: AsyncSession, meeting: Meeting) -> dt.datetime:
    """When this meeting's window opens: the previous meeting of its kind's agenda cutoff.

    The previous meeting in the database when there is one (it is what was actually cut),
    otherwise the one the series' rule says came before.
    """
    if meeting.window_start is not None:
        return meeting.window_start
    previous = (
        await session.execute(
            select(Meeting.window_end, Meeting.agenda_cutoff)
            .where(Meeting.kind == meeting.kind, Meeting.local_date < meeting.local_date)
            .order_by(Meeting.local_date.desc())
            .limit(1)
        )
    ).first()
    if previous is not None:
        # An agenda published early was cut then, not at its planned cutoff.
        return previous[0] or previous[1]  # type: ignore[no-any-return]
    series = await session.get(MeetingSeries, meeting.kind)
    assert series is not None
    rule = rule_of(series)
    return occurrence(rule, previous_meeting_date(rule, meeting.local_date)).agenda_cutoff
