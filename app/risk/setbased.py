"""Set-based flag evaluation: each rule's selection in SQL over all cases, formatted once.

A rule in `app/risk/flags.py` is a selection (which of a case's records bear on the flag at
T) and a formatter (`*_flag`: threshold, `since`, wording, evidence). Here each selection is
one SQL statement over every case at once, using the time indexes, returning only the rows
behind flags (not every case's history); the rows go to the very same formatters. So the
wording and the thresholds are written once. Tests check that this path and the per-case
path (`evaluate`) give identical flags and agendas on a seeded partnership at several moments
(tests/test_set_based_flags.py), and on records placed exactly on every time boundary
(tests/test_set_based_boundaries.py).

"Known at T" follows the loader (`app.risk.evaluation`): a record counts once it was recorded
and had happened by T. Each case's current assessment is read from its copy on `cases`
(`current_*`), except for cases with an assessment recorded or made after T, whose latest
known at T is searched for. Used by the agenda builders (`app.meetings.agenda`) and the flag
lists for one code (`scan_flagged`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer, Text

from app.models import (
    Action,
    Assessment,
    Case,
    CaseEvent,
    Decision,
    MissingEpisode,
    RiskToolVersion,
)
from app.risk.evaluation import _referral_needs, among, case_status_at
from app.risk.flags import (
    CRIMINALISING_EVENTS,
    DISAGREEMENT_LEVELS,
    DISAGREEMENT_PERIOD,
    EDUCATION_EVENTS,
    EDUCATION_PERIOD,
    FLAG_CODES,
    NO_ASSESSMENT_WORKING_DAYS,
    NO_PROGRESS,
    PLACEMENT_COUNT,
    PLACEMENT_PERIOD,
    REPEAT_MISSING_COUNT,
    REPEAT_MISSING_PERIOD,
    RETURN_INTERVIEW_DUE,
    STALLED_HIGH_PERIOD,
    ActionFacts,
    AssessmentFacts,
    DecisionFacts,
    EpisodeFacts,
    EventFacts,
    Flag,
    IndicatorGap,
    TextRecord,
    Window,
    actions_overdue_flag,
    assessment_overdue_flag,
    assessor_disagreement_flag,
    criminalised_victim_flag,
    currently_missing_flag,
    judgement_below_tool_flag,
    language_concern_flag,
    london_date,
    missing_education_flag,
    new_missing_episode_flag,
    new_referral_flag,
    no_assessment_flag,
    placement_instability_flag,
    repeat_missing_flag,
    return_interview_overdue_flag,
    risk_escalated_flag,
    risk_reduced_flag,
    stalled_flag,
    unaddressed_indicator_flag,
)
from app.risk.tool import LEVEL_ORDER

A, E, V, C = (
    Assessment.__table__.c,
    MissingEpisode.__table__.c,
    CaseEvent.__table__.c,
    Case.__table__.c,
)

CATALOGUE_ORDER = {code: n for n, code in enumerate(FLAG_CODES)}
Found = dict[uuid.UUID, dict[str, Flag]]  # case -> code -> flag


# --- what the register knew at T (the loader's rules, in SQL) -------------------------------


def _known_assessment(at: dt.datetime, a: Any = A) -> ColumnElement[bool]:
    return and_(a.recorded_at <= at, a.assessed_at <= at)


def _open_at(at: dt.datetime) -> ColumnElement[bool]:
    """A superset of "open as of `at`": the status history settles it (`case_status_at`)."""
    return or_(C.status == "open", C.closed_at.is_(None), C.closed_at > at)


def latest_assessment_id(at: dt.datetime) -> Any:
    """Correlated to `cases`: the id of its latest assessment known at `at` (one index probe)."""
    return (
        select(A.id)
        .where(A.case_id == C.id, _known_assessment(at))
        .order_by(A.assessed_at.desc(), A.recorded_at.desc(), A.id.desc())
        .limit(1)
        .correlate(Case.__table__)
        .scalar_subquery()
    )


def _known_episode(at: dt.datetime) -> ColumnElement[bool]:
    return and_(E.recorded_at <= at, E.started_at <= at)


def _ended_known(at: dt.datetime) -> ColumnElement[bool]:
    return and_(
        E.ended_at.is_not(None),
        E.ended_at <= at,
        func.coalesce(E.ended_recorded_at, E.recorded_at) <= at,
    )


def _interview_known(at: dt.datetime) -> ColumnElement[bool]:
    return and_(
        E.return_interview_at.is_not(None),
        E.return_interview_at <= at,
        func.coalesce(E.return_interview_recorded_at, E.recorded_at) <= at,
    )


def _known_event(at: dt.datetime) -> ColumnElement[bool]:
    return and_(V.recorded_at <= at, V.occurred_at <= at)


def _in(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column > window.start, column <= window.end)


def _texts(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)


_ASSESSMENT_COLUMNS = (
    A.case_id,
    A.id,
    A.agency_id,
    A.assessed_at,
    A.recorded_at,
    A.level,
    A.calculated_level,
    A.judgement_level,
    A.next_review_due,
    # As text: decoded only where a rule reads them (`_indicators`), not for every row.
    cast(A.indicators, Text).label("indicators"),
    A.tool_version,
)


# Rows are read by position (the column order of the selects below): by name costs a lookup
# per field, which at 100,000 cases was a tenth of the build.


def _assessment(row: Any, *, indicators: bool = False) -> AssessmentFacts:
    """From a row starting with `_ASSESSMENT_COLUMNS`; its indicators only if asked."""
    _, id_, agency, assessed, recorded, level, calculated, judgement, due, text = row[:10]
    return AssessmentFacts(
        id=id_,
        agency_id=agency,
        assessed_at=assessed,
        recorded_at=recorded,
        level=level,
        calculated_level=calculated,
        judgement_level=judgement,
        next_review_due=due,
        indicators=tuple(json.loads(text)) if indicators and text else (),
    )


_EPISODE_COLUMNS = (E.case_id, E.id, E.started_at, E.recorded_at, E.kind)


def _episode(row: Any) -> EpisodeFacts:
    """From a row starting with `_EPISODE_COLUMNS`."""
    return EpisodeFacts(id=row[1], started_at=row[2], recorded_at=row[3], kind=row[4])


def _ended_episode(row: Any) -> EpisodeFacts:
    """From a row of `_EPISODE_COLUMNS` and `ended_at`."""
    return EpisodeFacts(
        id=row[1], started_at=row[2], recorded_at=row[3], kind=row[4], ended_at=row[5]
    )


_EVENT_COLUMNS = (V.case_id, V.id, V.type, V.occurred_at, V.recorded_at)


def _event(row: Any) -> EventFacts:
    """From a row starting with `_EVENT_COLUMNS`."""
    return EventFacts(id=row[1], type=row[2], occurred_at=row[3], recorded_at=row[4])


def _decision(row: Any) -> DecisionFacts:
    """From a row (case_id, id, meeting_kind, recorded_at, progress, stalled, escalate)."""
    return DecisionFacts(
        id=row[1],
        meeting_kind=row[2],
        recorded_at=row[3],
        progress=row[4],
        stalled=bool(row[5]),
        escalate_to_mace=bool(row[6]),
    )


def _grouped(rows: Iterable[Any], make: Any) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(make(row))
    return out


class _Evaluation:
    """One set-based evaluation: the session, the moment, the window, and what was found."""

    def __init__(
        self, session: AsyncSession, at: dt.datetime, window: Window, *, open_only: bool
    ) -> None:
        self.session = session
        self.at = at
        self.window = window
        self.open_only = open_only
        self.found: Found = defaultdict(dict)

    def keep(self, case_id: uuid.UUID, flag: Flag | None) -> None:
        if flag is not None:
            self.found[case_id][flag.code] = flag

    def in_scope(self) -> ColumnElement[bool]:
        """Cases that exist at T (and, if asked, may be open then: a superset, settled later)."""
        return and_(C.created_at <= self.at, _open_at(self.at) if self.open_only else true())

    def scope(self, case_id: Any) -> ColumnElement[bool]:
        return case_id.in_(select(C.id).where(self.in_scope()))  # type: ignore[no-any-return]

    def unsettled(self) -> Select[Any]:
        """Cases with an assessment recorded or made after T: their current assessment (the
        copy on `cases`) may not be the latest known at T."""
        return select(A.case_id).where(or_(A.recorded_at > self.at, A.assessed_at > self.at))

    def current_ids(self, *cases_where: ColumnElement[bool]) -> Any:
        """(case_id, latest_id): each case's latest assessment known at T.

        A case none of whose assessments was recorded or made after T has its current
        assessment (`cases.current_assessment_id`) as its latest at T: one join, no search.
        The few others (for an agenda at its cutoff, those assessed since) are searched for
        their latest known at T, one index probe each.
        """
        at = self.at
        unsettled = self.unsettled()
        settled = select(C.id.label("case_id"), C.current_assessment_id.label("latest_id")).where(
            *cases_where, C.current_assessment_id.is_not(None), C.id.not_in(unsettled)
        )
        searched = select(C.id.label("case_id"), latest_assessment_id(at).label("latest_id")).where(
            *cases_where, C.id.in_(unsettled)
        )
        return union_all(settled, searched).subquery("current")

    async def rows(self, stmt: Select[Any]) -> Sequence[Any]:
        return (await self.session.execute(stmt)).all()

    async def latest_of(
        self, case_ids: Collection[uuid.UUID], moment: dt.datetime
    ) -> dict[uuid.UUID, AssessmentFacts]:
        """Each case's latest assessment known at `moment`."""
        if not case_ids:
            return {}
        among_ids = among(self.session, C.id, sorted(case_ids))
        if moment == self.at:
            current = self.current_ids(among_ids)
        else:
            current = (
                select(C.id.label("case_id"), latest_assessment_id(moment).label("latest_id"))
                .where(among_ids)
                .subquery("current")
            )
        stmt = select(*_ASSESSMENT_COLUMNS).join(current, current.c.latest_id == A.id)
        return {r.case_id: _assessment(r) for r in await self.rows(stmt)}

    async def case_facts(
        self, case_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, str, str | None]]:
        """(status, pseudonym, level) at T of each case created by then.

        One read of the cases: the level is the case's current level unless an assessment of
        it was recorded or made after T (then its latest known at T, by search); the status
        comes from the status history known at T (`case_status_at`).
        """
        if not case_ids:
            return {}
        at = self.at
        among_ids = among(self.session, C.id, sorted(case_ids))
        unsettled = self.unsettled()
        searched_level = select(A.level).where(A.id == latest_assessment_id(at)).scalar_subquery()
        stmt = select(
            C.id,
            C.pseudonym,
            case((C.id.in_(unsettled), searched_level), else_=C.current_level).label("level"),
        ).where(among_ids, C.created_at <= at)
        rows = await self.rows(stmt)
        status = await case_status_at(self.session, [r[0] for r in rows], at, known=True)
        return {case_id: (status[case_id], name, level) for case_id, name, level in rows}

    async def select(self, methods: Sequence[str], wanted: set[str]) -> None:
        for method in methods:
            if method in ("current_assessment", "level_changes"):
                await getattr(self, method)(wanted)
            else:
                await getattr(self, method)()

    # --- selections, one per rule ---------------------------------------------------------

    async def new_referral(self) -> None:
        stmt = select(C.id, C.created_at).where(_in(C.created_at, self.window), self.scope(C.id))
        for row in await self.rows(stmt):
            self.keep(row.id, new_referral_flag(row.id, row.created_at))

    async def level_changes(self, codes: Collection[str]) -> None:
        """risk_escalated, risk_reduced: only cases with an assessment new since the window
        began can have a level at T different from the level at its start."""
        at, window = self.at, self.window
        changed = select(A.case_id).where(
            _known_assessment(at),
            or_(A.recorded_at > window.start, A.assessed_at > window.start),
            self.scope(A.case_id),
        )
        ids = set((await self.session.scalars(changed.distinct())).all())
        now = await self.latest_of(ids, at)
        before = await self.latest_of(ids, window.start)
        for case_id, current in now.items():
            if "risk_escalated" in codes:
                self.keep(case_id, risk_escalated_flag(current, before.get(case_id), window))
            if "risk_reduced" in codes:
                self.keep(case_id, risk_reduced_flag(current, before.get(case_id)))

    async def new_missing_episode(self) -> None:
        at, window = self.at, self.window
        stmt = select(*_EPISODE_COLUMNS).where(
            _known_episode(at),
            or_(_in(E.started_at, window), _in(E.recorded_at, window)),
            self.scope(E.case_id),
        )
        for case_id, episodes in _grouped(await self.rows(stmt), _episode).items():
            self.keep(case_id, new_missing_episode_flag(episodes))

    async def currently_missing(self) -> None:
        at = self.at
        stmt = select(*_EPISODE_COLUMNS).where(
            _known_episode(at), ~_ended_known(at), self.scope(E.case_id)
        )
        for case_id, episodes in _grouped(await self.rows(stmt), _episode).items():
            self.keep(case_id, currently_missing_flag(episodes, at))

    async def repeat_missing(self) -> None:
        at = self.at
        recent = (
            select(
                E.case_id,
                E.id,
                E.started_at,
                E.recorded_at,
                E.kind,
                func.count().over(partition_by=E.case_id).label("n"),
            )
            .where(
                _known_episode(at),
                E.started_at >= at - REPEAT_MISSING_PERIOD,
                self.scope(E.case_id),
            )
            .subquery()
        )
        stmt = select(recent).where(recent.c.n >= REPEAT_MISSING_COUNT)
        for case_id, episodes in _grouped(await self.rows(stmt), _episode).items():
            self.keep(case_id, repeat_missing_flag(episodes))

    async def return_interview_overdue(self) -> None:
        at = self.at
        stmt = select(*_EPISODE_COLUMNS, E.ended_at).where(
            _known_episode(at),
            _ended_known(at),
            E.ended_at < at - RETURN_INTERVIEW_DUE,
            ~_interview_known(at),
            self.scope(E.case_id),
        )
        for case_id, episodes in _grouped(await self.rows(stmt), _ended_episode).items():
            self.keep(case_id, return_interview_overdue_flag(episodes))

    async def current_assessment(self, codes: Collection[str]) -> None:
        """assessment_overdue, judgement_below_tool, unaddressed_indicator: each case's current
        assessment, kept only where one of their conditions can hold."""
        at = self.at
        needs = await _all_referral_needs(self.session)
        need_codes = sorted({code for by in needs.values() for code in by})
        # Each condition twice: on the case's copy of its current assessment (cases settled at
        # T), and on the assessment found by search (cases with assessments after T).
        on_case: list[ColumnElement[bool]] = []
        on_found: list[ColumnElement[bool]] = []
        if "assessment_overdue" in codes:
            on_case.append(C.current_review_due < at)
            on_found.append(A.next_review_due < at)
        if "judgement_below_tool" in codes:
            on_case.append(C.current_judgement_differs.is_(True))
            on_found.append(
                and_(A.judgement_level.is_not(None), A.judgement_level != A.calculated_level)
            )
        if "unaddressed_indicator" in codes and need_codes:
            on_case.append(
                or_(*(cast(C.current_indicators, Text).like(f'%"{c}"%') for c in need_codes))
            )
            on_found.append(or_(*(cast(A.indicators, Text).like(f'%"{c}"%') for c in need_codes)))
        if not on_case:
            return
        unsettled = self.unsettled()
        # Two steps, so the current assessments are fetched by primary key (the planner would
        # otherwise hash-join the whole assessments table: about 0.1 s at 100,000 cases).
        settled_ids = [
            row[0]
            for row in await self.rows(
                select(C.current_assessment_id).where(
                    self.in_scope(), C.id.not_in(unsettled), or_(*on_case)
                )
            )
        ]
        settled = select(*_ASSESSMENT_COLUMNS).where(among(self.session, A.id, settled_ids))
        found = (
            select(C.id.label("case_id"), latest_assessment_id(at).label("latest_id"))
            .where(self.in_scope(), C.id.in_(unsettled))
            .subquery("found")
        )
        searched = (
            select(*_ASSESSMENT_COLUMNS)
            .join(found, found.c.latest_id == A.id)
            .where(or_(*on_found))
        )
        stmt = union_all(settled, searched)
        gaps_wanted: dict[uuid.UUID, tuple[AssessmentFacts, list[tuple[str, str]]]] = {}
        quoted_needs = [f'"{code}"' for code in need_codes]
        for row in await self.rows(stmt):
            has_needs = any(q in (row.indicators or "") for q in quoted_needs)
            current = _assessment(row, indicators=has_needs)
            if "assessment_overdue" in codes:
                self.keep(row.case_id, assessment_overdue_flag(current, at))
            if "judgement_below_tool" in codes:
                self.keep(row.case_id, judgement_below_tool_flag(current))
            version_needs = needs.get(row.tool_version, {})
            pairs = [(c, version_needs[c]) for c in current.indicators if c in version_needs]
            if "unaddressed_indicator" in codes and pairs:
                gaps_wanted[row.case_id] = (current, pairs)
        if gaps_wanted:
            await self.unaddressed_indicator(gaps_wanted)

    async def unaddressed_indicator(
        self, wanted: dict[uuid.UUID, tuple[AssessmentFacts, list[tuple[str, str]]]]
    ) -> None:
        """For each (indicator, service): the earliest known assessment recording it, for the
        cases whose current assessment has it, where no matching referral followed."""
        at = self.at
        by_pair: dict[tuple[str, str], list[uuid.UUID]] = defaultdict(list)
        for case_id, (_, pairs) in wanted.items():
            for pair in pairs:
                by_pair[pair].append(case_id)
        pairs = sorted(by_pair)

        def first_id(indicator: str) -> Any:
            """The earliest known assessment recording the indicator (a forward index probe)."""
            return (
                select(A.id)
                .where(
                    A.case_id == C.id,
                    _known_assessment(at),
                    cast(A.indicators, Text).like(f'%"{indicator}"%'),
                )
                .order_by(A.assessed_at, A.recorded_at, A.id)
                .limit(1)
                .correlate(Case.__table__)
                .scalar_subquery()
            )

        # Two round trips for all the pairs: the first assessments' ids, then those rows by
        # primary key where no matching referral followed (in one statement the planner
        # hash-joins the whole assessments table).
        firsts: dict[int, list[uuid.UUID]] = defaultdict(list)
        for n, found in await self.rows(
            union_all(
                *(
                    select(literal(n, Integer).label("pair"), first_id(indicator)).where(
                        among(self.session, C.id, sorted(by_pair[(indicator, service)]))
                    )
                    for n, (indicator, service) in enumerate(pairs)
                )
            )
        ):
            if found is not None:
                firsts[n].append(found)

        def unreferred(n: int, service: str) -> Select[Any]:
            referred = exists(
                select(literal_column("1")).where(
                    V.case_id == A.case_id,
                    V.type == "referral",
                    V.service == service,
                    _known_event(at),
                    V.occurred_at >= A.assessed_at,
                )
            )
            return select(literal(n, Integer).label("pair"), A.case_id, A.id, A.assessed_at).where(
                among(self.session, A.id, firsts[n]), ~referred
            )

        gaps: dict[uuid.UUID, list[IndicatorGap]] = defaultdict(list)
        if firsts:
            rows = await self.rows(union_all(*(unreferred(n, pairs[n][1]) for n in sorted(firsts))))
            for n, case_id, id_, assessed_at in rows:
                indicator, service = pairs[n]
                gaps[case_id].append(IndicatorGap(indicator, service, id_, assessed_at))
        for case_id, case_gaps in gaps.items():
            self.keep(case_id, unaddressed_indicator_flag(wanted[case_id][0], case_gaps, at))

    async def no_assessment(self) -> None:
        at = self.at
        any_known = exists(
            select(literal_column("1")).where(A.case_id == C.id, _known_assessment(at))
        )
        unsettled = self.unsettled()
        stmt = select(C.id, C.created_at).where(
            self.in_scope(),
            # 5 working days are at least 5 calendar days.
            C.created_at < at - dt.timedelta(days=NO_ASSESSMENT_WORKING_DAYS),
            or_(
                and_(C.current_assessment_id.is_(None), C.id.not_in(unsettled)),
                and_(C.id.in_(unsettled), ~any_known),
            ),
        )
        rows = await self.rows(stmt)
        status = await case_status_at(self.session, [r.id for r in rows], at)
        for row in rows:
            if status.get(row.id) == "open":
                self.keep(row.id, no_assessment_flag(row.id, row.created_at, at))

    async def assessor_disagreement(self) -> None:
        at = self.at
        recent = and_(
            _known_assessment(at),
            A.assessed_at >= at - DISAGREEMENT_PERIOD,
            self.scope(A.case_id),
        )
        ordered = func.row_number().over(
            partition_by=(A.case_id, A.agency_id),
            order_by=(A.assessed_at.desc(), A.recorded_at.desc(), A.id.desc()),
        )
        ranked = select(*_ASSESSMENT_COLUMNS, ordered.label("n")).where(recent).subquery()
        r = ranked.c
        level_rank = case(*((r.level == level, n) for n, level in enumerate(LEVEL_ORDER)))
        by_case = {"partition_by": r.case_id}
        latest = (
            select(
                *(r[c.name] for c in _ASSESSMENT_COLUMNS),
                func.count().over(**by_case).label("agencies"),
                (func.max(level_rank).over(**by_case) - func.min(level_rank).over(**by_case)).label(
                    "spread"
                ),
            )
            .where(r.n == 1)
            .subquery()
        )
        stmt = select(latest).where(latest.c.agencies >= 2, latest.c.spread >= DISAGREEMENT_LEVELS)
        for case_id, assessments in _grouped(await self.rows(stmt), _assessment).items():
            self.keep(case_id, assessor_disagreement_flag(assessments, at))

    async def criminalised_victim(self) -> None:
        at, window = self.at, self.window
        stmt = select(*_EVENT_COLUMNS).where(
            _known_event(at),
            V.type.in_(sorted(CRIMINALISING_EVENTS)),
            or_(_in(V.occurred_at, window), _in(V.recorded_at, window)),
            self.scope(V.case_id),
        )
        events = _grouped(await self.rows(stmt), _event)
        now = await self.latest_of(events.keys(), at)
        for case_id, case_events in events.items():
            if case_id in now:
                self.keep(case_id, criminalised_victim_flag(now[case_id], case_events))

    async def placement_instability(self) -> None:
        at = self.at
        moves = (
            select(
                V.case_id,
                V.id,
                V.type,
                V.occurred_at,
                V.recorded_at,
                func.count().over(partition_by=V.case_id).label("n"),
            )
            .where(
                _known_event(at),
                V.type == "placement_move",
                V.occurred_at >= at - PLACEMENT_PERIOD,
                self.scope(V.case_id),
            )
            .subquery()
        )
        stmt = select(moves).where(moves.c.n >= PLACEMENT_COUNT)
        for case_id, events in _grouped(await self.rows(stmt), _event).items():
            self.keep(case_id, placement_instability_flag(events))

    async def missing_education(self) -> None:
        at = self.at
        stmt = select(*_EVENT_COLUMNS).where(
            _known_event(at),
            V.type.in_(sorted(EDUCATION_EVENTS)),
            V.occurred_at >= at - EDUCATION_PERIOD,
            self.scope(V.case_id),
        )
        for case_id, events in _grouped(await self.rows(stmt), _event).items():
            self.keep(case_id, missing_education_flag(events))

    async def actions_overdue(self) -> None:
        at = self.at
        T = Action.__table__.c
        stmt = select(T.case_id, T.id, T.due_date, T.owner_agency_id).where(
            T.created_at <= at,
            T.due_date < london_date(at),
            # As the loader reads it: a status changed after `at` was still open then.
            or_(T.status == "open", T.status_changed_at > at),
            self.scope(T.case_id),
        )
        for case_id, actions in _grouped(
            await self.rows(stmt),
            lambda r: ActionFacts(id=r[1], status="open", due_date=r[2], owner_agency_id=r[3]),
        ).items():
            self.keep(case_id, actions_overdue_flag(actions))

    async def language_concern(self) -> None:
        at, window = self.at, self.window
        texts: dict[uuid.UUID, list[TextRecord]] = defaultdict(list)
        statements = (
            select(A.case_id, A.id, A.recorded_at, A.judgement_rationale, A.notes).where(
                _known_assessment(at),
                _in(A.recorded_at, window),
                or_(A.notes.is_not(None), A.judgement_rationale.is_not(None)),
            ),
            select(E.case_id, E.id, E.recorded_at, E.notes).where(
                _known_episode(at), _in(E.recorded_at, window), E.notes.is_not(None)
            ),
            select(V.case_id, V.id, V.recorded_at, V.notes).where(
                _known_event(at), _in(V.recorded_at, window), V.notes.is_not(None)
            ),
        )
        for stmt in statements:
            for row in await self.rows(stmt):
                texts[row[0]].append((row[1], row[2], _texts(*row[3:])))
        for case_id, records in texts.items():
            self.keep(case_id, language_concern_flag(records, at, window))

    async def stalled(self) -> None:
        """Two selections: the trailing run of high assessments of cases high at T that began
        at least 84 days before T, and the last two decisions of cases whose last two recorded
        no progress or whose last marked them stalled."""
        at = self.at
        unsettled = self.unsettled()
        high_now = or_(
            and_(C.current_level == "high", C.id.not_in(unsettled)),
            C.id.in_(unsettled),  # their latest known at T decides, below
        )
        newest_first = (A.assessed_at.desc(), A.recorded_at.desc(), A.id.desc())
        # Lower assessments at or after each one: zero along the trailing run of highs.
        lower_since = func.sum(case((A.level != "high", 1), else_=0)).over(
            partition_by=A.case_id, order_by=newest_first, rows=(None, 0)
        )
        ranked = (
            select(*_ASSESSMENT_COLUMNS, lower_since.label("lower"))
            .where(
                _known_assessment(at),
                A.case_id.in_(select(C.id).where(self.in_scope(), high_now)),
            )
            .subquery()
        )
        run = (
            select(
                *(ranked.c[c.name] for c in _ASSESSMENT_COLUMNS),
                func.min(ranked.c.assessed_at).over(partition_by=ranked.c.case_id).label("start"),
            )
            .where(ranked.c.lower == 0)
            .subquery()
        )
        runs = _grouped(
            await self.rows(select(run).where(run.c.start <= at - STALLED_HIGH_PERIOD)),
            _assessment,
        )
        D = Decision.__table__.c
        last = (
            select(
                D.case_id,
                D.id,
                D.meeting_kind,
                D.recorded_at,
                D.progress,
                D.stalled,
                D.escalate_to_mace,
                func.row_number()
                .over(partition_by=D.case_id, order_by=(D.recorded_at.desc(), D.id.desc()))
                .label("n"),
            )
            .where(D.recorded_at <= at, self.scope(D.case_id))
            .subquery()
        )
        by_case = {"partition_by": last.c.case_id}
        marked = (
            select(
                *(last.c[name] for name in ("case_id", "id", "meeting_kind", "recorded_at")),
                *(last.c[name] for name in ("progress", "stalled", "escalate_to_mace")),
                func.sum(case((last.c.progress.in_(sorted(NO_PROGRESS)), 1), else_=0))
                .over(**by_case)
                .label("no_progress"),
                func.max(case((and_(last.c.n == 1, last.c.stalled.is_(True)), 1), else_=0))
                .over(**by_case)
                .label("marked"),
            )
            .where(last.c.n <= 2)
            .subquery()
        )
        decisions = _grouped(
            await self.rows(
                select(marked).where(or_(marked.c.no_progress == 2, marked.c.marked == 1))
            ),
            _decision,
        )
        for case_id in runs.keys() | decisions.keys():
            self.keep(case_id, stalled_flag(runs.get(case_id, ()), decisions.get(case_id, ()), at))


