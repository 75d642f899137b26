"""Loading cases' records as of a moment, and evaluating the flag rules over them.

`load_case_records` runs a fixed number of queries whatever the number of cases (the ids
travel as one array parameter), and keeps only what the register knew at `at`: records
recorded at or before it and happening at or before it; an episode's end and return
interview count only once they were recorded. So an agenda computed as of a cutoff is
reproducible however many records arrive later.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, any_, bindparam, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from app.db import UTCDateTime
from app.meetings.facts import action_facts, decision_facts, meeting_facts, meeting_record_arrays
from app.models import (
    Assessment,
    Case,
    CaseEvent,
    CaseStatusChange,
    MissingEpisode,
    RiskToolVersion,
)
from app.risk.flags import (
    AssessmentFacts,
    CaseFacts,
    CaseRecords,
    EpisodeFacts,
    EventFacts,
    Flag,
    Window,
    evaluate,
)
from app.risk.tool import cached_referral_needs, remember_referral_needs


def among(session: AsyncSession, column: Any, ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """`column IN ids` as a single bound parameter, so the statement is the same for any count."""
    if session.bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, value=list(ids), type_=ARRAY(Uuid())))  # type: ignore[no-any-return]
    # SQLite stores UUIDs as 32 hex digits; json_each unpacks one JSON array parameter.
    packed = bindparam(None, value=json.dumps([i.hex for i in ids]))
    return column.in_(sa_select(literal_column("value")).select_from(func.json_each(packed)))  # type: ignore[no-any-return]


def _texts(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)


def _ids_param(dialect: str, ids: Sequence[uuid.UUID]) -> Any:
    return list(ids) if dialect == "postgresql" else json.dumps([i.hex for i in ids])


def _among_ids(dialect: str, column: Any) -> ColumnElement[bool]:
    """`column IN :ids` with the ids as one bound parameter named `ids` (see `_ids_param`)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Uuid())))  # type: ignore[no-any-return]
    unpacked = sa_select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
    return column.in_(unpacked)  # type: ignore[no-any-return]


_c, _s, _a, _e, _v = (
    Case.__table__.c,
    CaseStatusChange.__table__.c,
    Assessment.__table__.c,
    MissingEpisode.__table__.c,
    CaseEvent.__table__.c,
)
# What the loader reads of each table, in the order the `*_facts` helpers below unpack.
STATUS_COLUMNS = (_s.case_id, _s.status)
ASSESSMENT_COLUMNS = (
    _a.id,
    _a.case_id,
    _a.agency_id,
    _a.assessed_at,
    _a.recorded_at,
    _a.level,
    _a.calculated_level,
    _a.judgement_level,
    _a.next_review_due,
    _a.score,
    _a.indicators,
    _a.tool_version,
    _a.judgement_rationale,
    _a.notes,
)
EPISODE_COLUMNS = (
    _e.id,
    _e.case_id,
    _e.started_at,
    _e.recorded_at,
    _e.kind,
    _e.ended_at,
    _e.ended_recorded_at,
    _e.return_interview_at,
    _e.return_interview_recorded_at,
    _e.notes,
)
EVENT_COLUMNS = (_v.id, _v.case_id, _v.type, _v.occurred_at, _v.recorded_at, _v.service, _v.notes)
_STATUS_ORDER = (_s.occurred_at, _s.recorded_at)


# Records the register knew at `at` (the rules filter again; see the module docstring).
def _status_known(at: Any) -> tuple[ColumnElement[bool], ...]:
    return (_s.recorded_at <= at, _s.occurred_at <= at)


def _assessment_known(at: Any) -> tuple[ColumnElement[bool], ...]:
    return (_a.recorded_at <= at, _a.assessed_at <= at)


def _episode_known(at: Any) -> tuple[ColumnElement[bool], ...]:
    return (_e.recorded_at <= at, _e.started_at <= at)


def _event_known(at: Any) -> tuple[ColumnElement[bool], ...]:
    return (_v.recorded_at <= at, _v.occurred_at <= at)


