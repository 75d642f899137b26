"""Set-based flag evaluation: SQL over all cases narrows to the candidates, the rules decide.

For each flag rule, one SQL condition that every case carrying that flag at `at` must meet
(a *necessary* condition, read off the rule in `app/risk/flags.py`). The candidate query
ORs the conditions of the codes asked for, over all cases at once, using the time indexes;
the per-case rules then run on the candidates only. So the rules stay the single source of
truth: the SQL can only leave out cases the rules would not flag, and a test checks that
this path and the per-case path give the same flags on the synthetic partnership.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from app.models import (
    Action,
    Assessment,
    Case,
    CaseEvent,
    Decision,
    MissingEpisode,
    RiskToolVersion,
)
from app.risk.evaluation import load_case_records
from app.risk.flags import (
    CRIMINALISING_EVENTS,
    DISAGREEMENT_PERIOD,
    EDUCATION_PERIOD,
    FLAG_CODES,
    NO_ASSESSMENT_WORKING_DAYS,
    NO_PROGRESS,
    PLACEMENT_COUNT,
    PLACEMENT_PERIOD,
    REPEAT_MISSING_COUNT,
    REPEAT_MISSING_PERIOD,
    RETURN_INTERVIEW_DUE,
    Flag,
    Window,
    evaluate,
    london_date,
)
from app.risk.tool import cached_referral_needs, remember_referral_needs

BATCH = 1000  # candidate cases loaded and evaluated per round of queries

A, E, V, C = Assessment, MissingEpisode, CaseEvent, Case


def _known_assessment(at: dt.datetime) -> ColumnElement[bool]:
    return and_(A.recorded_at <= at, A.assessed_at <= at)


def _known_episode(at: dt.datetime) -> ColumnElement[bool]:
    return and_(E.recorded_at <= at, E.started_at <= at)


def _known_event(at: dt.datetime) -> ColumnElement[bool]:
    return and_(V.recorded_at <= at, V.occurred_at <= at)


def _in_window(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column > window.start, column <= window.end)


def _open_at(at: dt.datetime) -> ColumnElement[bool]:
    # A superset of "open as of `at`": the loader settles it from the status history.
    return or_(C.status == "open", C.closed_at.is_(None), C.closed_at > at)


def latest_assessment_id(at: dt.datetime) -> Any:
    """Correlated: the id of each case's latest assessment known at `at` (one index probe)."""
    return (
        select(A.id)
        .where(A.case_id == C.id, _known_assessment(at))
        .order_by(A.assessed_at.desc(), A.recorded_at.desc(), A.id.desc())
        .limit(1)
        .correlate(C)
        .scalar_subquery()
    )


def _needs_pairs(needs: Iterable[dict[str, str]]) -> dict[str, set[str]]:
    by_service: dict[str, set[str]] = {}
    for version_needs in needs:
        for code, service in version_needs.items():
            by_service.setdefault(service, set()).add(code)
    return by_service


_LATEST_COLUMNS = (
    "agency_id",
    "recorded_at",
    "tool_version",
    "level",
    "calculated_level",
    "judgement_level",
    "next_review_due",
    "indicators",
    "assessed_at",
)


def _cases_with_latest(dialect: str, at: dt.datetime, open_only: bool) -> Any:
    """Each case (open at `at`, if asked) with its latest assessment known at `at`.

    PostgreSQL: a LATERAL join, one backward index probe per case. Elsewhere: the latest id by
    a correlated subquery, then a primary-key join (SQLite joins by nested loops anyway).
    """
    known_case = and_(C.created_at <= at, _open_at(at) if open_only else true())
    if dialect == "postgresql":
        latest = (
            select(A.id, *(getattr(A, name) for name in _LATEST_COLUMNS))
            .where(A.case_id == C.id, _known_assessment(at))
            .order_by(A.assessed_at.desc(), A.recorded_at.desc(), A.id.desc())
            .limit(1)
            .lateral("latest")
        )
        return (
            select(
                C.id.label("case_id"),
                C.created_at.label("created_at"),
                latest.c.id.label("latest_id"),
                *(latest.c[name] for name in _LATEST_COLUMNS),
            )
            .select_from(C.__table__.outerjoin(latest, true()))
            .where(known_case)
            .subquery("base")
        )
    ids = (
        select(
            C.id.label("case_id"),
            C.created_at.label("created_at"),
            latest_assessment_id(at).label("latest_id"),
        )
        .where(known_case)
        .subquery("ids")
    )
    latest = A.__table__.alias("latest")
    return (
        select(
            ids.c.case_id,
            ids.c.created_at,
            ids.c.latest_id,
            *(latest.c[name] for name in _LATEST_COLUMNS),
        )
        .select_from(ids.outerjoin(latest, latest.c.id == ids.c.latest_id))
        .subquery("base")
    )


