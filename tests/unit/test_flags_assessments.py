"""Assessment-based flags at their boundaries."""

import datetime as dt

from app.risk.flags import (
    Window,
    add_working_days,
    assessment_overdue,
    assessor_disagreement,
    judgement_below_tool,
    no_assessment,
    risk_escalated,
    risk_reduced,
    stalled,
    unaddressed_indicator,
)
from tests.unit.flag_facts import (
    COUNCIL,
    DAY,
    HEALTH,
    HOUR,
    POLICE,
    SECOND,
    T,
    assessment,
    event,
    records,
    window,
)

START = T - 24 * HOUR


def test_risk_escalated_compares_with_the_level_known_at_window_start():
    before = assessment("low", START - DAY)
    after = assessment("high", T - HOUR)
    flag = risk_escalated(records(assessments=(before, after)), T, window())
    assert flag is not None and flag.severity == "urgent"
    assert flag.evidence == (before.id, after.id)
    assert flag.detail.startswith("Risk rose from low to high")
    same = assessment("low", T - HOUR)
    assert risk_escalated(records(assessments=(before, same)), T, window()) is None
    assert risk_reduced(records(assessments=(before, same)), T, window()) is None


def test_risk_escalated_window_start_is_exclusive():
    # An assessment recorded at exactly the window's start belongs to the previous window.
    at_start = assessment("high", START)
    assert risk_escalated(records(assessments=(at_start,)), T, Window(START, T)) is None
    a_second_in = assessment("high", START + SECOND)
    flag = risk_escalated(records(assessments=(a_second_in,)), T, Window(START, T))
    assert flag is not None and flag.detail.startswith("First assessment puts the risk at high")


def test_first_assessment_escalates_only_at_medium_or_above():
    assert risk_escalated(records(assessments=(assessment("low", T - HOUR),)), T, window()) is None
    flag = risk_escalated(records(assessments=(assessment("medium", T - HOUR),)), T, window())
    assert flag is not None and flag.severity == "warning"


def test_late_posted_older_assessment_counts_from_when_it_was_recorded():
    # Known at window start: medium. A high assessed before the start but recorded inside it
    # is new to this meeting, and it is the latest by assessed_at, so risk rose.
    known = assessment("medium", START - 3 * DAY)
    late = assessment("high", START - DAY, recorded_at=T - HOUR)
    flag = risk_escalated(records(assessments=(known, late)), T, window())
    assert flag is not None and flag.evidence == (known.id, late.id)
    # A late-posted *older* assessment never overrides a newer one.
    newest = assessment("medium", START - DAY)
    stale = assessment("high", START - 5 * DAY, recorded_at=T - HOUR)
    assert risk_escalated(records(assessments=(newest, stale)), T, window()) is None


def test_risk_reduced():
    before = assessment("high", START - DAY)
    after = assessment("low", T - HOUR)
    flag = risk_reduced(records(assessments=(before, after)), T, window())
    assert flag is not None and flag.severity == "info"
    assert flag.detail.startswith("Risk fell from high to low")
    assert risk_reduced(records(assessments=(after,)), T, window()) is None


def test_assessment_overdue_only_once_t_is_past_next_review_due():
    current = assessment("high", T - 14 * DAY, review_days=14)
    assert assessment_overdue(records(assessments=(current,)), T, window()) is None
    later = T + SECOND
    flag = assessment_overdue(records(assessments=(current,)), later, window(end=later))
    assert flag is not None and flag.since == T and flag.evidence == (current.id,)
    no_review = assessment("none", T - 400 * DAY)
    assert assessment_overdue(records(assessments=(no_review,)), T, window()) is None


def test_no_assessment_after_five_working_days():
    # Monday 3 March 2025 10:00 London (GMT): the fifth working day after is Monday 10 March.
    created = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
    deadline = dt.datetime(2025, 3, 10, 10, 0, tzinfo=dt.UTC)
    assert add_working_days(created, 5) == deadline
    r = records(created_at=created)
    assert no_assessment(r, deadline, window(end=deadline)) is None
    flag = no_assessment(r, deadline + SECOND, window(end=deadline + SECOND))
    assert flag is not None and flag.since == deadline
    assessed = records(created_at=created, assessments=(assessment("low", created + DAY),))
    assert no_assessment(assessed, deadline + DAY, window(end=deadline + DAY)) is None
    closed = records(created_at=created, status="closed")
    assert no_assessment(closed, deadline + DAY, window(end=deadline + DAY)) is None


def test_no_assessment_skips_weekends_and_england_bank_holidays():
    # Thursday 17 April 2025 10:00 BST; Good Friday 18th and Easter Monday 21st are holidays:
    # working days are 22, 23, 24, 25 and 28 April.
    created = dt.datetime(2025, 4, 17, 9, 0, tzinfo=dt.UTC)
    deadline = dt.datetime(2025, 4, 28, 9, 0, tzinfo=dt.UTC)
    assert add_working_days(created, 5) == deadline
    r = records(created_at=created)
    friday = dt.datetime(2025, 4, 25, 9, 0, 1, tzinfo=dt.UTC)
    assert no_assessment(r, friday, window(end=friday)) is None
    assert no_assessment(r, deadline, window(end=deadline)) is None
    assert no_assessment(r, deadline + SECOND, window(end=deadline + SECOND)) is not None


