"""The two built-in meeting series, their defaults (SPEC §2) and an admin's changes to them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.db import utcnow
from app.errors import NotFound, field_error
from app.meetings.calendar import INTERVAL, WORKING_DAYS, SeriesRule
from app.meetings.schemas import SeriesRead, SeriesUpdate
from app.models import MeetingSeries

DRAM = "dram"
MACE = "mace"
KINDS = (DRAM, MACE)
MIN_HORIZON_DAYS = 84  # SPEC §2: meetings exist at least 12 weeks ahead

DEFAULTS: dict[str, dict[str, Any]] = {
    DRAM: {
        "name": "Daily risk assessment meeting (DRAM)",
        "start_time": dt.time(9, 30),
        "duration_minutes": 60,
        "cutoff_time": dt.time(8, 30),
        "cutoff_working_days_before": 0,
        "cadence": WORKING_DAYS,
        "interval_days": None,
        "anchor_date": None,
        "timezone": "Europe/London",
        "horizon_days": MIN_HORIZON_DAYS,
    },
    MACE: {
        "name": "Multi-agency child exploitation meeting (MACE)",
        "start_time": dt.time(10, 0),
        "duration_minutes": 180,
        "cutoff_time": dt.time(17, 0),
        "cutoff_working_days_before": 5,
        "cadence": INTERVAL,
        "interval_days": 42,
        "anchor_date": dt.date(2026, 1, 6),  # a Tuesday
        "timezone": "Europe/London",
        "horizon_days": MIN_HORIZON_DAYS,
    },
}


async def ensure_series(session: AsyncSession) -> None:
    """Insert the built-in series with their defaults where missing; never overwrites edits."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    for code, values in DEFAULTS.items():
        await session.execute(
            insert(MeetingSeries)
            .values(code=code, updated_at=now, **values)
            .on_conflict_do_nothing(index_elements=["code"])
        )


async def all_series(session: AsyncSession) -> list[MeetingSeries]:
    await ensure_series(session)
    return list((await session.scalars(select(MeetingSeries).order_by(MeetingSeries.code))).all())


async def series_by_code(session: AsyncSession, code: str) -> MeetingSeries:
    if code not in KINDS:
        raise NotFound(f"no meeting series {code!r} (there are: {', '.join(KINDS)})")
    await ensure_series(session)
    series = await session.get(MeetingSeries, code)
    assert series is not None
    return series


def rule_of(series: MeetingSeries) -> SeriesRule:
    return SeriesRule(
        code=series.code,
        start_time=series.start_time,
        duration_minutes=series.duration_minutes,
        cutoff_time=series.cutoff_time,
        cutoff_working_days_before=series.cutoff_working_days_before,
        cadence=series.cadence,
        interval_days=series.interval_days,
        anchor_date=series.anchor_date,
        timezone=series.timezone,
    )


def series_read(series: MeetingSeries) -> SeriesRead:
    return SeriesRead(
        code=series.code,
        name=series.name,
        time=series.start_time,
        duration_minutes=series.duration_minutes,
        cutoff_time=series.cutoff_time,
        cutoff_working_days_before=series.cutoff_working_days_before,
        cadence=series.cadence,  # type: ignore[arg-type]
        interval_days=series.interval_days,
        anchor_date=series.anchor_date,
        timezone=series.timezone,
        horizon_days=series.horizon_days,
        updated_at=series.updated_at,
    )


async def get_series(session: AsyncSession, principal: Principal, code: str) -> SeriesRead:
    principal.require("meeting.read")
    return series_read(await series_by_code(session, code))


async def update_series(
    session: AsyncSession, principal: Principal, code: str, body: SeriesUpdate
) -> SeriesRead:
    """Change a series and re-plan its future meetings whose agenda is not yet published."""
    from app.meetings.planning import plan_series

    principal.require("series.edit")
    series = await series_by_code(session, code)
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    for field in changes:
        if changes[field] is None and field not in ("interval_days", "anchor_date"):
            raise field_error(["body", field], "may not be null")
    if "time" in changes:
        changes["start_time"] = changes.pop("time")
    for field, value in changes.items():
        setattr(series, field, value)
    _check_consistent(series)
    series.updated_at = utcnow()
    await session.flush()
    await plan_series(session, series, utcnow())
    return series_read(series)


def _check_consistent(series: MeetingSeries) -> None:
    if series.cadence == INTERVAL:
        if not series.interval_days:
            raise field_error(["body", "interval_days"], "an interval cadence needs interval_days")
        if series.anchor_date is None:
            raise field_error(["body", "anchor_date"], "an interval cadence needs an anchor_date")
        if series.anchor_date.weekday() >= 5:
            raise field_error(["body", "anchor_date"], "is a weekend day")
