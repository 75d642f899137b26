"""Agendas: reading them (live while draft, frozen once published), publishing, late items.

Publication is claimed in the database by one conditional UPDATE (`... WHERE agenda_status =
'draft'`): whichever transaction wins freezes the items; a rerun, a second replica or a
catch-up after downtime finds nothing to claim.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import readable_case
from app.auth.principal import Principal
from app.cases.schemas import FlagRead
from app.db import Database, utcnow
from app.errors import Conflict, NotFound, field_error
from app.meetings import agenda
from app.meetings.agenda import AgendaWindow, ProposedItem
from app.meetings.calendar import local_today
from app.meetings.planning import window_start
from app.meetings.schemas import (
    AgendaItemRead,
    AgendaRead,
    AgendaStatus,
    LateItemCreate,
    MeetingKind,
    MeetingRead,
    Window,
)
from app.meetings.series import series_by_code
from app.models import AgendaItem, Meeting
from app.pagination import decode_cursor, encode_cursor
from app.schemas import MAX_PAGE, Page
from app.webhooks.outbox import emit

log = logging.getLogger("riskreg.meetings")

RULE = "rule"


def process_name() -> str:
    """Who published: the host and process, so an operator can tell replicas apart."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def meeting_read(meeting: Meeting) -> MeetingRead:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(meeting.timezone)
    return MeetingRead(
        id=meeting.id,
        kind=MeetingKind(meeting.kind),
        date=meeting.local_date,
        starts_at=meeting.starts_at.astimezone(zone),
        ends_at=meeting.ends_at.astimezone(zone),
        agenda_cutoff=meeting.agenda_cutoff.astimezone(zone),
        agenda_status=AgendaStatus(meeting.agenda_status),
        published_at=meeting.published_at.astimezone(zone) if meeting.published_at else None,
        timezone=meeting.timezone,
    )


async def get_meeting(session: AsyncSession, meeting_id: uuid.UUID) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("no such meeting")
    return meeting


async def window_of(session: AsyncSession, meeting: Meeting, as_of: dt.datetime) -> AgendaWindow:
    if meeting.window_start is not None and meeting.window_end is not None:
        return AgendaWindow(meeting.window_start, meeting.window_end)
    # A meeting after the next one: its window has not opened yet, so it is empty so far.
    return AgendaWindow(min(await window_start(session, meeting), as_of), as_of)


def _item_read(
    item: AgendaItem | ProposedItem, added_by: str, late_reason: str | None
) -> AgendaItemRead:
    return AgendaItemRead(
        case_id=item.case_id,
        pseudonym=item.pseudonym,
        risk_level=item.risk_level,
        priority=item.priority,
        reasons=[FlagRead.model_validate(r) for r in item.reasons],
        added_by=added_by,
        late_reason=late_reason,
    )


async def _stored_items(session: AsyncSession, meeting_id: uuid.UUID) -> list[AgendaItem]:
    return list(
        (await session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))).all()
    )


async def agenda_of(session: AsyncSession, meeting: Meeting, now: dt.datetime) -> AgendaRead:
    """The agenda: frozen items once published; while draft, what publishing now would give."""
    stored = await _stored_items(session, meeting.id)
    if meeting.agenda_status == "draft":
        as_of = min(now, meeting.agenda_cutoff)
        window = await window_of(session, meeting, as_of)
        live = {i.case_id: i for i in await agenda.rule_items(session, meeting, as_of, window)}
        reads = []
        for item in stored:  # manual items added ahead of publication
            proposed = live.pop(item.case_id, None)
            source: AgendaItem | ProposedItem = proposed if proposed is not None else item
            reads.append(_item_read(source, item.added_by, item.late_reason))
        reads.extend(_item_read(p, RULE, None) for p in live.values())
    else:
        assert meeting.published_as_of is not None
        as_of = meeting.published_as_of
        window = await window_of(session, meeting, as_of)
        reads = [_item_read(i, i.added_by, i.late_reason) for i in stored]
    reads.sort(key=lambda r: (-r.priority, r.pseudonym))
    return AgendaRead(
        meeting=meeting_read(meeting),
        as_of=as_of,
        window=Window(start=window.start, end=window.end) if meeting.kind == "dram" else None,
        status=AgendaStatus(meeting.agenda_status),
        items=reads,
    )