# Each selection: the codes it answers, its method, and its cost in ms at 100,000 cases on
# PostgreSQL (each run alone, SQL and Python together), to share the selections
# between the two connections of `flagged_cases`.
_SELECTIONS: tuple[tuple[frozenset[str], str, int], ...] = (
    (
        frozenset({"assessment_overdue", "judgement_below_tool", "unaddressed_indicator"}),
        "current_assessment",
        520,
    ),
    (frozenset({"risk_escalated", "risk_reduced"}), "level_changes", 130),
    (frozenset({"no_assessment"}), "no_assessment", 45),
    (frozenset({"new_referral"}), "new_referral", 6),
    (frozenset({"criminalised_victim"}), "criminalised_victim", 24),
    (frozenset({"language_concern"}), "language_concern", 11),
    (frozenset({"currently_missing"}), "currently_missing", 45),
    (frozenset({"repeat_missing"}), "repeat_missing", 107),
    (frozenset({"placement_instability"}), "placement_instability", 111),
    (frozenset({"assessor_disagreement"}), "assessor_disagreement", 156),
    (frozenset({"actions_overdue"}), "actions_overdue", 61),
    (frozenset({"missing_education"}), "missing_education", 47),
    (frozenset({"return_interview_overdue"}), "return_interview_overdue", 48),
    (frozenset({"new_missing_episode"}), "new_missing_episode", 33),
    (frozenset({"stalled"}), "stalled", 530),
)


