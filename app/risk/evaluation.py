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
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, any_, bindparam, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

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
from app.risk.tool import referral_needs


def among(session: AsyncSession, column: Any, ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """`column IN ids` as a single bound parameter, so the statement is the same for any count."""
    if session.bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, value=list(ids), type_=ARRAY(Uuid())))  # type: ignore[no-any-return]
    # SQLite stores UUIDs as 32 hex digits; json_each unpacks one JSON array parameter.
    packed = bindparam(None, value=json.dumps([i.hex for i in ids]))
    return column.in_(sa_select(literal_column("value")).select_from(func.json_each(packed)))  # type: ignore[no-any-return]


def _texts(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)


async def load_case_records(
    session: AsyncSession, case_ids: Sequence[uuid.UUID], at: dt.datetime
) -> dict[uuid.UUID, CaseRecords]:
    """The records of each case as the register knew them at `at`.

    Cases created after `at` are absent from the result. `actions` and `decisions` come from
    the meetings tables (`app.meetings.facts`), under the same as-of rule.
    """
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    cases = {
        row.id: row
        for row in await session.execute(
            sa_select(Case.id, Case.created_at, Case.status).where(
                among(session, Case.id, ids), Case.created_at <= at
            )
        )
    }
    if not cases:
        return {}
    status: dict[uuid.UUID, str] = {}
    for row in await session.execute(
        sa_select(CaseStatusChange.case_id, CaseStatusChange.status)
        .where(
            among(session, CaseStatusChange.case_id, ids),
            CaseStatusChange.recorded_at <= at,
            CaseStatusChange.occurred_at <= at,
        )
        .order_by(CaseStatusChange.occurred_at, CaseStatusChange.recorded_at)
    ):
        status[row.case_id] = row.status

    assessments_rows = list(
        (
            await session.scalars(
                sa_select(Assessment).where(
                    among(session, Assessment.case_id, ids),
                    Assessment.recorded_at <= at,
                    Assessment.assessed_at <= at,
                )
            )
        ).all()
    )
    versions = {a.tool_version for a in assessments_rows}
    needs: dict[str, dict[str, str]] = {}
    if versions:
        for row in await session.execute(
            sa_select(RiskToolVersion.version, RiskToolVersion.definition).where(
                RiskToolVersion.version.in_(sorted(versions))
            )
        ):
            needs[row.version] = referral_needs(row.definition)
    assessments: dict[uuid.UUID, list[AssessmentFacts]] = defaultdict(list)
    for a in assessments_rows:
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
    for e in await session.scalars(
        sa_select(MissingEpisode).where(
            among(session, MissingEpisode.case_id, ids),
            MissingEpisode.recorded_at <= at,
            MissingEpisode.started_at <= at,
        )
    ):
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
    for ev in await session.scalars(
        sa_select(CaseEvent).where(
            among(session, CaseEvent.case_id, ids),
            CaseEvent.recorded_at <= at,
            CaseEvent.occurred_at <= at,
        )
    ):
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
            case=CaseFacts(id=case_id, status=status.get(case_id, "open"), created_at=c.created_at),
            assessments=tuple(assessments[case_id]),
            episodes=tuple(episodes[case_id]),
            events=tuple(events[case_id]),
            actions=actions.get(case_id, ()),
            decisions=decisions.get(case_id, ()),
        )
        for case_id, c in cases.items()
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
    """Walk `stmt`'s cases newest first, keeping those with a flag (of `code`, if given).

    Flags are derived in Python, so the walk evaluates batches until it has `limit` matches
    or runs out: a fixed number of queries per batch. Returns the matches (each with the
    matching flags) and whether more exist.
    """
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
            matching = [f for f in flags[case.id] if code is None or f.code == code]
            if matching:
                if len(found) == limit:
                    return found, True
                found.append((case, matching))
        if len(cases) < batch:
            return found, False
        after = (cases[-1].created_at, cases[-1].id)
