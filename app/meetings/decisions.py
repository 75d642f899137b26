"""Decisions on agenda items, the actions they set, and tracking those actions."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import involve, readable_case
from app.auth.principal import Principal, readable_case_clause
from app.cases.service import agency_by_code
from app.db import Database, utcnow
from app.errors import Conflict, Forbidden, NotFound, field_error
from app.meetings.calendar import local_today
from app.meetings.publishing import get_meeting
from app.meetings.schemas import (
    ActionRead,
    ActionStatus,
    ActionUpdate,
    DecisionCreate,
    DecisionRead,
    Progress,
    RiskLevel,
)
from app.models import Action, Agency, AgendaItem, Decision
from app.risk.service import warnings
from app.schemas import MAX_PAGE, Page
from app.webhooks.outbox import emit

DEFAULT_TIMEZONE = "Europe/London"


def _today(now: dt.datetime) -> dt.date:
    return local_today(DEFAULT_TIMEZONE, now)


async def _codes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(ids)))
    return {r[0]: r[1] for r in rows}


async def action_reads(
    session: AsyncSession, actions: Sequence[Action], now: dt.datetime
) -> list[ActionRead]:
    codes = await _codes(session, {a.owner_agency_id for a in actions})
    today = _today(now)
    return [
        ActionRead(
            id=a.id,
            case_id=a.case_id,
            decision_id=a.decision_id,
            meeting_id=a.meeting_id,
            description=a.description,
            owner_agency=codes[a.owner_agency_id],
            due_date=a.due_date,
            status=ActionStatus(a.status),
            overdue=a.status == "open" and a.due_date < today,
        )
        for a in actions
    ]


async def record_decision(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID, body: DecisionCreate
) -> DecisionRead:
    """Record the decision on one agenda item with its actions; a second one answers 409."""
    principal.require("decision.record")
    meeting = await get_meeting(session, meeting_id)
    if meeting.kind == "dram" and principal.role.value == "chair":
        raise Forbidden("chairs record MACE decisions; the DRAM coordinator records DRAM ones")
    case = await readable_case(session, principal, body.case_id)
    if meeting.agenda_status == "draft":
        raise Conflict("the agenda is not published yet: decisions follow publication")
    if meeting.agenda_status == "closed":
        raise Conflict("the meeting is closed")
    on_agenda = await session.scalar(
        select(AgendaItem.id).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.case_id == case.id
        )
    )
    if on_agenda is None:
        raise Conflict("the case is not on this meeting's agenda (add it as a late item first)")
    owners = [
        await agency_by_code(session, a.owner_agency, ["body", "actions", i, "owner_agency"])
        for i, a in enumerate(body.actions)
    ]
    now = utcnow()
    decision = Decision(
        meeting_id=meeting.id,
        meeting_kind=meeting.kind,
        case_id=case.id,
        agreed_level=body.agreed_level.value if body.agreed_level else None,
        progress=body.progress.value,
        escalate_to_mace=body.escalate_to_mace,
        stalled=body.stalled,
        next_review_date=body.next_review_date,
        summary=body.summary,
        agency_id=principal.agency_id,
        recorded_at=now,
    )
    try:
        # The unique (meeting, case) decides a race between two coordinators: one wins, the
        # other's decision and actions are rolled back with its savepoint.
        async with session.begin_nested():
            session.add(decision)
            await session.flush()
    except IntegrityError:
        raise Conflict("a decision on this case was already recorded at this meeting") from None
    actions = []
    for position, (spec, owner) in enumerate(zip(body.actions, owners, strict=True)):
        action = Action(
            decision_id=decision.id,
            position=position,
            meeting_id=meeting.id,
            set_at_meeting_kind=meeting.kind,
            case_id=case.id,
            description=spec.description,
            owner_agency_id=owner.id,
            due_date=spec.due_date,
            status="open",
            created_at=now,
        )
        session.add(action)
        actions.append(action)
    await session.flush()
    for owner in {o.id for o in owners}:
        await involve(session, case.id, owner)  # owning an action makes an agency involved
    return DecisionRead(
        id=decision.id,
        meeting_id=meeting.id,
        case_id=case.id,
        agreed_level=body.agreed_level,
        progress=body.progress,
        escalate_to_mace=decision.escalate_to_mace,
        stalled=decision.stalled,
        next_review_date=decision.next_review_date,
        summary=decision.summary,
        recorded_at=decision.recorded_at,
        agency=principal.agency_code,
        actions=await action_reads(session, actions, now),
        language_warnings=warnings(
            [("summary", decision.summary)] + [("description", a.description) for a in actions]
        ),
    )


async def list_decisions(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID
) -> list[DecisionRead]:
    principal.require("agenda.read")
    meeting = await get_meeting(session, meeting_id)
    decisions = (
        await session.scalars(
            select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.recorded_at)
        )
    ).all()
    if not decisions:
        return []
    actions = (
        await session.scalars(
            select(Action)
            .where(Action.decision_id.in_([d.id for d in decisions]))
            .order_by(Action.decision_id, Action.position)
        )
    ).all()
    now = utcnow()
    reads = await action_reads(session, actions, now)
    by_decision: dict[uuid.UUID, list[ActionRead]] = {}
    for read in reads:
        by_decision.setdefault(read.decision_id, []).append(read)
    codes = await _codes(session, {d.agency_id for d in decisions})
    return [
        DecisionRead(
            id=d.id,
            meeting_id=d.meeting_id,
            case_id=d.case_id,
            agreed_level=RiskLevel(d.agreed_level) if d.agreed_level else None,
            progress=Progress(d.progress),
            escalate_to_mace=d.escalate_to_mace,
            stalled=d.stalled,
            next_review_date=d.next_review_date,
            summary=d.summary,
            recorded_at=d.recorded_at,
            agency=codes[d.agency_id],
            actions=by_decision.get(d.id, []),
            language_warnings=warnings([("summary", d.summary)]),
        )
        for d in decisions
    ]


def _encode_cursor(action: Action) -> str:
    raw = json.dumps([action.due_date.isoformat(), str(action.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due, action_id = json.loads(raw)
        return dt.date.fromisoformat(due), uuid.UUID(action_id)
    except (ValueError, TypeError) as exc:
        raise field_error(["query", "cursor"], "is not a cursor this service gave out") from exc


async def list_actions(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    owner_agency: str | None,
    case_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[ActionRead]:
    """Actions on cases the caller may read; `status=overdue` is open and past its due date."""
    principal.require("action.read")
    limit = max(1, min(limit, MAX_PAGE))
    now = utcnow()
    stmt = select(Action).where(readable_case_clause(principal, Action.case_id))
    if status == "overdue":
        stmt = stmt.where(Action.status == "open", Action.due_date < _today(now))
    elif status:
        stmt = stmt.where(Action.status == status)
    if owner_agency:
        agency = await agency_by_code(session, owner_agency, ["query", "owner_agency"])
        stmt = stmt.where(Action.owner_agency_id == agency.id)
    if case_id:
        stmt = stmt.where(Action.case_id == case_id)
    if cursor:
        due, last_id = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(Action.due_date > due, and_(Action.due_date == due, Action.id > last_id))
        )
    stmt = stmt.order_by(Action.due_date, Action.id).limit(limit + 1)
    actions = list((await session.scalars(stmt)).all())
    next_cursor = _encode_cursor(actions[limit - 1]) if len(actions) > limit else None
    return Page[ActionRead](
        items=await action_reads(session, actions[:limit], now), next_cursor=next_cursor
    )


async def update_action(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID, body: ActionUpdate
) -> ActionRead:
    """Change an action's status: its owner agency's people and systems, or a coordinator."""
    principal.require("action.update")
    action = await session.get(Action, action_id)
    if action is None:
        raise NotFound("no such action")
    await readable_case(session, principal, action.case_id)  # unreadable: 404, no leak
    if not principal.reads_every_case and action.owner_agency_id != principal.agency_id:
        raise Forbidden("only the agency that owns an action (or a coordinator) may change it")
    now = utcnow()
    if action.status != body.status.value:
        action.status = body.status.value
        action.status_changed_at = now
        await session.flush()
    return (await action_reads(session, [action], now))[0]


async def mark_overdue_actions(db: Database, now: dt.datetime) -> int:
    """Claim each action that has just become overdue, once (a rerun marks nothing again)."""
    async with db.transaction() as session:
        claimed = (
            await session.execute(
                update(Action)
                .where(
                    Action.status == "open",
                    Action.due_date < _today(now),
                    Action.overdue_marked_at.is_(None),
                )
                .values(overdue_marked_at=now)
                .returning(Action.id, Action.case_id, Action.due_date, Action.owner_agency_id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        codes = await _codes(session, {row.owner_agency_id for row in claimed})
        for row in claimed:
            await emit(
                session,
                "action.overdue",
                {
                    "action_id": str(row.id),
                    "due_date": row.due_date.isoformat(),
                    "owner_agency": codes[row.owner_agency_id],
                },
                case_id=row.case_id,
            )
        return len(claimed)
