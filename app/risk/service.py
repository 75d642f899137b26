"""Risk record use cases: assessments, missing episodes, events, flags and the language check."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, insert, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import involve, postable_case, readable_case
from app.auth.agencies import agency_codes
from app.auth.principal import Principal, readable_case_clause
from app.cases.schemas import FlagRead
from app.db import precompiled, utcnow
from app.errors import Conflict, NotFound, Unprocessable, field_error
from app.models import Assessment, Case, CaseAgency, CaseEvent, MissingEpisode
from app.pagination import decode_cursor, encode_cursor
from app.risk import language
from app.risk.evaluation import flags_for_cases, scan_flagged
from app.risk.flags import FLAG_CODES, RETURN_INTERVIEW_DUE, Flag, Window, london_date
from app.risk.schemas import (
    AssessmentCreate,
    AssessmentRead,
    CaseFlags,
    EventCreate,
    EventRead,
    JudgementRead,
    LanguageCheckOut,
    LanguageFinding,
    MissingEpisodeCreate,
    MissingEpisodeEnd,
    MissingEpisodeRead,
    ReturnInterview,
)
from app.risk.tool import ACTIVE_VERSION, calculated_level, tool_in_force, unknown_indicators
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page
from app.webhooks.outbox import emit

# --- shared ---------------------------------------------------------------------------------


def warnings(fields: Iterable[tuple[str, str | None]]) -> list[LanguageFinding]:
    """Language findings for a record's free-text fields; they warn, never refuse."""
    return [
        LanguageFinding(
            phrase=f.phrase,
            start=f.start,
            end=f.end,
            suggestion=f.suggestion,
            reason=f.reason,
            field=name,
            source=f.source,
        )
        for name, text in fields
        for f in language.check(text)
    ]


def check_language(text: str) -> LanguageCheckOut:
    return LanguageCheckOut(findings=warnings([("text", text)]), sources=language.sources())