@dataclass(frozen=True, slots=True)
class _LoaderStatements:
    cases: Select[Any]
    status: Select[Any]
    assessments: Select[Any]
    episodes: Select[Any]
    events: Select[Any]


@cache
def _statements(dialect: str) -> _LoaderStatements:
    """The loader's statements, built once per dialect: only `ids` and `at` vary.

    Core column selects (not ORM entities), executed on the session's connection, so a
    request pays neither statement construction nor ORM instance building per row.
    """
    at = bindparam("at", type_=UTCDateTime())
    return _LoaderStatements(
        cases=sa_select(_c.id, _c.created_at, _c.status).where(
            _among_ids(dialect, _c.id), _c.created_at <= at
        ),
        status=sa_select(*STATUS_COLUMNS)
        .where(_among_ids(dialect, _s.case_id), *_status_known(at))
        .order_by(*_STATUS_ORDER),
        assessments=sa_select(*ASSESSMENT_COLUMNS).where(
            _among_ids(dialect, _a.case_id), *_assessment_known(at)
        ),
        episodes=sa_select(*EPISODE_COLUMNS).where(
            _among_ids(dialect, _e.case_id), *_episode_known(at)
        ),
        events=sa_select(*EVENT_COLUMNS).where(_among_ids(dialect, _v.case_id), *_event_known(at)),
    )


def _rows_of(columns: Sequence[Any], *where: Any, order_by: Sequence[Any] = ()) -> Any:
    row = func.row(*columns)
    return (
        sa_select(func.array_agg(aggregate_order_by(row, *order_by) if order_by else row))
        .where(*where)
        .scalar_subquery()
    )


def record_arrays(case_id: Any, at: Any) -> list[Any]:
    """PostgreSQL: one case's records, read as `load_case_records` reads them, as arrays of
    rows (scalar subqueries correlated on `case_id`), so a case and everything its flags need
    come back in one statement. `records_from_arrays` turns them into `CaseRecords`."""
    return [
        _rows_of(STATUS_COLUMNS, _s.case_id == case_id, *_status_known(at), order_by=_STATUS_ORDER),
        _rows_of(ASSESSMENT_COLUMNS, _a.case_id == case_id, *_assessment_known(at)),
        _rows_of(EPISODE_COLUMNS, _e.case_id == case_id, *_episode_known(at)),
        _rows_of(EVENT_COLUMNS, _v.case_id == case_id, *_event_known(at)),
        *meeting_record_arrays(case_id, at),
    ]


def _assessment_facts(row: Sequence[Any], needs: dict[str, dict[str, str]]) -> AssessmentFacts:
    (
        id_,
        _,
        agency_id,
        assessed_at,
        recorded_at,
        level,
        calculated_level,
        judgement_level,
        next_review_due,
        score,
        indicators,
        tool_version,
        judgement_rationale,
        notes,
    ) = row
    tool_needs = needs.get(tool_version, {})
    return AssessmentFacts(
        id=id_,
        agency_id=agency_id,
        assessed_at=assessed_at,
        recorded_at=recorded_at,
        level=level,
        calculated_level=calculated_level,
        judgement_level=judgement_level,
        next_review_due=next_review_due,
        score=score,
        indicators=tuple(indicators),
        referral_needs=tuple((code, tool_needs[code]) for code in indicators if code in tool_needs),
        free_text=_texts(judgement_rationale, notes),
    )


def _episode_facts(row: Sequence[Any], at: dt.datetime) -> EpisodeFacts:
    (
        id_,
        _,
        started_at,
        recorded_at,
        kind,
        ended_at,
        ended_recorded_at,
        interview_at,
        interview_recorded_at,
        notes,
    ) = row
    ended_known = (
        ended_at is not None and ended_at <= at and (ended_recorded_at or recorded_at) <= at
    )
    interview_known = (
        interview_at is not None
        and interview_at <= at
        and (interview_recorded_at or recorded_at) <= at
    )
    return EpisodeFacts(
        id=id_,
        started_at=started_at,
        recorded_at=recorded_at,
        kind=kind,
        ended_at=ended_at if ended_known else None,
        return_interview_at=interview_at if interview_known else None,
        free_text=_texts(notes),
    )


