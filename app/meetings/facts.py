"""What the flag rules see of meetings: each case's actions and decisions as known at a moment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, Decision
from app.risk.flags import ActionFacts, DecisionFacts


def _status_at(status: str, changed_at: dt.datetime | None, at: dt.datetime) -> str:
    # Only the latest status change is kept (SPEC §1: an action's status is updated in place).
    # Every action starts open, so one changed after `at` was, as far as the register can
    # tell, still open then.
    if changed_at is not None and changed_at > at:
        return "open"
    return status


def action_facts(
    id: uuid.UUID,
    status: str,
    status_changed_at: dt.datetime | None,
    due_date: dt.date,
    owner_agency_id: uuid.UUID,
    set_at_meeting_kind: str | None,
    at: dt.datetime,
) -> ActionFacts:
    return ActionFacts(
        id=id,
        status=_status_at(status, status_changed_at, at),
        due_date=due_date,
        owner_agency_id=owner_agency_id,
        set_at_meeting_kind=set_at_meeting_kind,
    )


def decision_facts(
    id: uuid.UUID,
    meeting_kind: str,
    recorded_at: dt.datetime,
    progress: str,
    stalled: bool,
    escalate_to_mace: bool,
) -> DecisionFacts:
    return DecisionFacts(
        id=id,
        meeting_kind=meeting_kind,
        recorded_at=recorded_at,
        progress=progress,
        stalled=stalled,
        escalate_to_mace=escalate_to_mace,
    )


def _action_where(at: Any) -> tuple[Any, ...]:
    return (Action.created_at <= at,)


def _decision_where(at: Any) -> tuple[Any, ...]:
    return (Decision.recorded_at <= at,)


_ACTION_ORDER = (Action.created_at, Action.position)
_DECISION_ORDER = (Decision.recorded_at,)
# The arguments of `action_facts` / `decision_facts` (before `at`), in order.
ACTION_COLUMNS = (
    Action.id,
    Action.status,
    Action.status_changed_at,
    Action.due_date,
    Action.owner_agency_id,
    Action.set_at_meeting_kind,
)
DECISION_COLUMNS = (
    Decision.id,
    Decision.meeting_kind,
    Decision.recorded_at,
    Decision.progress,
    Decision.stalled,
    Decision.escalate_to_mace,
)


def meeting_record_arrays(case_id: Any, at: Any) -> tuple[Any, Any]:
    """PostgreSQL: one case's actions and decisions (as `meeting_facts` reads them) as two
    arrays of rows, scalar subqueries correlated on `case_id`, for a one-statement read."""
    return (
        select(func.array_agg(aggregate_order_by(func.row(*ACTION_COLUMNS), *_ACTION_ORDER)))
        .where(Action.case_id == case_id, *_action_where(at))
        .scalar_subquery(),
        select(func.array_agg(aggregate_order_by(func.row(*DECISION_COLUMNS), *_DECISION_ORDER)))
        .where(Decision.case_id == case_id, *_decision_where(at))
        .scalar_subquery(),
    )


async def meeting_facts(
    session: AsyncSession,
    case_ids: Sequence[uuid.UUID],
    at: dt.datetime,
    among: Callable[[AsyncSession, Any, Sequence[uuid.UUID]], Any],
) -> tuple[dict[uuid.UUID, tuple[ActionFacts, ...]], dict[uuid.UUID, tuple[DecisionFacts, ...]]]:
    """Actions and decisions of these cases recorded at or before `at`, per case.

    `among(session, column, ids)` is the caller's one-parameter IN, so the statements are the
    same whatever the number of cases.
    """
    actions: dict[uuid.UUID, list[ActionFacts]] = defaultdict(list)
    for a in await session.scalars(
        select(Action)
        .where(among(session, Action.case_id, case_ids), *_action_where(at))
        .order_by(*_ACTION_ORDER)
    ):
        actions[a.case_id].append(
            action_facts(
                a.id,
                a.status,
                a.status_changed_at,
                a.due_date,
                a.owner_agency_id,
                a.set_at_meeting_kind,
                at,
            )
        )
    decisions: dict[uuid.UUID, list[DecisionFacts]] = defaultdict(list)
    for d in await session.scalars(
        select(Decision)
        .where(among(session, Decision.case_id, case_ids), *_decision_where(at))
        .order_by(*_DECISION_ORDER)
    ):
        decisions[d.case_id].append(
            decision_facts(
                d.id, d.meeting_kind, d.recorded_at, d.progress, d.stalled, d.escalate_to_mace
            )
        )
    return (
        {k: tuple(v) for k, v in actions.items()},
        {k: tuple(v) for k, v in decisions.items()},
    )