def _selections(wanted: set[str]) -> tuple[list[str], list[str]]:
    """The selections the codes need, in two groups of about equal cost (heaviest first)."""
    groups: tuple[list[str], list[str]] = ([], [])
    costs = [0, 0]
    needed = [(cost, method) for codes, method, cost in _SELECTIONS if codes & wanted]
    for cost, method in sorted(needed, key=lambda n: -n[0]):
        lighter = 0 if costs[0] <= costs[1] else 1
        groups[lighter].append(method)
        costs[lighter] += cost
    return groups


async def _all_referral_needs(session: AsyncSession) -> dict[str, dict[str, str]]:
    versions = set((await session.scalars(select(RiskToolVersion.version))).all())
    return await _referral_needs(session, versions)


@dataclass(frozen=True, slots=True)
class FlaggedCase:
    pseudonym: str
    level: str | None  # at T
    flags: list[Flag]  # in catalogue order


async def flagged_cases(
    session: AsyncSession,
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    open_only: bool = False,
) -> dict[uuid.UUID, FlaggedCase]:
    """Cases carrying one of `codes` at `at`, with those flags, pseudonym and level at `at`.

    Cases created after `at` never appear; with `open_only`, only cases open at `at`.
    """
    wanted = set(codes)
    unknown = wanted - set(FLAG_CODES)
    if unknown:
        raise ValueError(f"unknown flag codes: {sorted(unknown)}")
    ev = _Evaluation(session, at, window, open_only=open_only)
    first, second = _selections(wanted)
    if session.bind.dialect.name == "postgresql" and second:
        # Two connections: while PostgreSQL runs one group's statements, Python formats the
        # other group's rows. Each statement reads only records as of `at`, the same as one
        # connection's READ COMMITTED statements would (each takes its own snapshot anyway).
        async with AsyncSession(bind=session.bind) as other:
            ev_other = _Evaluation(other, at, window, open_only=open_only)
            await asyncio.gather(ev.select(first, wanted), ev_other.select(second, wanted))
        for case_id, by_code in ev_other.found.items():
            ev.found[case_id].update(by_code)
    else:
        await ev.select(first + second, wanted)
    if not ev.found:
        return {}
    facts = await ev.case_facts(ev.found.keys())
    out: dict[uuid.UUID, FlaggedCase] = {}
    for case_id, by_code in ev.found.items():
        fact = facts.get(case_id)
        if fact is None or (open_only and fact[0] != "open"):
            continue  # created after `at`, or not open then
        flags = list(by_code.values())
        if len(flags) > 1:
            flags.sort(key=lambda f: CATALOGUE_ORDER[f.code])
        out[case_id] = FlaggedCase(fact[1], fact[2], flags)
    return out


