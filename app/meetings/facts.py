"""What the flag rules see of meetings: each case's actions and decisions as known at a moment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, Decision
from app.risk.flags import ActionFacts, DecisionFacts


def _status_at(action: Action, at: dt.datetime) -> str:
    # Only the latest status change is kept (SPEC §1: an action's status is updated in place).
    # Every action starts open, so one changed after `at` was, as far as the register can
    # tell, still open then.
    if action.status_changed_at is not None and action.status_changed_at > at:
        return "open"
    return action.status


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
        .where(among(session, Action.case_id, case_ids), Action.created_at <= at)
        .order_by(Action.created_at, Action.position)
    ):
        actions[a.case_id].append(
            ActionFacts(
                id=a.id,
                status=_status_at(a, at),
                due_date=a.due_date,
                owner_agency_id=a.owner_agency_id,
                set_at_meeting_kind=a.set_at_meeting_kind,
            )
        )
    decisions: dict[uuid.UUID, list[DecisionFacts]] = defaultdict(list)
    for d in await session.scalars(
        select(Decision)
        .where(among(session, Decision.case_id, case_ids), Decision.recorded_at <= at)
        .order_by(Decision.recorded_at)
    ):
        decisions[d.case_id].append(
            DecisionFacts(
                id=d.id,
                meeting_kind=d.meeting_kind,
                recorded_at=d.recorded_at,
                progress=d.progress,
                stalled=d.stalled,
                escalate_to_mace=d.escalate_to_mace,
            )
        )
    return (
        {k: tuple(v) for k, v in actions.items()},
        {k: tuple(v) for k, v in decisions.items()},
    )