async def _newest_first(
    session: AsyncSession,
    stmt: Select[Any],
    time_col: Any,
    id_col: Any,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    limit = max(1, min(limit, MAX_PAGE))
    if cursor:
        moment, last_id = decode_cursor(cursor)
        stmt = stmt.where(or_(time_col < moment, and_(time_col == moment, id_col < last_id)))
    rows = list(
        (
            await session.scalars(stmt.order_by(time_col.desc(), id_col.desc()).limit(limit + 1))
        ).all()
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(getattr(last, time_col.key), last.id)
    return rows[:limit], next_cursor


# --- assessments ----------------------------------------------------------------------------


def assessment_read(a: Assessment, agency: str) -> AssessmentRead:
    return AssessmentRead(
        id=a.id,
        case_id=a.case_id,
        assessed_at=a.assessed_at,
        agency=agency,
        indicators=list(a.indicators),
        score=a.score,
        calculated_level=a.calculated_level,
        judgement=(
            JudgementRead(level=a.judgement_level, rationale=a.judgement_rationale or "")
            if a.judgement_level
            else None
        ),
        level=a.level,
        next_review_due=a.next_review_due,
        tool_version=a.tool_version,
        notes=a.notes,
        corrects=a.corrects_id,
        recorded_at=a.recorded_at,
        language_warnings=warnings(
            [("judgement.rationale", a.judgement_rationale), ("notes", a.notes)]
        ),
    )


async def _check_corrects(
    session: AsyncSession,
    model: type[Assessment] | type[CaseEvent],
    target: uuid.UUID,
    case_id: uuid.UUID,
) -> None:
    owner = await session.scalar(select(model.case_id).where(model.id == target))
    if owner != case_id:
        raise field_error(["body", "corrects"], "names no record of this case")


@cache
def _assessment_statements(dialect: str) -> tuple[Any, ...]:
    """The ingestion path's statements, built once per dialect (a request binds values only).

    PostgreSQL writes the assessment, the agency's involvement and the case's current level
    in one statement (data-modifying CTEs); SQLite runs the same three one after the other.
    """
    c, a, ca = Case.__table__.c, Assessment.__table__, CaseAgency.__table__
    # The case row under its lock, and the tool version in force, in one round trip.
    lock_case = (
        select(c.id, c.birth_month, c.current_level, ACTIVE_VERSION.scalar_subquery())
        .where(c.id == bindparam("case_id"))
        .with_for_update(of=Case.__table__)
    )
    add = insert(a).values({col: bindparam(f"a_{col.name}") for col in a.c})
    involve_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    involvement = (
        involve_insert(ca)
        .values(
            case_id=bindparam("a_case_id"),
            agency_id=bindparam("a_agency_id"),
            since=bindparam("a_recorded_at"),
        )
        .on_conflict_do_nothing(index_elements=["case_id", "agency_id"])
    )
    # The case keeps a copy of its current assessment (the latest by assessed_at, recorded_at,
    # id): its level, and what the set-based flags filter on (app/risk/setbased.py).
    copied = ("level", "id", "next_review_due", "judgement_differs", "indicators")

    def copy_columns(t: Any) -> list[Any]:
        differs = and_(t.judgement_level.is_not(None), t.judgement_level != t.calculated_level)
        return [
            t.level,
            t.id,
            t.next_review_due,
            differs.label("judgement_differs"),
            t.indicators,
            t.assessed_at,
            t.recorded_at,
        ]

    if dialect == "postgresql":
        # The statement's own snapshot does not see the row its CTE inserts: add it by hand.
        new = add.returning(*a.c).cte("new_row")
        rows = union_all(
            select(*copy_columns(a.c)).where(a.c.case_id == bindparam("a_case_id")),
            select(*copy_columns(new.c)),
        ).subquery("candidates")
    else:
        rows = (
            select(*copy_columns(a.c))
            .where(a.c.case_id == bindparam("a_case_id"))
            .subquery("candidates")
        )

    def latest(name: str) -> Any:
        return (
            select(rows.c[name])
            .order_by(rows.c.assessed_at.desc(), rows.c.recorded_at.desc(), rows.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    current = dict(zip(copied, (latest(name) for name in copied), strict=True))
    # Core, not the ORM unit of work, so the case's version (the ETag clients hold for its
    # descriptive fields) does not change; `updated_at` is left as it was for the same reason.
    set_level = (
        update(Case.__table__)
        .where(c.id == bindparam("a_case_id"))
        .values(
            current_level=current["level"],
            current_assessment_id=current["id"],
            current_review_due=current["next_review_due"],
            current_judgement_differs=current["judgement_differs"],
            current_indicators=current["indicators"],
            updated_at=c.updated_at,
        )
        .returning(c.current_level)
    )
    if dialect == "postgresql":
        together = set_level.add_cte(new).add_cte(involvement.cte("involved"))
        return precompiled(lock_case), precompiled(together)
    return lock_case, add, involvement, set_level


async def create_assessment(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, body: AssessmentCreate
) -> AssessmentRead:
    principal.require("record.create")
    connection = await session.connection()
    statements = _assessment_statements(connection.dialect.name)
    # Lock the case row first: writers of one case's risk are serialised (SQLite serialises
    # anyway), so current_level is read and set under the same lock.
    found = (await connection.execute(statements[0], {"case_id": case_id})).first()
    if found is None:
        raise NotFound("no such case")
    _, birth_month, level_before, tool_version = found
    tool = await tool_in_force(session, tool_version)
    indicators = list(dict.fromkeys(body.indicators))
    unknown = unknown_indicators(tool, indicators)
    if unknown:
        raise Unprocessable(
            f"unknown indicator codes for risk tool {tool.version}: {', '.join(unknown)}",
            errors=[
                {
                    "loc": ["body", "indicators", body.indicators.index(code)],
                    "msg": f"unknown indicator code {code!r}",
                }
                for code in unknown
            ],
        )
    if body.corrects is not None:
        await _check_corrects(session, Assessment, body.corrects, case_id)
    assessed_on = london_date(body.assessed_at)
    total, calculated = calculated_level(tool, indicators, birth_month, assessed_on)
    level = body.judgement.level.value if body.judgement else calculated
    interval = tool.review_interval(level)
    assessment = Assessment(
        id=uuid.uuid4(),
        case_id=case_id,
        agency_id=principal.agency_id,
        assessed_at=body.assessed_at,
        tool_version=tool.version,
        indicators=indicators,
        score=total,
        calculated_level=calculated,
        judgement_level=body.judgement.level.value if body.judgement else None,
        judgement_rationale=body.judgement.rationale if body.judgement else None,
        level=level,
        next_review_due=body.assessed_at + interval if interval else None,
        notes=body.notes,
        corrects_id=body.corrects,
        recorded_at=utcnow(),
    )
    params = {f"a_{col.name}": getattr(assessment, col.name) for col in Assessment.__table__.c}
    for statement in statements[1:-1]:  # SQLite: the insert and the involvement
        await connection.execute(statement, params)
    level_after = (await connection.execute(statements[-1], params)).scalar_one()
    if level_before != level_after:
        await emit(
            session,
            "risk.level_changed",
            {"from": level_before, "to": level_after, "assessment_id": str(assessment.id)},
            case_id=case_id,
        )
    return assessment_read(assessment, principal.agency_code)


async def list_assessments(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[AssessmentRead]:
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    rows, next_cursor = await _newest_first(
        session,
        select(Assessment).where(Assessment.case_id == case.id),
        Assessment.assessed_at,
        Assessment.id,
        limit,
        cursor,
    )
    codes = await agency_codes(session, (a.agency_id for a in rows))
    return Page[AssessmentRead](
        items=[assessment_read(a, codes[a.agency_id]) for a in rows], next_cursor=next_cursor
    )


# --- missing episodes -----------------------------------------------------------------------


def episode_read(e: MissingEpisode, agency: str) -> MissingEpisodeRead:
    due = (
        e.ended_at + RETURN_INTERVIEW_DUE
        if e.ended_at is not None and e.return_interview_at is None
        else None
    )
    return MissingEpisodeRead(
        id=e.id,
        case_id=e.case_id,
        started_at=e.started_at,
        ended_at=e.ended_at,
        kind=e.kind,  # type: ignore[arg-type]
        agency=agency,
        return_interview_at=e.return_interview_at,
        return_interview_due=due,
        notes=e.notes,
        recorded_at=e.recorded_at,
        language_warnings=warnings([("notes", e.notes)]),
    )


def _check_end(started_at: dt.datetime, ended_at: dt.datetime | None) -> None:
    if ended_at is not None and ended_at < started_at:
        raise field_error(["body", "ended_at"], "is before the episode started (started_at)")


def _check_interview(ended_at: dt.datetime | None, interview_at: dt.datetime) -> None:
    if ended_at is None:
        raise field_error(
            ["body", "return_interview_at"], "the episode has not ended: record its end first"
        )
    if interview_at < ended_at:
        raise field_error(
            ["body", "return_interview_at"], "is before the child returned (ended_at)"
        )


async def create_episode(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, body: MissingEpisodeCreate
) -> MissingEpisodeRead:
    _check_end(body.started_at, body.ended_at)
    if body.return_interview_at is not None:
        _check_interview(body.ended_at, body.return_interview_at)
    case = await postable_case(session, principal, case_id)
    now = utcnow()
    episode = MissingEpisode(
        case_id=case.id,
        agency_id=principal.agency_id,
        kind=body.kind.value,
        started_at=body.started_at,
        ended_at=body.ended_at,
        ended_recorded_at=now if body.ended_at else None,
        return_interview_at=body.return_interview_at,
        return_interview_recorded_at=now if body.return_interview_at else None,
        notes=body.notes,
        recorded_at=now,
    )
    session.add(episode)
    await session.flush()
    await involve(session, case.id, principal.agency_id)
    await _emit_episode(session, "missing.started", episode)
    if episode.ended_at is not None:
        await _emit_episode(session, "missing.ended", episode)
    return episode_read(episode, principal.agency_code)


async def _emit_episode(session: AsyncSession, event_type: str, episode: MissingEpisode) -> None:
    await emit(
        session,
        event_type,
        {
            "episode_id": str(episode.id),
            "kind": episode.kind,
            "started_at": episode.started_at.isoformat(),
            "ended_at": episode.ended_at.isoformat() if episode.ended_at else None,
        },
        case_id=episode.case_id,
    )


async def list_episodes(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[MissingEpisodeRead]:
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    rows, next_cursor = await _newest_first(
        session,
        select(MissingEpisode).where(MissingEpisode.case_id == case.id),
        MissingEpisode.started_at,
        MissingEpisode.id,
        limit,
        cursor,
    )
    codes = await agency_codes(session, (e.agency_id for e in rows))
    return Page[MissingEpisodeRead](
        items=[episode_read(e, codes[e.agency_id]) for e in rows], next_cursor=next_cursor
    )


async def _episode_for_update(
    session: AsyncSession, principal: Principal, episode_id: uuid.UUID
) -> MissingEpisode:
    principal.require("record.create")
    episode = await session.scalar(
        select(MissingEpisode).where(MissingEpisode.id == episode_id).with_for_update()
    )
    if episode is None:
        raise NotFound("no such missing episode")
    await postable_case(session, principal, episode.case_id)
    return episode


async def end_episode(
    session: AsyncSession, principal: Principal, episode_id: uuid.UUID, body: MissingEpisodeEnd
) -> MissingEpisodeRead:
    """Record when the child returned; the one field of an episode that may be set later."""
    episode = await _episode_for_update(session, principal, episode_id)
    _check_end(episode.started_at, body.ended_at)
    if episode.ended_at is not None:
        if episode.ended_at == body.ended_at:
            return await _episode_view(session, episode)  # a retry: already recorded
        raise Conflict("the episode's end is already recorded; it is not changed in place")
    episode.ended_at = body.ended_at
    episode.ended_recorded_at = utcnow()
    await session.flush()
    await involve(session, episode.case_id, principal.agency_id)
    await _emit_episode(session, "missing.ended", episode)
    return await _episode_view(session, episode)


async def record_return_interview(
    session: AsyncSession, principal: Principal, episode_id: uuid.UUID, body: ReturnInterview
) -> MissingEpisodeRead:
    episode = await _episode_for_update(session, principal, episode_id)
    _check_interview(episode.ended_at, body.return_interview_at)
    if episode.return_interview_at is not None:
        if episode.return_interview_at == body.return_interview_at:
            return await _episode_view(session, episode)
        raise Conflict("a return home interview is already recorded for this episode")
    episode.return_interview_at = body.return_interview_at
    episode.return_interview_recorded_at = utcnow()
    await session.flush()
    await involve(session, episode.case_id, principal.agency_id)
    return await _episode_view(session, episode)


async def _episode_view(session: AsyncSession, episode: MissingEpisode) -> MissingEpisodeRead:
    codes = await agency_codes(session, [episode.agency_id])
    return episode_read(episode, codes[episode.agency_id])


# --- events ---------------------------------------------------------------------------------


def event_read(e: CaseEvent, agency: str) -> EventRead:
    return EventRead(
        id=e.id,
        case_id=e.case_id,
        type=e.type,  # type: ignore[arg-type]
        service=e.service,  # type: ignore[arg-type]
        occurred_at=e.occurred_at,
        agency=agency,
        notes=e.notes,
        corrects=e.corrects_id,
        recorded_at=e.recorded_at,
        language_warnings=warnings([("notes", e.notes)]),
    )


async def create_event(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, body: EventCreate
) -> EventRead:
    if body.type == "referral" and body.service is None:
        raise field_error(["body", "service"], "is required for a referral")
    if body.type != "referral" and body.service is not None:
        raise field_error(["body", "service"], "is only given for a referral")
    case = await postable_case(session, principal, case_id)
    if body.corrects is not None:
        await _check_corrects(session, CaseEvent, body.corrects, case.id)
    event = CaseEvent(
        case_id=case.id,
        agency_id=principal.agency_id,
        type=body.type.value,
        service=body.service.value if body.service else None,
        occurred_at=body.occurred_at,
        notes=body.notes,
        corrects_id=body.corrects,
        recorded_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    await involve(session, case.id, principal.agency_id)
    return event_read(event, principal.agency_code)


async def list_events(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[EventRead]:
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    rows, next_cursor = await _newest_first(
        session,
        select(CaseEvent).where(CaseEvent.case_id == case.id),
        CaseEvent.occurred_at,
        CaseEvent.id,
        limit,
        cursor,
    )
    codes = await agency_codes(session, (e.agency_id for e in rows))
    return Page[EventRead](
        items=[event_read(e, codes[e.agency_id]) for e in rows], next_cursor=next_cursor
    )


# --- flags ----------------------------------------------------------------------------------


def flag_read(flag: Flag) -> FlagRead:
    return FlagRead(
        code=flag.code,
        severity=flag.severity,
        since=flag.since,
        detail=flag.detail,
        evidence=list(flag.evidence),
    )


def check_flag_code(code: str | None, loc: list[str | int]) -> None:
    if code is not None and code not in FLAG_CODES:
        raise field_error(loc, f"unknown flag code {code!r}; known: {', '.join(FLAG_CODES)}")


async def case_flags(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> list[FlagRead]:
    principal.require("case.read")
    case = await readable_case(session, principal, case_id)
    at = utcnow()
    flags = await flags_for_cases(session, [case.id], at, Window.ending(at))
    return [flag_read(f) for f in flags[case.id]]


async def flagged_cases(
    session: AsyncSession,
    principal: Principal,
    *,
    code: str | None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[CaseFlags]:
    """Readable cases carrying a flag (of `code`, if given) as of now, newest case first."""
    principal.require("case.read")
    check_flag_code(code, ["query", "code"])
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(Case).where(readable_case_clause(principal, Case.id))
    if cursor:
        created, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Case.created_at < created, and_(Case.created_at == created, Case.id < last_id))
        )
    at = utcnow()
    found, more = await scan_flagged(
        session, stmt, code=code, limit=limit, at=at, window=Window.ending(at)
    )
    items = [
        CaseFlags(
            case_id=case.id,
            pseudonym=case.pseudonym,
            risk_level=case.current_level,
            flags=[flag_read(f) for f in flags],
        )
        for case, flags in found
    ]
    next_cursor = encode_cursor(found[-1][0].created_at, found[-1][0].id) if more else None
    return Page[CaseFlags](items=items, next_cursor=next_cursor)
