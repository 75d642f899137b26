"""Statistics over a period: open cases, levels, flags, timeliness, missing episodes, equality.

Everything is counted as the register knew it at the period's end (`as_of`: the end of the
last day in Europe/London, or now if that is later than now), by the same as-of rules as the
flags, so a period's figures do not move when late records arrive for another period.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.cases.schemas import ETHNICITY_GROUPS
from app.db import utcnow
from app.errors import field_error
from app.models import Action, Assessment, Case, MissingEpisode
from app.risk.evaluation import load_case_records
from app.risk.flags import (
    FLAG_CODES,
    LONDON,
    RETURN_INTERVIEW_DUE,
    Window,
    evaluate,
    latest_assessment,
    london_date,
)
from app.stats import suppression
from app.stats.schemas import (
    Count,
    DimensionTable,
    Equality,
    GroupFigures,
    LevelCounts,
    LevelFigures,
    Measure,
    Overview,
    PeriodRead,
    SuppressionRule,
)
from app.stats.suppression import TOTAL

LEVELS = ("not_assessed", "none", "low", "medium", "high")
REVIEW = ("assessments_overdue", "assessments_not_overdue")
FIRST = ("first_assessed", "awaiting_first_assessment")
INTERVIEWS = ("return_interviews_within_72h", "return_interviews_late")

# Flag rules run in Python over each open case's records. Their cost is bounded three ways:
# closed cases are filtered out in SQL before any record is loaded; cases are loaded and
# evaluated in batches of BATCH (the loader runs a fixed number of queries per batch, so
# memory and query size stay flat); and at most FLAG_CASE_LIMIT open cases are evaluated per
# request (a partnership holds hundreds), beyond which `flags_complete` is false. Levels and
# overdue reviews are counted for every open case whatever the limit.
BATCH = 250
FLAG_CASE_LIMIT = 10_000
EARLIEST = dt.date(2000, 1, 1)
DEFAULT_PERIOD_DAYS = 365


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date
    at: dt.datetime

    @property
    def starts_at(self) -> dt.datetime:
        return _midnight(self.start)

    @property
    def ends_at(self) -> dt.datetime:
        return _midnight(self.end + dt.timedelta(days=1))

    def read(self) -> PeriodRead:
        return PeriodRead(from_=self.start, to=self.end, as_of=self.at)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


def period(start: dt.date | None, end: dt.date | None, now: dt.datetime | None = None) -> Period:
    """The period asked for; by default the 365 days up to today."""
    now = now or utcnow()
    today = london_date(now)
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    for name, day in (("from", start), ("to", end)):
        if day < EARLIEST or day > today:
            raise field_error(["query", name], f"must be between {EARLIEST} and today")
    if start > end:
        raise field_error(["query", "from"], "is after 'to'")
    return Period(start, end, min(_midnight(end + dt.timedelta(days=1)), now))


# --- who is in which group ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Traits:
    sex: str
    ethnicity: str | None
    disability: bool | None
    looked_after: bool


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    return "not_recorded" if value is None else (yes if value else no)


DIMENSIONS: dict[str, tuple[tuple[str, ...], Callable[[Traits], str]]] = {
    "sex": (("female", "male", "other", "unknown"), lambda t: t.sex),
    "ethnicity": (
        (*dict.fromkeys(ETHNICITY_GROUPS.values()), "not_recorded"),
        lambda t: (
            ETHNICITY_GROUPS.get(t.ethnicity, "not_recorded") if t.ethnicity else "not_recorded"
        ),
    ),
    "disability": (
        ("disabled", "not_disabled", "not_recorded"),
        lambda t: _yes_no(t.disability, "disabled", "not_disabled"),
    ),
    "looked_after": (
        ("looked_after", "not_looked_after"),
        lambda t: _yes_no(t.looked_after, "looked_after", "not_looked_after"),
    ),
}


# --- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenCase:
    traits: Traits
    level: str  # one of LEVELS
    review_overdue: bool
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Referral:
    traits: Traits
    days_to_first_assessment: int | None


@dataclass(frozen=True, slots=True)
class Episode:
    case_id: uuid.UUID
    traits: Traits
    interview_due: bool
    interview_within_72h: bool


@dataclass(frozen=True, slots=True)
class Facts:
    open_cases: list[OpenCase]
    flags_evaluated: int
    flags_complete: bool
    referrals: list[Referral]
    episodes: list[Episode]


def _traits(row: object) -> Traits:
    return Traits(
        sex=row.sex,  # type: ignore[attr-defined]
        ethnicity=row.ethnicity,  # type: ignore[attr-defined]
        disability=row.disability,  # type: ignore[attr-defined]
        looked_after=bool(row.looked_after),  # type: ignore[attr-defined]
    )


_TRAIT_COLUMNS = (Case.sex, Case.ethnicity, Case.disability, Case.looked_after)


async def _open_cases(
    session: AsyncSession, at: dt.datetime, flag_limit: int
) -> tuple[list[OpenCase], int, bool]:
    window = Window.ending(at)
    out: list[OpenCase] = []
    evaluated = 0
    complete = True
    after: uuid.UUID | None = None
    # A case closed at or before `at` and not reopened since has `closed_at <= at`; the loader
    # settles the status of the rest from the status history.
    stmt = select(Case.id, *_TRAIT_COLUMNS).where(
        Case.created_at <= at, or_(Case.closed_at.is_(None), Case.closed_at > at)
    )
    while True:
        page = stmt if after is None else stmt.where(Case.id > after)
        rows = list(await session.execute(page.order_by(Case.id).limit(BATCH)))
        if not rows:
            break
        records = await load_case_records(session, [r.id for r in rows], at)
        for row in rows:
            case_records = records.get(row.id)
            if case_records is None or case_records.case.status != "open":
                continue
            current = latest_assessment(case_records.assessments, at)
            flags: tuple[str, ...] = ()
            if evaluated < flag_limit:
                flags = tuple(f.code for f in evaluate(case_records, at, window))
                evaluated += 1
            else:
                complete = False
            out.append(
                OpenCase(
                    traits=_traits(row),
                    level=current.level if current else "not_assessed",
                    review_overdue=bool(
                        current and current.next_review_due and current.next_review_due < at
                    ),
                    flags=flags,
                )
            )
        if len(rows) < BATCH:
            break
        after = rows[-1].id
    return out, evaluated, complete


async def _referrals(session: AsyncSession, p: Period) -> list[Referral]:
    first = (
        select(Assessment.case_id, func.min(Assessment.assessed_at).label("first_at"))
        .where(Assessment.recorded_at <= p.at, Assessment.assessed_at <= p.at)
        .group_by(Assessment.case_id)
        .subquery()
    )
    rows = await session.execute(
        select(Case.referral_date, first.c.first_at, *_TRAIT_COLUMNS)
        .outerjoin(first, first.c.case_id == Case.id)
        .where(Case.referral_date >= p.start, Case.referral_date <= p.end, Case.created_at <= p.at)
    )
    out = []
    for row in rows:
        days = None
        if row.first_at is not None:
            days = max(0, (london_date(row.first_at) - row.referral_date).days)
        out.append(Referral(traits=_traits(row), days_to_first_assessment=days))
    return out


async def _episodes(session: AsyncSession, p: Period) -> list[Episode]:
    at = p.at
    rows = await session.execute(
        select(
            MissingEpisode.case_id,
            MissingEpisode.recorded_at,
            MissingEpisode.ended_at,
            MissingEpisode.ended_recorded_at,
            MissingEpisode.return_interview_at,
            MissingEpisode.return_interview_recorded_at,
            *_TRAIT_COLUMNS,
        )
        .join(Case, Case.id == MissingEpisode.case_id)
        .where(
            MissingEpisode.started_at >= p.starts_at,
            MissingEpisode.started_at < p.ends_at,
            MissingEpisode.started_at <= at,
            MissingEpisode.recorded_at <= at,
        )
    )
    out = []
    for e in rows:
        ended = e.ended_at if e.ended_at is not None and e.ended_at <= at else None
        if ended is not None and (e.ended_recorded_at or e.recorded_at) > at:
            ended = None
        interview = e.return_interview_at
        if interview is not None and (
            interview > at or (e.return_interview_recorded_at or e.recorded_at) > at
        ):
            interview = None
        due = ended is not None and (ended + RETURN_INTERVIEW_DUE <= at or interview is not None)
        within = (
            due
            and interview is not None
            and ended is not None
            and interview - ended <= RETURN_INTERVIEW_DUE
        )
        out.append(
            Episode(
                case_id=e.case_id,
                traits=_traits(e),
                interview_due=due,
                interview_within_72h=within,
            )
        )
    return out


async def _actions_overdue(session: AsyncSession, at: dt.datetime) -> int:
    """Actions open at `at` whose due date was before that day (London), on open cases or not.

    Only an action's latest status change is kept: one changed after `at` was still open then
    (as the flag loader reads it).
    """
    count = await session.scalar(
        select(func.count())
        .select_from(Action)
        .where(
            Action.created_at <= at,
            Action.due_date < london_date(at),
            or_(Action.status == "open", Action.status_changed_at > at),
        )
    )
    return int(count or 0)


async def _facts(session: AsyncSession, p: Period, flag_limit: int) -> Facts:
    open_cases, evaluated, complete = await _open_cases(session, p.at, flag_limit)
    return Facts(
        open_cases=open_cases,
        flags_evaluated=evaluated,
        flags_complete=complete,
        referrals=await _referrals(session, p),
        episodes=await _episodes(session, p),
    )


# --- figures --------------------------------------------------------------------------------


def _median(values: Iterable[int]) -> float | None:
    values = list(values)
    return round(float(statistics.median(values)), 1) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass
class _Tally:
    """The counts behind one row of the equality tables, and the children behind each."""

    counts: Counter[str]
    children: defaultdict[str, set[object]]
    days: list[int]

    @classmethod
    def new(cls) -> _Tally:
        return cls(Counter(), defaultdict(set), [])

    def add(self, column: str, child: object) -> None:
        self.counts[column] += 1
        self.children[column].add(child)

    def row(self, columns: Iterable[str]) -> dict[str, int]:
        return {c: self.counts[c] for c in columns}

    def people(self, columns: Iterable[str]) -> dict[str, int]:
        return {c: len(self.children[c]) for c in columns}


def _tally(facts: Facts, group_of: Callable[[Traits], str] | None) -> dict[str, _Tally]:
    """Counts per group (or one group "total" when `group_of` is None)."""
    tallies: defaultdict[str, _Tally] = defaultdict(_Tally.new)

    def key(t: Traits) -> str:
        return group_of(t) if group_of else suppression.TOTAL

    for n, c in enumerate(facts.open_cases):
        t = tallies[key(c.traits)]
        t.add(c.level, n)
        t.add("open_cases", n)
        t.add(REVIEW[0] if c.review_overdue else REVIEW[1], n)
    for n, r in enumerate(facts.referrals):
        t = tallies[key(r.traits)]
        t.add("referrals", ("r", n))
        if r.days_to_first_assessment is None:
            t.add(FIRST[1], ("r", n))
        else:
            t.add(FIRST[0], ("r", n))
            t.days.append(r.days_to_first_assessment)
    for e in facts.episodes:
        if not e.interview_due:
            continue
        t = tallies[key(e.traits)]
        t.add("return_interviews_due", e.case_id)
        t.add(INTERVIEWS[0] if e.interview_within_72h else INTERVIEWS[1], e.case_id)
    return tallies


def overview_of(facts: Facts, p: Period, actions_overdue: int) -> Overview:
    levels = Counter(c.level for c in facts.open_cases)
    flags = Counter(code for c in facts.open_cases for code in c.flags)
    assessed_days = [
        r.days_to_first_assessment
        for r in facts.referrals
        if r.days_to_first_assessment is not None
    ]
    due = [e for e in facts.episodes if e.interview_due]
    within = sum(e.interview_within_72h for e in due)
    return Overview(
        period=p.read(),
        open_cases=len(facts.open_cases),
        open_cases_by_level=LevelCounts(**{level: levels[level] for level in LEVELS}),
        flags_by_code={code: flags[code] for code in FLAG_CODES},
        flags_cases_evaluated=facts.flags_evaluated,
        flags_complete=facts.flags_complete,
        assessments_overdue=sum(c.review_overdue for c in facts.open_cases),
        referrals=len(facts.referrals),
        first_assessed=len(assessed_days),
        awaiting_first_assessment=len(facts.referrals) - len(assessed_days),
        median_days_referral_to_first_assessment=_median(assessed_days),
        missing_episodes=len(facts.episodes),
        children_missing=len({e.case_id for e in facts.episodes}),
        return_interviews_due=len(due),
        return_interviews_within_72h=within,
        return_interviews_within_72h_rate=_rate(within, len(due)),
        actions_overdue=actions_overdue,
    )


_TABLES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("open_cases", (LEVELS, REVIEW)),
    ("referrals", (FIRST,)),
    ("return_interviews_due", (INTERVIEWS,)),
)


def _group_figures(name: str, tally: _Tally, hidden: set[tuple[str, str]] | None) -> GroupFigures:
    """One row; `hidden` names the suppressed (group, column) cells (None: the total row)."""

    def count(column: str) -> Count:
        if hidden is not None and (name, column) in hidden:
            return Count(value=None, suppressed=True)
        return Count(value=tally.counts[column])

    def measure(value: float | None, *resting_on: str) -> Measure:
        # A figure derived from a suppressed count, or from fewer than five records, goes too.
        if hidden is not None and any(
            (name, c) in hidden or 0 < tally.counts[c] < suppression.THRESHOLD for c in resting_on
        ):
            return Measure(value=None, suppressed=True)
        return Measure(value=value)

    within, due = tally.counts[INTERVIEWS[0]], tally.counts["return_interviews_due"]
    return GroupFigures(
        group=name,
        open_cases=count("open_cases"),
        levels=LevelFigures(**{level: count(level) for level in LEVELS}),
        assessments_overdue=count(REVIEW[0]),
        assessments_not_overdue=count(REVIEW[1]),
        referrals=count("referrals"),
        first_assessed=count(FIRST[0]),
        awaiting_first_assessment=count(FIRST[1]),
        median_days_referral_to_first_assessment=measure(_median(tally.days), FIRST[0]),
        return_interviews_due=count("return_interviews_due"),
        return_interviews_within_72h=count(INTERVIEWS[0]),
        return_interviews_late=count(INTERVIEWS[1]),
        return_interviews_within_72h_rate=measure(
            _rate(within, due), INTERVIEWS[0], "return_interviews_due"
        ),
    )


def equality_of(facts: Facts, p: Period) -> Equality:
    total = _tally(facts, None)[suppression.TOTAL]
    dimensions = []
    for dimension, (groups, group_of) in DIMENSIONS.items():
        tallies = _tally(facts, group_of)
        hidden: set[tuple[str, str]] = set()
        for total_column, segments in _TABLES:
            columns = [c for s in segments for c in s]

            found = suppression.protect(
                {
                    g: {**tallies[g].row(columns), TOTAL: tallies[g].counts[total_column]}
                    for g in groups
                },
                segments,
                {
                    g: {**tallies[g].people(columns), TOTAL: len(tallies[g].children[total_column])}
                    for g in groups
                },
            )
            hidden |= {(g, total_column if c == TOTAL else c) for g, c in found}
        dimensions.append(
            DimensionTable(
                dimension=dimension,
                groups=[_group_figures(g, tallies[g], hidden) for g in groups],
                total=_group_figures(suppression.TOTAL, total, None),
            )
        )
    return Equality(
        period=p.read(),
        suppression=SuppressionRule(
            threshold=suppression.THRESHOLD,
            rule="counts of 1 to 4, or resting on fewer than 5 children, are null with "
            "suppressed true, and so are the figures derived from them; further cells are "
            "suppressed so that none can be recovered from a row or column total",
        ),
        dimensions=dimensions,
    )


# --- use cases ------------------------------------------------------------------------------


async def overview(
    session: AsyncSession,
    principal: Principal,
    p: Period,
    *,
    flag_limit: int = FLAG_CASE_LIMIT,
) -> Overview:
    principal.require("stats.read")
    facts = await _facts(session, p, flag_limit)
    return overview_of(facts, p, await _actions_overdue(session, p.at))


async def equality(session: AsyncSession, principal: Principal, p: Period) -> Equality:
    principal.require("stats.read")
    # Flags are not part of the equality tables: evaluate none.
    return equality_of(await _facts(session, p, 0), p)