def test_judgement_below_tool_only_when_lowered_on_the_latest():
    lowered = assessment("low", T - DAY, calculated="high", judgement="low")
    flag = judgement_below_tool(records(assessments=(lowered,)), T, window())
    assert flag is not None and "below the tool's high" in flag.detail
    raised = assessment("high", T - DAY, calculated="low", judgement="high")
    assert judgement_below_tool(records(assessments=(raised,)), T, window()) is None
    superseded = (lowered, assessment("high", T - HOUR))
    assert judgement_below_tool(records(assessments=superseded), T, window()) is None


def test_assessor_disagreement_two_levels_within_28_days():
    police = assessment("high", T - 2 * DAY, agency=POLICE)
    council_low = assessment("low", T - 28 * DAY, agency=COUNCIL)
    flag = assessor_disagreement(records(assessments=(police, council_low)), T, window())
    assert flag is not None and set(flag.evidence) == {police.id, council_low.id}
    assert "low to high" in flag.detail
    # One level apart is not a disagreement worth a flag.
    council_medium = assessment("medium", T - DAY, agency=COUNCIL)
    assert assessor_disagreement(records(assessments=(police, council_medium)), T, window()) is None
    # 28 days and one second ago is outside the period.
    old = assessment("low", T - 28 * DAY - SECOND, agency=COUNCIL)
    assert assessor_disagreement(records(assessments=(police, old)), T, window()) is None
    # Each agency's latest counts: the council later agreed.
    agreed = (police, council_low, assessment("high", T - DAY, agency=COUNCIL))
    assert assessor_disagreement(records(assessments=agreed), T, window()) is None
    # Same agency changing its mind is not a disagreement between agencies.
    one_agency = (police, assessment("none", T - DAY, agency=POLICE))
    assert assessor_disagreement(records(assessments=one_agency), T, window()) is None
    three = (police, council_low, assessment("medium", T - DAY, agency=HEALTH))
    assert assessor_disagreement(records(assessments=three), T, window()) is not None


def test_unaddressed_indicator_after_28_days_without_matching_referral():
    first = T - 28 * DAY
    needs = (("substance_use", "substance_misuse"),)
    a = assessment("low", first, indicators=("substance_use",), needs=needs)
    r = records(assessments=(a,))
    assert unaddressed_indicator(r, T, window()) is None  # the 28 days are not yet over
    later = T + SECOND
    flag = unaddressed_indicator(r, later, window(end=later))
    assert flag is not None and flag.since == T and a.id in flag.evidence
    assert "'substance_use'" in flag.detail and "substance misuse" in flag.detail


def test_unaddressed_indicator_referral_on_the_28th_day_addresses_it():
    first = T - 40 * DAY
    needs = (("online_exploitation", "online_safety"),)
    a = assessment("medium", first, indicators=("online_exploitation",), needs=needs)
    on_day_28 = event("referral", first + 28 * DAY, service="online_safety")
    assert (
        unaddressed_indicator(records(assessments=(a,), events=(on_day_28,)), T, window()) is None
    )
    wrong_service = event("referral", first + DAY, service="camhs")
    assert (
        unaddressed_indicator(records(assessments=(a,), events=(wrong_service,)), T, window())
        is not None
    )
    before_indicator = event("referral", first - SECOND, service="online_safety")
    assert (
        unaddressed_indicator(records(assessments=(a,), events=(before_indicator,)), T, window())
        is not None
    )


def test_unaddressed_indicator_clock_starts_at_first_recording_and_follows_current():
    needs = (("radicalisation_concern", "prevent"),)
    first = assessment("medium", T - 60 * DAY, indicators=("radicalisation_concern",), needs=needs)
    repeat = assessment("medium", T - 2 * DAY, indicators=("radicalisation_concern",), needs=needs)
    flag = unaddressed_indicator(records(assessments=(first, repeat)), T, window())
    assert flag is not None and flag.since == T - 32 * DAY
    assert flag.evidence == (first.id, repeat.id)
    gone = assessment("low", T - DAY, indicators=("persistent_absence",))
    assert unaddressed_indicator(records(assessments=(first, gone)), T, window()) is None


def test_stalled_high_for_84_days_without_a_lower_assessment():
    run = (assessment("high", T - 84 * DAY), assessment("high", T - 30 * DAY))
    flag = stalled(records(assessments=run), T, window())
    assert flag is not None and flag.since == T and "84 days" in flag.detail
    short = (assessment("high", T - 84 * DAY + SECOND),)
    assert stalled(records(assessments=short), T, window()) is None
    broken = (
        assessment("high", T - 100 * DAY),
        assessment("medium", T - 50 * DAY),
        assessment("high", T - 10 * DAY),
    )
    assert stalled(records(assessments=broken), T, window()) is None
