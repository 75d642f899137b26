"""A case's chronology: every record, one entry each, in the order things happened."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import readable_case
from app.auth.principal import Principal
from app.errors import field_error
from app.models import Assessment, CaseEvent, CaseStatusChange, MissingEpisode, SubjectIdentifier
from app.risk.schemas import ChronologyEntry
from app.risk.service import agency_codes
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page

_SCHEMES = {"agency_local": "an agency reference", "nhs_number": "an NHS number"}
_EVENTS = {
    "placement_move": "Placement move",
    "arrest": "Arrest",
    "charge": "Charged",
    "custody": "Custody",
    "education_exclusion": "Excluded from education",
    "missing_education": "Missing from education",
    "referral": "Referral",
    "strategy_meeting": "Strategy meeting",
    "disclosure": "Disclosure",
    "other": "Other event",
}
_SERVICES = {
    "substance_misuse": "substance misuse service",
    "sexual_health": "sexual health service",
    "camhs": "CAMHS",
    "prevent": "Prevent",
    "online_safety": "online safety service",
    "specialist_exploitation": "specialist exploitation service",
    "youth_service": "youth service",
    "other": "another service",
}

_Key = tuple[str, str, str, str]


def _key(entry: ChronologyEntry) -> _Key:
    return (entry.at.isoformat(), entry.recorded_at.isoformat(), entry.kind, str(entry.id))


def _encode(key: _Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode(cursor: str) -> _Key:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(raw, list) and len(raw) == 4 and all(isinstance(p, str) for p in raw)):
            raise ValueError
        return (raw[0], raw[1], raw[2], raw[3])
    except ValueError as exc:
        raise field_error(["query", "cursor"], "is not a cursor this service gave out") from exc


def _hours(start: dt.datetime, end: dt.datetime) -> str:
    hours = int((end - start).total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


async def chronology(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[ChronologyEntry]:
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    status_changes = (
        await session.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == case.id))
    ).all()
    identifiers = (
        await session.scalars(select(SubjectIdentifier).where(SubjectIdentifier.case_id == case.id))
    ).all()
    assessments = (
        await session.scalars(select(Assessment).where(Assessment.case_id == case.id))
    ).all()
    episodes = (
        await session.scalars(select(MissingEpisode).where(MissingEpisode.case_id == case.id))
    ).all()
    events = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))).all()
    codes = await agency_codes(
        session,
        {case.lead_agency_id}
        | {s.agency_id for s in status_changes}
        | {i.agency_id for i in identifiers}
        | {a.agency_id for a in assessments}
        | {e.agency_id for e in episodes}
        | {e.agency_id for e in events},
    )

    entries = [
        ChronologyEntry(
            at=case.created_at,
            kind="case_created",
            id=case.id,
            summary=f"Case {case.pseudonym} added to the register.",
            agency=codes[case.lead_agency_id],
            recorded_at=case.created_at,
        )
    ]
    for s in status_changes:
        entries.append(
            ChronologyEntry(
                at=s.occurred_at,
                kind=f"case_{'closed' if s.status == 'closed' else 'reopened'}",
                id=s.id,
                summary=f"Case {'closed' if s.status == 'closed' else 'reopened'}: {s.reason}",
                agency=codes[s.agency_id],
                recorded_at=s.recorded_at,
            )
        )
    for i in identifiers:
        entries.append(
            ChronologyEntry(
                at=i.created_at,
                kind="identifier_linked",
                id=i.id,
                summary=f"Linked {_SCHEMES.get(i.scheme, 'an identifier')} (value not shown).",
                agency=codes[i.agency_id],
                recorded_at=i.created_at,
            )
        )
    for a in assessments:
        if a.judgement_level:
            summary = (
                f"Risk assessed {a.level} on professional judgement "
                f"(tool: {a.calculated_level}, score {a.score})."
            )
        else:
            summary = f"Risk assessed {a.level} (score {a.score}, tool {a.tool_version})."
        if a.corrects_id:
            summary += f" Corrects assessment {a.corrects_id}."
        entries.append(
            ChronologyEntry(
                at=a.assessed_at,
                kind="assessment",
                id=a.id,
                summary=summary,
                agency=codes[a.agency_id],
                recorded_at=a.recorded_at,
            )
        )
    for e in episodes:
        word = "Missing" if e.kind == "missing" else "Absent"
        entries.append(
            ChronologyEntry(
                at=e.started_at,
                kind="missing_started",
                id=e.id,
                summary=f"{word} episode started.",
                agency=codes[e.agency_id],
                recorded_at=e.recorded_at,
            )
        )
        if e.ended_at is not None:
            entries.append(
                ChronologyEntry(
                    at=e.ended_at,
                    kind="missing_ended",
                    id=e.id,
                    summary=f"Returned ({word.lower()} for {_hours(e.started_at, e.ended_at)}).",
                    agency=codes[e.agency_id],
                    recorded_at=e.ended_recorded_at or e.recorded_at,
                )
            )
        if e.return_interview_at is not None:
            entries.append(
                ChronologyEntry(
                    at=e.return_interview_at,
                    kind="return_interview",
                    id=e.id,
                    summary="Return home interview held.",
                    agency=codes[e.agency_id],
                    recorded_at=e.return_interview_recorded_at or e.recorded_at,
                )
            )
    for ev in events:
        summary = _EVENTS.get(ev.type, ev.type)
        if ev.service:
            summary += f" to {_SERVICES.get(ev.service, ev.service)}"
        if ev.corrects_id:
            summary += f" (corrects event {ev.corrects_id})"
        entries.append(
            ChronologyEntry(
                at=ev.occurred_at,
                kind=f"event.{ev.type}",
                id=ev.id,
                summary=summary + ".",
                agency=codes[ev.agency_id],
                recorded_at=ev.recorded_at,
            )
        )

    entries.sort(key=lambda e: (e.at, e.recorded_at, e.kind, str(e.id)))
    if cursor:
        after = _decode(cursor)
        entries = [e for e in entries if _key(e) > after]
    limit = max(1, min(limit, MAX_PAGE))
    page = entries[:limit]
    next_cursor = _encode(_key(page[-1])) if len(entries) > limit else None
    return Page[ChronologyEntry](items=page, next_cursor=next_cursor)