async def flags_set_based(
    session: AsyncSession,
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    open_only: bool = False,
) -> dict[uuid.UUID, list[Flag]]:
    """Cases carrying one of `codes` at `at`, each with those flags in catalogue order."""
    found = await flagged_cases(session, codes, at, window, open_only=open_only)
    return {case_id: case.flags for case_id, case in found.items()}


async def case_facts(
    session: AsyncSession, case_ids: Collection[uuid.UUID], at: dt.datetime
) -> dict[uuid.UUID, tuple[str, str, str | None]]:
    """(status, pseudonym, level) at `at` of each case created by then."""
    return await _Evaluation(session, at, Window(at, at), open_only=False).case_facts(case_ids)


@dataclass(frozen=True, slots=True)
class MaceCriteria:
    qualifying: set[uuid.UUID]  # high now, escalated, or owning an overdue MACE action
    current: dict[uuid.UUID, AssessmentFacts]  # the current assessment of the high ones
    escalations: dict[uuid.UUID, list[DecisionFacts]]  # DRAM escalations in the window


async def mace_criteria_set_based(
    session: AsyncSession, at: dt.datetime, window: Window
) -> MaceCriteria:
    """The MACE criteria other than `stalled` (a flag), over all cases that may be open at
    `at`: level high at `at`, escalated by a DRAM decision in the window, or owning an open
    action set at a MACE and due before `at`'s day. Open at `at` is settled by the caller."""
    ev = _Evaluation(session, at, window, open_only=True)
    unsettled = ev.unsettled()
    maybe_high = list(
        await session.scalars(
            select(C.id).where(
                ev.in_scope(),
                or_(and_(C.current_level == "high", C.id.not_in(unsettled)), C.id.in_(unsettled)),
            )
        )
    )
    current = {
        case_id: a
        for case_id, a in (await ev.latest_of(maybe_high, at)).items()
        if a.level == "high"
    }
    D = Decision.__table__.c
    escalated = select(
        D.case_id, D.id, D.meeting_kind, D.recorded_at, D.progress, D.stalled, D.escalate_to_mace
    ).where(
        D.meeting_kind == "dram",
        D.escalate_to_mace.is_(True),
        _in(D.recorded_at, window),
        D.recorded_at <= at,
        ev.scope(D.case_id),
    )
    escalations = _grouped(await ev.rows(escalated), _decision)
    T = Action.__table__.c
    overdue = await session.scalars(
        select(T.case_id)
        .where(
            T.set_at_meeting_kind == "mace",
            T.created_at <= at,
            T.due_date < london_date(at),
            or_(T.status == "open", T.status_changed_at > at),
            ev.scope(T.case_id),
        )
        .distinct()
    )
    return MaceCriteria(set(current) | set(escalations) | set(overdue), current, dict(escalations))