def _event_facts(row: Sequence[Any]) -> EventFacts:
    id_, _, type_, occurred_at, recorded_at, service, notes = row
    return EventFacts(
        id=id_,
        type=type_,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        service=service,
        free_text=_texts(notes),
    )


async def case_status_at(
    session: AsyncSession, case_ids: Sequence[uuid.UUID], at: dt.datetime, *, known: bool = False
) -> dict[uuid.UUID, str]:
    """Each case's status as the register knew it at `at`; cases created later are absent,
    unless the caller already `known`s them all to be created by then."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    connection = await session.connection()
    statements = _statements(connection.dialect.name)
    params = {"ids": _ids_param(connection.dialect.name, ids), "at": at}
    if known:
        status = dict.fromkeys(ids, "open")
    else:
        status = {row[0]: "open" for row in await connection.execute(statements.cases, params)}
    for case_id, state in await connection.execute(statements.status, params):
        if case_id in status:
            status[case_id] = state
    return status


async def _referral_needs(session: AsyncSession, versions: set[str]) -> dict[str, dict[str, str]]:
    """indicator -> referral service for each tool version; versions never change content."""
    needs = {v: cached for v in versions if (cached := cached_referral_needs(v)) is not None}
    missing = sorted(versions - set(needs))
    if missing:
        for row in await session.execute(
            sa_select(RiskToolVersion.version, RiskToolVersion.definition).where(
                RiskToolVersion.version.in_(missing)
            )
        ):
            needs[row.version] = remember_referral_needs(row.version, row.definition)
    return needs


async def load_case_records(
    session: AsyncSession,
    case_ids: Sequence[uuid.UUID],
    at: dt.datetime,
    *,
    known: Sequence[tuple[uuid.UUID, dt.datetime, str]] | None = None,
) -> dict[uuid.UUID, CaseRecords]:
    """The records of each case as the register knew them at `at`.

    Cases created after `at` are absent from the result. `actions` and `decisions` come from
    the meetings tables (`app.meetings.facts`), under the same as-of rule. A caller that
    already holds the cases may pass `known` as (id, created_at, status) to save a query.
    """
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    connection = await session.connection()
    dialect = connection.dialect.name
    statements = _statements(dialect)
    params = {"ids": _ids_param(dialect, ids), "at": at}
    if known is None:
        known = [tuple(r) for r in await connection.execute(statements.cases, params)]  # type: ignore[misc]
    cases = {case_id: created for case_id, created, _ in known if created <= at}
    if not cases:
        return {}
    status: dict[uuid.UUID, str] = {}
    for case_id, state in await connection.execute(statements.status, params):
        status[case_id] = state

    assessment_rows = list(await connection.execute(statements.assessments, params))
    needs = await _referral_needs(session, {r.tool_version for r in assessment_rows})
    assessments: dict[uuid.UUID, list[AssessmentFacts]] = defaultdict(list)
    for a in assessment_rows:
        assessments[a.case_id].append(_assessment_facts(a, needs))

    episodes: dict[uuid.UUID, list[EpisodeFacts]] = defaultdict(list)
    for e in await connection.execute(statements.episodes, params):
        episodes[e.case_id].append(_episode_facts(e, at))

    events: dict[uuid.UUID, list[EventFacts]] = defaultdict(list)
    for ev in await connection.execute(statements.events, params):
        events[ev.case_id].append(_event_facts(ev))

    actions, decisions = await meeting_facts(session, ids, at, among)
    return {
        case_id: CaseRecords(
            case=CaseFacts(id=case_id, status=status.get(case_id, "open"), created_at=created),
            assessments=tuple(assessments[case_id]),
            episodes=tuple(episodes[case_id]),
            events=tuple(events[case_id]),
            actions=actions.get(case_id, ()),
            decisions=decisions.get(case_id, ()),
        )
        for case_id, created in cases.items()
    }


async def records_from_arrays(
    session: AsyncSession,
    case_id: uuid.UUID,
    created_at: dt.datetime,
    arrays: Sequence[Any],
    at: dt.datetime,
) -> CaseRecords | None:
    """`load_case_records` for one case, from the values of its `record_arrays` (read with
    `at` through asyncpg, which decodes rows of known columns); None for a case not yet
    created at `at`."""
    if created_at > at:
        return None
    status_rows, assessment_rows, episode_rows, event_rows, action_rows, decision_rows = (
        rows or () for rows in arrays
    )
    status = "open"
    for _, state in status_rows:  # in order: the last change known at `at` holds
        status = state
    # asyncpg decodes JSON inside a row with the connection's codec (SQLAlchemy's: parsed).
    assessment_rows = [
        (*r[:10], json.loads(r[10]), *r[11:]) if isinstance(r[10], str) else r
        for r in assessment_rows
    ]
    needs = await _referral_needs(session, {r[11] for r in assessment_rows})
    return CaseRecords(
        case=CaseFacts(id=case_id, status=status, created_at=created_at),
        assessments=tuple(_assessment_facts(r, needs) for r in assessment_rows),
        episodes=tuple(_episode_facts(r, at) for r in episode_rows),
        events=tuple(_event_facts(r) for r in event_rows),
        actions=tuple(action_facts(*r, at) for r in action_rows),
        decisions=tuple(decision_facts(*r) for r in decision_rows),
    )


async def flags_for_cases(
    session: AsyncSession, case_ids: Sequence[uuid.UUID], at: dt.datetime, window: Window
) -> dict[uuid.UUID, list[Flag]]:
    """Flags as of `at` for each case (an empty list for a case not yet created at `at`)."""
    records = await load_case_records(session, case_ids, at)
    return {
        case_id: evaluate(records[case_id], at, window) if case_id in records else []
        for case_id in case_ids
    }


async def scan_flagged(
    session: AsyncSession,
    stmt: Select[tuple[Case]],
    *,
    code: str | None,
    limit: int,
    at: dt.datetime,
    window: Window,
    batch: int = 200,
) -> tuple[list[tuple[Case, list[Flag]]], bool]:
    """`stmt`'s cases newest first that carry a flag (of `code`, if given), up to `limit`;
    returns the matches (each with the matching flags) and whether more exist.

    For one code, its selection runs set-based over all cases (`app.risk.setbased`), so a
    rare flag costs one query, not a walk over every case; then `stmt` is paged over the
    cases found. For any flag, the walk evaluates batches of `stmt`'s cases until it has
    `limit` matches (most open cases carry some flag, so the walk is short).
    """
    if code is not None:
        from app.risk.setbased import flags_set_based  # setbased builds on this module

        flagged = await flags_set_based(session, {code}, at, window)
        if not flagged:
            return [], False
        page = list(
            (
                await session.scalars(
                    stmt.where(among(session, Case.id, sorted(flagged)))
                    .order_by(Case.created_at.desc(), Case.id.desc())
                    .limit(limit + 1)
                )
            ).all()
        )
        return [(case, flagged[case.id]) for case in page[:limit]], len(page) > limit
    found: list[tuple[Case, list[Flag]]] = []
    after: tuple[dt.datetime, uuid.UUID] | None = None
    while True:
        page = stmt
        if after is not None:
            page = page.where(
                or_(
                    Case.created_at < after[0],
                    and_(Case.created_at == after[0], Case.id < after[1]),
                )
            )
        cases = list(
            (
                await session.scalars(
                    page.order_by(Case.created_at.desc(), Case.id.desc()).limit(batch)
                )
            ).all()
        )
        if not cases:
            return found, False
        flags = await flags_for_cases(session, [c.id for c in cases], at, window)
        for case in cases:
            matching = flags[case.id]
            if matching:
                if len(found) == limit:
                    return found, True
                found.append((case, matching))
        if len(cases) < batch:
            return found, False
        after = (cases[-1].created_at, cases[-1].id)
