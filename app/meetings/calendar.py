"""The working-day calendar: which dates DRAM and MACE meetings fall on, and their local times.

Pure functions, no I/O. Working days are Monday to Friday that are not an England and Wales
bank holiday (from the `holidays` package, `subdiv="ENG"`). Local times are built with
`zoneinfo`, so 09:30 stays 09:30 on the wall clock either side of a clock change while the
UTC instant moves by an hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WORKING_DAYS = "working_days"  # a meeting every working day (DRAM)
INTERVAL = "interval"  # a meeting every `interval_days` from an anchor date (MACE)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    # England and Wales only: Scotland and Northern Ireland have other bank holidays.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: dt.date) -> bool:
    return day in _bank_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, otherwise the first working day after it."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def working_days_before(day: dt.date, n: int) -> dt.date:
    """The working day `n` working days before `day` (`n == 0`: `day` itself)."""
    for _ in range(n):
        day -= dt.timedelta(days=1)
        while not is_working_day(day):
            day -= dt.timedelta(days=1)
    return day


def local_instant(day: dt.date, at: dt.time, timezone: str) -> dt.datetime:
    """`day` at wall-clock `at` in `timezone`, as an aware datetime carrying the local offset.

    A wall-clock time that does not exist (inside the spring gap) resolves to the instant an
    hour later, which is what the clock on the wall shows; an ambiguous one takes the first.
    """
    zone = ZoneInfo(timezone)
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    # Round-trip through UTC: a non-existent local time normalises to a real one.
    return aware.astimezone(dt.UTC).astimezone(zone)


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """What a meeting series says about when its meetings happen (mirrors `MeetingSeries`)."""

    code: str
    start_time: dt.time
    duration_minutes: int
    cutoff_time: dt.time
    cutoff_working_days_before: int
    cadence: str
    interval_days: int | None
    anchor_date: dt.date | None
    timezone: str


@dataclass(frozen=True, slots=True)
class Occurrence:
    local_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    agenda_cutoff: dt.datetime


def meeting_dates(rule: SeriesRule, start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates of the series' meetings from `start` to `end` inclusive, in order."""
    if rule.cadence == WORKING_DAYS:
        out = []
        day = start
        while day <= end:
            if is_working_day(day):
                out.append(day)
            day += dt.timedelta(days=1)
        return out
    if rule.cadence != INTERVAL or not rule.interval_days or rule.anchor_date is None:
        raise ValueError(f"series {rule.code}: an interval cadence needs an anchor and interval")
    step = dt.timedelta(days=rule.interval_days)
    # The first nominal date that could shift into [start, end]: shifting moves a date forward
    # by at most a couple of weeks (Christmas plus a weekend), so start a step earlier.
    k = (start - rule.anchor_date).days // rule.interval_days - 1
    out = []
    seen: set[dt.date] = set()
    for nominal in _nominal_dates(rule.anchor_date, step, k):
        if nominal > end:
            break
        held = next_working_day(nominal)
        if start <= held <= end and held not in seen:
            seen.add(held)
            out.append(held)
    return out


def _nominal_dates(anchor: dt.date, step: dt.timedelta, k: int) -> Iterator[dt.date]:
    while True:
        yield anchor + step * k
        k += 1


def occurrence(rule: SeriesRule, day: dt.date) -> Occurrence:
    """The times of the series' meeting held on `day`."""
    starts_at = local_instant(day, rule.start_time, rule.timezone)
    cutoff_day = working_days_before(day, rule.cutoff_working_days_before)
    return Occurrence(
        local_date=day,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=rule.duration_minutes),
        agenda_cutoff=local_instant(cutoff_day, rule.cutoff_time, rule.timezone),
    )


def occurrences(rule: SeriesRule, start: dt.date, end: dt.date) -> list[Occurrence]:
    return [occurrence(rule, day) for day in meeting_dates(rule, start, end)]


def previous_meeting_date(rule: SeriesRule, day: dt.date) -> dt.date:
    """The date of the series' meeting before `day` (by the rule, not the database)."""
    look_back = (rule.interval_days or 1) + 21
    earlier = meeting_dates(rule, day - dt.timedelta(days=look_back), day - dt.timedelta(days=1))
    if not earlier:  # only when a cadence is longer than the look-back, which it is not
        raise ValueError(f"series {rule.code}: no meeting before {day}")
    return earlier[-1]


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()
