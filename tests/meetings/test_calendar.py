"""The working-day calendar: weekends, England and Wales bank holidays, clock changes."""

import datetime as dt

from app.meetings.calendar import (
    is_working_day,
    meeting_dates,
    next_working_day,
    occurrence,
    previous_meeting_date,
    working_days_before,
)
from app.meetings.series import DEFAULTS, DRAM, MACE, rule_of
from app.models import MeetingSeries

D = dt.date


def rule(code, **changes):
    values = {**DEFAULTS[code], **changes}
    return rule_of(MeetingSeries(code=code, **values))


def test_the_dram_after_friday_is_monday():
    dates = meeting_dates(rule(DRAM), D(2027, 1, 15), D(2027, 1, 18))
    assert dates == [D(2027, 1, 15), D(2027, 1, 18)]  # Friday, then Monday


def test_no_dram_on_christmas_boxing_day_or_their_substitute_days():
    dates = meeting_dates(rule(DRAM), D(2026, 12, 23), D(2027, 1, 4))
    # 2026: Christmas Friday 25th, Boxing Day Saturday -> substitute Monday 28th; 1 Jan Friday.
    assert dates == [
        D(2026, 12, 23),
        D(2026, 12, 24),
        D(2026, 12, 29),
        D(2026, 12, 30),
        D(2026, 12, 31),
        D(2027, 1, 4),
    ]
    dates = meeting_dates(rule(DRAM), D(2025, 12, 24), D(2025, 12, 29))
    assert D(2025, 12, 25) not in dates and D(2025, 12, 26) not in dates  # Thursday, Friday
    assert dates == [D(2025, 12, 24), D(2025, 12, 29)]


def test_no_dram_on_a_bank_holiday_monday():
    # Easter Monday 2027-03-29 and the late summer bank holiday 2027-08-30.
    assert not is_working_day(D(2027, 3, 29))
    assert meeting_dates(rule(DRAM), D(2027, 3, 26), D(2027, 3, 30)) == [D(2027, 3, 30)]
    assert D(2027, 8, 30) not in meeting_dates(rule(DRAM), D(2027, 8, 27), D(2027, 8, 31))


def test_bank_holidays_are_england_and_wales_not_scotland():
    # 2 January is a Scottish bank holiday only; St Andrew's Day (30 Nov 2026, a Monday) too.
    assert is_working_day(D(2026, 11, 30))
    assert is_working_day(D(2029, 1, 2))


def test_dram_is_0930_local_on_both_sides_of_each_clock_change():
    r = rule(DRAM)
    # Clocks go forward on Sunday 28 March 2027 and back on Sunday 31 October 2027.
    before_spring = occurrence(r, D(2027, 3, 25))
    after_spring = occurrence(r, D(2027, 3, 30))
    before_autumn = occurrence(r, D(2027, 10, 29))
    after_autumn = occurrence(r, D(2027, 11, 1))
    for o in (before_spring, after_spring, before_autumn, after_autumn):
        assert (o.starts_at.hour, o.starts_at.minute) == (9, 30)
        assert (o.agenda_cutoff.hour, o.agenda_cutoff.minute) == (8, 30)
        assert o.agenda_cutoff.date() == o.local_date
    assert before_spring.starts_at.utcoffset() == dt.timedelta(0)
    assert after_spring.starts_at.utcoffset() == dt.timedelta(hours=1)
    assert before_autumn.starts_at.utcoffset() == dt.timedelta(hours=1)
    assert after_autumn.starts_at.utcoffset() == dt.timedelta(0)
    assert after_spring.starts_at.astimezone(dt.UTC).time() == dt.time(8, 30)
    assert before_spring.starts_at.astimezone(dt.UTC).time() == dt.time(9, 30)


def test_mace_every_42_days_from_a_tuesday_anchor():
    r = rule(MACE, anchor_date=D(2027, 1, 5))
    dates = meeting_dates(r, D(2027, 1, 1), D(2027, 7, 31))
    assert dates[0] == D(2027, 1, 5)
    assert all(b - a == dt.timedelta(days=42) for a, b in zip(dates, dates[1:], strict=False))
    assert all(d.weekday() == 1 for d in dates)


def test_a_mace_on_a_bank_holiday_moves_to_the_next_working_day():
    # Anchor Tuesday 2026-12-01 -> nominal 2027-01-12, and counting back one step from an
    # anchor on Tuesday 2027-12-28 (Boxing Day substitute) -> held Wednesday 29th.
    r = rule(MACE, anchor_date=D(2027, 11, 16))
    dates = meeting_dates(r, D(2027, 11, 1), D(2028, 3, 1))
    assert D(2027, 12, 28) not in dates
    assert dates[:3] == [D(2027, 11, 16), D(2027, 12, 29), D(2028, 2, 8)]
    # The cadence keeps to the nominal dates: the shift does not push later meetings.
    assert dates[2] - D(2027, 11, 16) == dt.timedelta(days=84)


def test_mace_cutoff_is_1700_five_working_days_before():
    r = rule(MACE, anchor_date=D(2027, 1, 5))
    o = occurrence(r, D(2027, 1, 5))
    # Tuesday 5 Jan 2027, counting back: Mon 4 (1), Fri 1 Jan holiday, Thu 31 (2), Wed 30 (3),
    # Tue 29 (4), Mon 28 (Boxing Day substitute) and Fri 25 holidays, Thu 24 December (5).
    assert o.agenda_cutoff.date() == D(2026, 12, 24)
    assert (o.agenda_cutoff.hour, o.agenda_cutoff.minute) == (17, 0)
    o = occurrence(r, D(2027, 2, 16))
    assert o.agenda_cutoff.date() == D(2027, 2, 9)
    assert (o.starts_at.hour, o.starts_at.minute) == (10, 0)


def test_working_day_arithmetic():
    assert next_working_day(D(2027, 3, 25)) == D(2027, 3, 25)
    assert next_working_day(D(2027, 3, 26)) == D(2027, 3, 30)  # Good Friday -> past Easter
    assert working_days_before(D(2027, 3, 30), 1) == D(2027, 3, 25)  # past Good Friday
    assert working_days_before(D(2027, 3, 30), 0) == D(2027, 3, 30)
    assert previous_meeting_date(rule(DRAM), D(2027, 3, 30)) == D(2027, 3, 25)