def candidate_query(
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    needs: dict[str, set[str]],
    open_only: bool,
    dialect: str,
) -> Select[tuple[uuid.UUID]]:
    """Ids of the cases that may carry one of `codes` at `at` (a superset; never fewer)."""
    unknown = set(codes) - set(FLAG_CODES)
    if unknown:
        raise ValueError(f"unknown flag codes: {sorted(unknown)}")
    base = _cases_with_latest(dialect, at, open_only)
    lc = base.c
    case_id = base.c.case_id

    def episodes_where(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
        return case_id.in_(select(E.case_id).where(_known_episode(at), *clauses))

    def events_where(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
        return case_id.in_(select(V.case_id).where(_known_event(at), *clauses))

    def assessments_where(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
        return case_id.in_(select(A.case_id).where(_known_assessment(at), *clauses))

    level_changed = or_(
        assessments_where(A.recorded_at > window.start),
        assessments_where(A.assessed_at > window.start),
    )
    conditions: dict[str, ColumnElement[bool]] = {
        "new_referral": _in_window(lc.created_at, window),
        "risk_escalated": level_changed,
        "risk_reduced": level_changed,
        "new_missing_episode": or_(
            episodes_where(_in_window(E.started_at, window)),
            episodes_where(_in_window(E.recorded_at, window)),
        ),
        "currently_missing": episodes_where(
            or_(
                E.ended_at.is_(None),
                E.ended_at > at,
                func.coalesce(E.ended_recorded_at, E.recorded_at) > at,
            )
        ),
        "repeat_missing": case_id.in_(
            select(E.case_id)
            .where(_known_episode(at), E.started_at >= at - REPEAT_MISSING_PERIOD)
            .group_by(E.case_id)
            .having(func.count() >= REPEAT_MISSING_COUNT)
        ),
        "return_interview_overdue": episodes_where(
            E.ended_at < at - RETURN_INTERVIEW_DUE,
            func.coalesce(E.ended_recorded_at, E.recorded_at) <= at,
            or_(
                E.return_interview_at.is_(None),
                E.return_interview_at > at,
                func.coalesce(E.return_interview_recorded_at, E.recorded_at) > at,
            ),
        ),
        "assessment_overdue": lc.next_review_due < at,
        # 5 working days are at least 5 calendar days.
        "no_assessment": and_(
            lc.latest_id.is_(None),
            lc.created_at < at - dt.timedelta(days=NO_ASSESSMENT_WORKING_DAYS),
        ),
        "judgement_below_tool": and_(
            lc.judgement_level.is_not(None), lc.judgement_level != lc.calculated_level
        ),
        "assessor_disagreement": case_id.in_(
            select(A.case_id)
            .where(_known_assessment(at), A.assessed_at >= at - DISAGREEMENT_PERIOD)
            .group_by(A.case_id)
            .having(func.count(A.agency_id.distinct()) >= 2)
        ),
        "unaddressed_indicator": or_(
            false(),
            *(
                and_(
                    or_(*(cast(lc.indicators, Text).like(f'%"{code}"%') for code in sorted(ind))),
                    ~exists(
                        select(V.id).where(
                            V.case_id == case_id,
                            V.type == "referral",
                            V.service == service,
                            _known_event(at),
                            V.occurred_at >= lc.assessed_at,
                        )
                    ),
                )
                for service, ind in sorted(needs.items())
            ),
        ),
        "criminalised_victim": and_(
            lc.level.in_(("medium", "high")),
            or_(
                events_where(
                    V.type.in_(sorted(CRIMINALISING_EVENTS)), _in_window(V.occurred_at, window)
                ),
                events_where(
                    V.type.in_(sorted(CRIMINALISING_EVENTS)), _in_window(V.recorded_at, window)
                ),
            ),
        ),
        "placement_instability": case_id.in_(
            select(V.case_id)
            .where(
                _known_event(at),
                V.type == "placement_move",
                V.occurred_at >= at - PLACEMENT_PERIOD,
            )
            .group_by(V.case_id)
            .having(func.count() >= PLACEMENT_COUNT)
        ),
        "missing_education": events_where(
            V.type.in_(("missing_education", "education_exclusion")),
            V.occurred_at >= at - EDUCATION_PERIOD,
        ),
        "actions_overdue": case_id.in_(
            select(Action.case_id).where(
                Action.created_at <= at,
                Action.due_date < london_date(at),
                # As the loader reads it: a status changed after `at` was still open then.
                or_(Action.status == "open", Action.status_changed_at > at),
            )
        ),
        # High now, or a known decision that could be the last one of a stalled case (it
        # marked it stalled, or recorded no progress).
        "stalled": or_(
            lc.level == "high",
            case_id.in_(
                select(Decision.case_id).where(
                    Decision.recorded_at <= at,
                    or_(Decision.stalled.is_(True), Decision.progress.in_(sorted(NO_PROGRESS))),
                )
            ),
        ),
        "language_concern": or_(
            assessments_where(
                _in_window(A.recorded_at, window),
                or_(A.notes.is_not(None), A.judgement_rationale.is_not(None)),
            ),
            episodes_where(_in_window(E.recorded_at, window), E.notes.is_not(None)),
            events_where(_in_window(V.recorded_at, window), V.notes.is_not(None)),
        ),
    }
    wanted = [conditions[code] for code in FLAG_CODES if code in codes]
    return select(case_id).where(or_(false(), *wanted)).order_by(case_id)


async def referral_needs_by_service(session: AsyncSession) -> dict[str, set[str]]:
    """service -> indicator codes needing it, over every stored tool version."""
    versions = list(await session.scalars(select(RiskToolVersion.version)))
    needs: list[dict[str, str]] = []
    missing = []
    for version in versions:
        cached = cached_referral_needs(version)
        if cached is None:
            missing.append(version)
        else:
            needs.append(cached)
    if missing:
        for row in await session.execute(
            select(RiskToolVersion.version, RiskToolVersion.definition).where(
                RiskToolVersion.version.in_(missing)
            )
        ):
            needs.append(remember_referral_needs(row.version, row.definition))
    return _needs_pairs(needs)


async def candidate_cases(
    session: AsyncSession,
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    open_only: bool = False,
) -> list[uuid.UUID]:
    needs = await referral_needs_by_service(session)
    stmt = candidate_query(
        codes, at, window, needs=needs, open_only=open_only, dialect=session.bind.dialect.name
    )
    return list(await session.scalars(stmt))


async def flagged_per_case(
    session: AsyncSession,
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    open_only: bool = False,
) -> dict[uuid.UUID, list[Flag]]:
    """The same answer by evaluating every case: the reference the set-based path must match."""
    wanted = set(codes)
    ids = list(await session.scalars(select(C.id).order_by(C.id)))
    out: dict[uuid.UUID, list[Flag]] = {}
    for n in range(0, len(ids), BATCH):
        records = await load_case_records(session, ids[n : n + BATCH], at)
        for case_id, r in records.items():
            if open_only and r.case.status != "open":
                continue
            flags = [f for f in evaluate(r, at, window) if f.code in wanted]
            if flags:
                out[case_id] = flags
    return out
