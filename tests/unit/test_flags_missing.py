"""Missing-episode flags at their boundaries."""

from app.risk.flags import (
    Window,
    currently_missing,
    new_missing_episode,
    repeat_missing,
    return_interview_overdue,
)
from tests.unit.flag_facts import DAY, HOUR, SECOND, T, episode, records, window


def test_return_interview_due_at_72_hours_exactly_overdue_one_second_later():
    returned = T - 72 * HOUR
    ep = episode(returned - 5 * HOUR, ended_at=returned)
    assert return_interview_overdue(records(episodes=(ep,)), T, window()) is None
    later = T + SECOND
    flag = return_interview_overdue(records(episodes=(ep,)), later, window(end=later))
    assert flag is not None
    assert flag.code == "return_interview_overdue"
    assert flag.since == returned + 72 * HOUR
    assert flag.evidence == (ep.id,)
    assert "72 hours" in flag.detail and "Sun 9 Mar 2025 09:00" in flag.detail


def test_recorded_interview_clears_overdue_but_not_one_recorded_after_t():
    returned = T - 100 * HOUR
    done = episode(returned - HOUR, ended_at=returned, interview_at=returned + 50 * HOUR)
    assert return_interview_overdue(records(episodes=(done,)), T, window()) is None
    after_t = episode(returned - HOUR, ended_at=returned, interview_at=T + HOUR)
    assert return_interview_overdue(records(episodes=(after_t,)), T, window()) is not None


def test_currently_missing_until_the_end_is_known():
    open_ep = episode(T - 30 * HOUR)
    flag = currently_missing(records(episodes=(open_ep,)), T, window())
    assert flag is not None and flag.severity == "urgent"
    assert flag.since == T - 30 * HOUR
    assert "30 hours" in flag.detail
    ended = episode(T - 30 * HOUR, ended_at=T - HOUR)
    assert currently_missing(records(episodes=(ended,)), T, window()) is None
    # An end after T is not known at T: still missing as of T.
    ends_later = episode(T - 30 * HOUR, ended_at=T + HOUR)
    assert currently_missing(records(episodes=(ends_later,)), T, window()) is not None


def test_repeat_missing_needs_three_in_the_90_days_before_t():
    two = (episode(T - 10 * DAY), episode(T - 20 * DAY))
    assert repeat_missing(records(episodes=two), T, window()) is None
    three = (*two, episode(T - 30 * DAY))
    flag = repeat_missing(records(episodes=three), T, window())
    assert flag is not None and len(flag.evidence) == 3
    assert flag.since == T - 10 * DAY  # when the third of these began
    assert "3 episodes" in flag.detail


def test_repeat_missing_counts_the_90th_day_but_not_the_91st():
    two = (episode(T - 10 * DAY), episode(T - 20 * DAY))
    day_90 = episode(T - 90 * DAY)
    assert repeat_missing(records(episodes=(*two, day_90)), T, window()) is not None
    just_before = episode(T - 90 * DAY - SECOND)
    assert repeat_missing(records(episodes=(*two, just_before)), T, window()) is None
    day_91 = episode(T - 91 * DAY)
    assert repeat_missing(records(episodes=(*two, day_91)), T, window()) is None


def test_new_missing_episode_window_start_exclusive_end_inclusive():
    start = T - 24 * HOUR
    win = Window(start, T)
    at_start = episode(start)
    assert new_missing_episode(records(episodes=(at_start,)), T, win) is None
    first_second = episode(start + SECOND)
    flag = new_missing_episode(records(episodes=(first_second,)), T, win)
    assert flag is not None and flag.evidence == (first_second.id,)
    at_end = episode(T)
    assert new_missing_episode(records(episodes=(at_end,)), T, win) is not None


def test_new_missing_episode_includes_one_recorded_late_in_the_window():
    late = episode(T - 5 * DAY, ended_at=T - 4 * DAY, recorded_at=T - HOUR)
    flag = new_missing_episode(records(episodes=(late,)), T, window())
    assert flag is not None and flag.since == T - 5 * DAY
    assert (
        new_missing_episode(records(episodes=(late,)), T - 2 * HOUR, window(end=T - 2 * HOUR))
        is None
    )