async def read_agenda(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID
) -> AgendaRead:
    principal.require("agenda.read")
    return await agenda_of(session, await get_meeting(session, meeting_id), utcnow())


def _parse_day(day: str) -> dt.date:
    try:
        return dt.date.fromisoformat(day)
    except ValueError:
        raise field_error(["path", "date"], "is not a date (YYYY-MM-DD), today or next") from None


async def meeting_on(
    session: AsyncSession, principal: Principal, kind: MeetingKind, day: str
) -> Meeting:
    """The meeting of `kind` on `day` (`YYYY-MM-DD`, `today`, or `next`: the first not ended)."""
    principal.require("agenda.read")
    series = await series_by_code(session, kind.value)
    now = utcnow()
    stmt = select(Meeting).where(Meeting.kind == kind.value)
    if day == "next":
        stmt = stmt.where(Meeting.ends_at > now).order_by(Meeting.starts_at).limit(1)
    else:
        date = local_today(series.timezone, now) if day == "today" else _parse_day(day)
        stmt = stmt.where(Meeting.local_date == date)
    meeting = await session.scalar(stmt)
    if meeting is None:
        raise NotFound(f"no {kind.value.upper()} meeting {'is planned' if day == 'next' else day}")
    return meeting


async def publish(session: AsyncSession, meeting_id: uuid.UUID, now: dt.datetime, by: str) -> bool:
    """Claim and freeze this meeting's agenda as of min(now, cutoff); False if already done."""
    meeting = await session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None or meeting.agenda_status != "draft":
        return False
    as_of = min(now, meeting.agenda_cutoff)
    window = await window_of(session, meeting, as_of)
    claimed = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.agenda_status == "draft")
        .values(
            agenda_status="published",
            published_at=now,
            published_as_of=as_of,
            published_by=by,
            window_start=window.start,
            window_end=window.end,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    proposed = await agenda.rule_items(session, meeting, as_of, window)
    manual = {i.case_id: i for i in await _stored_items(session, meeting_id)}
    for p in proposed:
        item = manual.get(p.case_id)
        if item is not None:  # added by hand before the cutoff: keep who added it and why
            item.risk_level, item.priority, item.reasons = p.risk_level, p.priority, p.reasons
            continue
        session.add(
            AgendaItem(
                meeting_id=meeting_id,
                case_id=p.case_id,
                pseudonym=p.pseudonym,
                risk_level=p.risk_level,
                priority=p.priority,
                reasons=p.reasons,
                added_by=RULE,
                added_at=now,
            )
        )
    await session.flush()
    await session.refresh(meeting)
    # In the claiming transaction: the event exists exactly when the publication does.
    await emit(
        session,
        "agenda.published",
        {
            "meeting_id": str(meeting.id),
            "kind": meeting.kind,
            "date": meeting.local_date.isoformat(),
            "as_of": as_of.isoformat(),
            "items": len(proposed) + len(set(manual) - {p.case_id for p in proposed}),
        },
    )
    log.info(
        "published agenda %s (%s %s) as of %s",
        meeting_id,
        meeting.kind,
        meeting.local_date,
        as_of.isoformat(),
    )
    return True


async def publish_now(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID
) -> AgendaRead:
    """Publish early (coordinator): freezes the agenda as of now."""
    principal.require("agenda.edit")
    meeting = await get_meeting(session, meeting_id)
    if meeting.agenda_status != "draft":
        raise Conflict(f"the agenda is already {meeting.agenda_status}")
    now = utcnow()
    if not await publish(session, meeting_id, now, f"{principal.agency_code}:{principal.key_id}"):
        raise Conflict("the agenda was published by another request")
    return await agenda_of(session, meeting, now)


async def publish_due(db: Database, now: dt.datetime, by: str | None = None) -> int:
    """Publish every draft agenda whose cutoff has passed, each as of its own cutoff.

    One transaction per meeting, so one failure does not hold back the others.
    """
    by = by or process_name()
    async with db.transaction() as session:
        due = (
            await session.scalars(
                select(Meeting.id)
                .where(Meeting.agenda_status == "draft", Meeting.agenda_cutoff <= now)
                .order_by(Meeting.agenda_cutoff)
            )
        ).all()
    published = 0
    for meeting_id in due:
        async with db.transaction() as session:
            published += await publish(session, meeting_id, now, by)
    return published


async def add_late_item(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID, body: LateItemCreate
) -> AgendaItemRead:
    principal.require("agenda.edit")
    meeting = await get_meeting(session, meeting_id)
    if meeting.agenda_status == "closed":
        raise Conflict("the meeting is closed")
    case = await readable_case(session, principal, body.case_id)
    now = utcnow()
    window = await window_of(session, meeting, min(now, meeting.agenda_cutoff))
    level, reasons = await agenda.case_reasons(session, meeting, case.id, now, window)
    proposed = ProposedItem(case.id, case.pseudonym, level, reasons)
    item = AgendaItem(
        meeting_id=meeting.id,
        case_id=case.id,
        pseudonym=case.pseudonym,
        risk_level=level,
        priority=proposed.priority,
        reasons=reasons,
        added_by=principal.agency_code,
        late_reason=body.reason,
        added_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(item)
            await session.flush()
    except IntegrityError:
        raise Conflict("the case is already on this agenda") from None
    return _item_read(item, item.added_by, item.late_reason)


async def close_meeting(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID
) -> MeetingRead:
    principal.require("agenda.edit")
    meeting = await get_meeting(session, meeting_id)
    now = utcnow()
    result = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.agenda_status == "published")
        .values(agenda_status="closed", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"only a published agenda's meeting can be closed ({meeting.agenda_status})")
    await session.refresh(meeting)
    return meeting_read(meeting)


def _meetings(
    kind: MeetingKind | None, start: dt.date | None, end: dt.date | None
) -> Select[tuple[Meeting]]:
    """Meetings of a kind (any, if None) between two local dates, both inclusive."""
    stmt = select(Meeting)
    if kind:
        stmt = stmt.where(Meeting.kind == kind.value)
    if start:
        stmt = stmt.where(Meeting.local_date >= start)
    if end:
        stmt = stmt.where(Meeting.local_date <= end)
    return stmt


async def list_meetings(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: MeetingKind | None,
    start: dt.date | None,
    end: dt.date | None,
    limit: int,
) -> list[Meeting]:
    principal.require("meeting.read")
    stmt = _meetings(kind, start, end).order_by(Meeting.starts_at, Meeting.kind).limit(limit)
    return list((await session.scalars(stmt)).all())


async def meeting_page(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: MeetingKind | None,
    start: dt.date | None,
    end: dt.date | None,
    limit: int,
    cursor: str | None,
) -> Page[MeetingRead]:
    """Materialised meetings in time order, `from` and `to` inclusive local dates."""
    principal.require("meeting.read")
    limit = max(1, min(limit, MAX_PAGE))
    stmt = _meetings(kind, start, end)
    if cursor:
        starts, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Meeting.starts_at > starts, and_(Meeting.starts_at == starts, Meeting.id > last_id))
        )
    stmt = stmt.order_by(Meeting.starts_at, Meeting.id).limit(limit + 1)
    meetings = list((await session.scalars(stmt)).all())
    last = meetings[limit - 1] if len(meetings) > limit else None
    next_cursor = encode_cursor(last.starts_at, last.id) if last else None
    return Page[MeetingRead](
        items=[meeting_read(m) for m in meetings[:limit]], next_cursor=next_cursor
    )
