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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from app.db import UTCDateTime
from app.meetings.facts import meeting_facts
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
    c, s, a, e, v = (
        Case.__table__.c,
        CaseStatusChange.__table__.c,
        Assessment.__table__.c,
        MissingEpisode.__table__.c,
        CaseEvent.__table__.c,
    )
    return _LoaderStatements(
        cases=sa_select(c.id, c.created_at, c.status).where(
            _among_ids(dialect, c.id), c.created_at <= at
        ),
        status=sa_select(s.case_id, s.status)
        .where(_among_ids(dialect, s.case_id), s.recorded_at <= at, s.occurred_at <= at)
        .order_by(s.occurred_at, s.recorded_at),
        assessments=sa_select(
            a.id,
            a.case_id,
            a.agency_id,
            a.assessed_at,
            a.recorded_at,
            a.level,
            a.calculated_level,
            a.judgement_level,
            a.next_review_due,
            a.score,
            a.indicators,
            a.tool_version,
            a.judgement_rationale,
            a.notes,
        ).where(_among_ids(dialect, a.case_id), a.recorded_at <= at, a.assessed_at <= at),
        episodes=sa_select(
            e.id,
            e.case_id,
            e.started_at,
            e.recorded_at,
            e.kind,
            e.ended_at,
            e.ended_recorded_at,
            e.return_interview_at,
            e.return_interview_recorded_at,
            e.notes,
        ).where(_among_ids(dialect, e.case_id), e.recorded_at <= at, e.started_at <= at),
        events=sa_select(
            v.id, v.case_id, v.type, v.occurred_at, v.recorded_at, v.service, v.notes
        ).where(_among_ids(dialect, v.case_id), v.recorded_at <= at, v.occurred_at <= at),
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
        tool_needs = needs.get(a.tool_version, {})
        assessments[a.case_id].append(
            AssessmentFacts(
                id=a.id,
                agency_id=a.agency_id,
                assessed_at=a.assessed_at,
                recorded_at=a.recorded_at,
                level=a.level,
                calculated_level=a.calculated_level,
                judgement_level=a.judgement_level,
                next_review_due=a.next_review_due,
                score=a.score,
                indicators=tuple(a.indicators),
                referral_needs=tuple(
                    (code, tool_needs[code]) for code in a.indicators if code in tool_needs
                ),
                free_text=_texts(a.judgement_rationale, a.notes),
            )
        )

    episodes: dict[uuid.UUID, list[EpisodeFacts]] = defaultdict(list)
    for e in await connection.execute(statements.episodes, params):
        ended_known = (
            e.ended_at is not None
            and e.ended_at <= at
            and (e.ended_recorded_at or e.recorded_at) <= at
        )
        interview_known = (
            e.return_interview_at is not None
            and e.return_interview_at <= at
            and (e.return_interview_recorded_at or e.recorded_at) <= at
        )
        episodes[e.case_id].append(
            EpisodeFacts(
                id=e.id,
                started_at=e.started_at,
                recorded_at=e.recorded_at,
                kind=e.kind,
                ended_at=e.ended_at if ended_known else None,
                return_interview_at=e.return_interview_at if interview_known else None,
                free_text=_texts(e.notes),
            )
        )

    events: dict[uuid.UUID, list[EventFacts]] = defaultdict(list)
    for ev in await connection.execute(statements.events, params):
        events[ev.case_id].append(
            EventFacts(
                id=ev.id,
                type=ev.type,
                occurred_at=ev.occurred_at,
                recorded_at=ev.recorded_at,
                service=ev.service,
                free_text=_texts(ev.notes),
            )
        )

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
