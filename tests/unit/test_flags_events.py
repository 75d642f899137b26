"""Event, referral and language flags at their boundaries; the flag catalogue."""

from app.risk.flags import (
    DRAM_FLAGS,
    FLAG_CODES,
    MACE_FLAGS,
    Window,
    criminalised_victim,
    evaluate,
    language_concern,
    missing_education,
    new_referral,
    placement_instability,
)
from tests.unit.flag_facts import DAY, HOUR, SECOND, T, assessment, episode, event, records, window

START = T - 24 * HOUR


def test_flag_catalogue_matches_spec_table():
    assert len(FLAG_CODES) == 18
    assert "stalled" not in DRAM_FLAGS and "stalled" in MACE_FLAGS
    assert set(FLAG_CODES) == DRAM_FLAGS | MACE_FLAGS
    assert {
        "currently_missing",
        "repeat_missing",
        "assessment_overdue",
        "placement_instability",
        "actions_overdue",
        "stalled",
    } == MACE_FLAGS


def test_new_referral_window_start_exclusive_end_inclusive():
    win = Window(START, T)
    assert new_referral(records(created_at=START), T, win) is None
    flag = new_referral(records(created_at=START + SECOND), T, win)
    assert flag is not None and flag.severity == "info"
    assert new_referral(records(created_at=T), T, win) is not None


def test_criminalised_victim_needs_medium_and_an_event_in_the_window():
    arrest = event("arrest", T - HOUR)
    medium = assessment("medium", T - 10 * DAY)
    flag = criminalised_victim(records(assessments=(medium,), events=(arrest,)), T, window())
    assert flag is not None and flag.evidence == (arrest.id,)
    assert "an arrest" in flag.detail and "medium" in flag.detail
    low = assessment("low", T - 10 * DAY)
    assert criminalised_victim(records(assessments=(low,), events=(arrest,)), T, window()) is None
    at_start = event("custody", START)
    assert (
        criminalised_victim(records(assessments=(medium,), events=(at_start,)), T, window()) is None
    )
    charge_recorded_late = event("charge", START - 3 * DAY, recorded_at=T - HOUR)
    assert (
        criminalised_victim(
            records(assessments=(medium,), events=(charge_recorded_late,)), T, window()
        )
        is not None
    )
    not_criminal = event("placement_move", T - HOUR)
    assert (
        criminalised_victim(records(assessments=(medium,), events=(not_criminal,)), T, window())
        is None
    )


def test_placement_instability_three_moves_in_365_days():
    two = (event("placement_move", T - 10 * DAY), event("placement_move", T - 100 * DAY))
    assert placement_instability(records(events=two), T, window()) is None
    day_365 = event("placement_move", T - 365 * DAY)
    flag = placement_instability(records(events=(*two, day_365)), T, window())
    assert flag is not None and len(flag.evidence) == 3
    assert "3 placement moves" in flag.detail
    older = event("placement_move", T - 365 * DAY - SECOND)
    assert placement_instability(records(events=(*two, older)), T, window()) is None


def test_missing_education_in_the_28_days_before_t():
    exclusion = event("education_exclusion", T - 28 * DAY)
    flag = missing_education(records(events=(exclusion,)), T, window())
    assert flag is not None and "exclusion" in flag.detail
    older = event("missing_education", T - 28 * DAY - SECOND)
    assert missing_education(records(events=(older,)), T, window()) is None
    assert missing_education(records(events=(event("other", T - DAY),)), T, window()) is None


def test_language_concern_for_free_text_recorded_in_the_window():
    notes = ("Police say she is putting herself at risk with her boyfriend.",)
    in_window = event("other", START + SECOND, text=notes)
    flag = language_concern(records(events=(in_window,)), T, Window(START, T))
    assert flag is not None and flag.evidence == (in_window.id,)
    assert "'putting herself at risk'" in flag.detail and "'boyfriend'" in flag.detail
    at_start = event("other", START, text=notes)
    assert language_concern(records(events=(at_start,)), T, Window(START, T)) is None
    clean = episode(T - HOUR, text=("Returned home, seen by carer.",))
    assert language_concern(records(episodes=(clean,)), T, window()) is None
    rationale = assessment("low", T - HOUR, text=("She consented to meeting him.",))
    assert language_concern(records(assessments=(rationale,)), T, window()) is not None


def test_evaluate_orders_flags_as_the_spec_table_and_is_deterministic():
    r = records(
        created_at=T - HOUR,
        episodes=(episode(T - 2 * HOUR),),
        assessments=(assessment("high", T - HOUR),),
    )
    codes = [f.code for f in evaluate(r, T, window())]
    assert codes == ["new_referral", "risk_escalated", "new_missing_episode", "currently_missing"]
    assert evaluate(r, T, window()) == evaluate(r, T, window())
