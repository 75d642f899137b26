"""The meeting-fed rules (actions_overdue, stalled by decisions) on plain facts."""

import datetime as dt
import uuid

from app.risk.flags import ActionFacts, DecisionFacts, actions_overdue, stalled
from tests.unit.flag_facts import COUNCIL, DAY, HOUR, T, records, window


def action(due: dt.date, status: str = "open", kind: str | None = "dram") -> ActionFacts:
    return ActionFacts(
        id=uuid.uuid4(),
        status=status,
        due_date=due,
        owner_agency_id=COUNCIL,
        set_at_meeting_kind=kind,
    )


def decision(
    progress: str, recorded_at: dt.datetime, *, is_stalled: bool = False, kind: str = "dram"
) -> DecisionFacts:
    return DecisionFacts(
        id=uuid.uuid4(),
        meeting_kind=kind,
        recorded_at=recorded_at,
        progress=progress,
        stalled=is_stalled,
        escalate_to_mace=False,
    )


def test_actions_overdue_when_due_date_is_before_t_date():
    today = dt.date(2025, 3, 12)  # T's date in London
    due_today = action(today)
    assert actions_overdue(records(actions=(due_today,)), T, window()) is None
    yesterday = action(today - dt.timedelta(days=1))
    flag = actions_overdue(records(actions=(due_today, yesterday)), T, window())
    assert flag is not None and flag.evidence == (yesterday.id,)
    assert flag.since == dt.datetime(2025, 3, 12, 0, 0, tzinfo=dt.UTC)
    assert "Tue 11 Mar 2025" in flag.detail
    done = action(today - dt.timedelta(days=3), status="done")
    cancelled = action(today - dt.timedelta(days=3), status="cancelled")
    assert actions_overdue(records(actions=(done, cancelled)), T, window()) is None


def test_actions_overdue_uses_the_london_date():
    # 23:30 UTC on 14 June is 00:30 BST on 15 June: an action due on the 14th is now overdue.
    at = dt.datetime(2025, 6, 14, 23, 30, tzinfo=dt.UTC)
    due = action(dt.date(2025, 6, 14))
    assert actions_overdue(records(actions=(due,)), at, window(end=at)) is not None
    earlier = dt.datetime(2025, 6, 14, 22, 30, tzinfo=dt.UTC)
    assert actions_overdue(records(actions=(due,)), earlier, window(end=earlier)) is None


def test_stalled_by_the_last_two_decisions():
    improving = decision("improving", T - 20 * DAY)
    no_change = decision("no_change", T - 10 * DAY)
    worsening = decision("worsening", T - HOUR)
    flag = stalled(records(decisions=(improving, no_change, worsening)), T, window())
    assert flag is not None and flag.evidence == (no_change.id, worsening.id)
    assert "no change and worsening" in flag.detail
    one = stalled(records(decisions=(improving, worsening)), T, window())
    assert one is None
    recovered = stalled(
        records(decisions=(no_change, worsening, decision("improving", T))), T, window()
    )
    assert recovered is None


def test_stalled_when_the_last_decision_says_so():
    marked = decision("improving", T - DAY, is_stalled=True, kind="mace")
    flag = stalled(records(decisions=(marked,)), T, window())
    assert flag is not None and "MACE decision marked it stalled" in flag.detail
    superseded = (marked, decision("improving", T - HOUR))
    assert stalled(records(decisions=superseded), T, window()) is None
    # A decision recorded after T is not known at T.
    future = decision("worsening", T + HOUR, is_stalled=True)
    assert stalled(records(decisions=(future,)), T, window()) is None
