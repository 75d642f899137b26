"""Flag rules (SPEC §3): pure functions of one case's records, a moment T and a window. No I/O.

Conventions every rule follows (tests pin each one at its boundary):

- A `Window` is half-open: **start exclusive, end inclusive**, `start < t <= end`. A DRAM
  window runs from the previous cutoff to this one, so a record at exactly the previous
  cutoff belongs to the previous agenda, never to two. "Within the window" means the thing
  happened *or* was recorded in it, so a late-posted record is seen by the next meeting.
- "In the N days before T" is closed at both ends: `T - N days <= t <= T`. So an episode
  that started exactly 90 days before T counts (the 90th day); one second earlier does not.
- "More than 72 hours" is strict: at exactly 72 h the return interview is not yet overdue,
  one second later it is. `next_review_due` is overdue only once T is past it.
- Working days are Monday to Friday except England and Wales bank holidays (`holidays`,
  subdiv ENG), counted in Europe/London.
- The level "at" a moment is the latest assessment by `assessed_at` among those the register
  knew then (`recorded_at` at or before it), so a late-posted older assessment never
  overrides a newer one, and a window's starting level is what the meeting could have known.
- Rules only look at records the register knew at T; the loader filters, and rules filter
  again so they are safe on any input.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from app.risk import language
from app.risk.tool import rank

LONDON = ZoneInfo("Europe/London")

INFO, WARNING, URGENT = "info", "warning", "urgent"

RETURN_INTERVIEW_DUE = dt.timedelta(hours=72)
REPEAT_MISSING_PERIOD = dt.timedelta(days=90)
REPEAT_MISSING_COUNT = 3
NO_ASSESSMENT_WORKING_DAYS = 5
DISAGREEMENT_PERIOD = dt.timedelta(days=28)
DISAGREEMENT_LEVELS = 2
REFERRAL_PERIOD = dt.timedelta(days=28)
PLACEMENT_PERIOD = dt.timedelta(days=365)
PLACEMENT_COUNT = 3
EDUCATION_PERIOD = dt.timedelta(days=28)
STALLED_HIGH_PERIOD = dt.timedelta(days=84)
DEFAULT_WINDOW = dt.timedelta(hours=24)

CRIMINALISING_EVENTS = frozenset({"arrest", "charge", "custody"})
EDUCATION_EVENTS = frozenset({"missing_education", "education_exclusion"})
NO_PROGRESS = frozenset({"no_change", "worsening"})


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A meeting window, `start < t <= end` (start exclusive, end inclusive)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError("a window cannot end before it starts")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, dt.datetime) and self.start < moment <= self.end

    @classmethod
    def ending(cls, at: dt.datetime, length: dt.timedelta = DEFAULT_WINDOW) -> Window:
        """Outside a meeting: the last 24 hours up to `at`."""
        return cls(at - length, at)


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    severity: str
    since: dt.datetime | None
    detail: str
    evidence: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    id: uuid.UUID
    status: str  # as of T
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AssessmentFacts:
    id: uuid.UUID
    agency_id: uuid.UUID
    assessed_at: dt.datetime
    recorded_at: dt.datetime
    level: str
    calculated_level: str
    judgement_level: str | None = None
    next_review_due: dt.datetime | None = None
    score: int = 0
    indicators: tuple[str, ...] = ()
    # (indicator, referral service) for the indicators present, per the tool version used.
    referral_needs: tuple[tuple[str, str], ...] = ()
    free_text: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    id: uuid.UUID
    started_at: dt.datetime
    recorded_at: dt.datetime
    kind: str = "missing"
    ended_at: dt.datetime | None = None  # None unless the end was known at T
    return_interview_at: dt.datetime | None = None  # likewise
    free_text: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventFacts:
    id: uuid.UUID
    type: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    service: str | None = None
    free_text: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionFacts:
    id: uuid.UUID
    status: str  # open, done, cancelled
    due_date: dt.date
    owner_agency_id: uuid.UUID
    set_at_meeting_kind: str | None = None  # dram, mace, or None


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    id: uuid.UUID
    meeting_kind: str
    recorded_at: dt.datetime
    progress: str  # improving, no_change, worsening
    stalled: bool
    escalate_to_mace: bool


@dataclass(frozen=True, slots=True)
class CaseRecords:
    """Everything a rule may look at, already filtered to what the register knew at T."""

    case: CaseFacts
    assessments: tuple[AssessmentFacts, ...] = ()
    episodes: tuple[EpisodeFacts, ...] = ()
    events: tuple[EventFacts, ...] = ()
    actions: tuple[ActionFacts, ...] = ()
    decisions: tuple[DecisionFacts, ...] = ()


# --- shared helpers -------------------------------------------------------------------------


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when(moment: dt.datetime) -> str:
    """A time as a coordinator would read it aloud: local to Europe/London ("Fri 27 Nov 2026
    08:30"), in English whatever the process locale (no strftime)."""
    local = moment.astimezone(LONDON)
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"{local.hour:02d}:{local.minute:02d}"
    )


def on_day(day: dt.date) -> str:
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _assessment_order(a: AssessmentFacts) -> tuple[dt.datetime, dt.datetime, str]:
    return (a.assessed_at, a.recorded_at, str(a.id))


# `_known` answers for the last assessments tuple seen, by moment: the rules of one
# evaluation ask the same questions many times (T and the window's start). Holding the tuple
# itself (not its id) means a hit is always for the very same input.
_known_memo: tuple[object, dict[dt.datetime, tuple[AssessmentFacts, ...]]] = ((), {})


def _known(assessments: Iterable[AssessmentFacts], at: dt.datetime) -> tuple[AssessmentFacts, ...]:
    global _known_memo
    owner, by_moment = _known_memo
    if owner is assessments:
        hit = by_moment.get(at)
        if hit is not None:
            return hit
    known = tuple(
        sorted(
            (a for a in assessments if a.recorded_at <= at and a.assessed_at <= at),
            key=_assessment_order,
        )
    )
    if isinstance(assessments, tuple):
        if owner is not assessments:
            _known_memo = (assessments, {})
        _known_memo[1][at] = known
    return known


def latest_assessment(
    assessments: Iterable[AssessmentFacts], at: dt.datetime
) -> AssessmentFacts | None:
    """The case's current assessment as the register knew it at `at`."""
    known = _known(assessments, at)
    return known[-1] if known else None


@cache
def _bank_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(moment: dt.datetime, days: int) -> dt.datetime:
    """The same London wall-clock time on the `days`-th working day after `moment`'s date."""
    local = moment.astimezone(LONDON)
    day = local.date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return dt.datetime.combine(day, local.time().replace(tzinfo=None), LONDON).astimezone(dt.UTC)


def london_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LONDON).date()


def _start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


_SERVICE_NAMES = {
    "substance_misuse": "a substance misuse service",
    "online_safety": "an online safety service",
    "prevent": "Prevent",
    "sexual_health": "a sexual health service",
    "camhs": "CAMHS",
    "specialist_exploitation": "a specialist exploitation service",
    "youth_service": "a youth service",
    "other": "a service",
}
_EVENT_NAMES = {
    "arrest": "an arrest",
    "charge": "a charge",
    "custody": "a period in custody",
    "missing_education": "missing education",
    "education_exclusion": "an exclusion from education",
}


# --- rules ----------------------------------------------------------------------------------
#
# Each rule is a *selection* (which of the case's records bear on the flag at T) followed by a
# *formatter* (`*_flag`: threshold, `since`, wording, evidence, in a fixed order). The
# set-based path (`app.risk.setbased`) makes the same selections in SQL over all cases and
# hands its rows to the same formatters, so a flag's meaning and wording are written once.

Rule = Callable[[CaseRecords, dt.datetime, Window], Flag | None]


def _by_start(e: EpisodeFacts) -> tuple[dt.datetime, uuid.UUID]:
    return (e.started_at, e.id)


def _by_occurrence(e: EventFacts) -> tuple[dt.datetime, uuid.UUID]:
    return (e.occurred_at, e.id)


def new_referral_flag(case_id: uuid.UUID, created: dt.datetime) -> Flag:
    return Flag(
        "new_referral",
        INFO,
        created,
        f"New case: added to the register {when(created)}.",
        (case_id,),
    )


def new_referral(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    created = r.case.created_at
    if created in window and created <= at:
        return new_referral_flag(r.case.id, created)
    return None


def risk_escalated_flag(
    now: AssessmentFacts, before: AssessmentFacts | None, window: Window
) -> Flag | None:
    severity = URGENT if now.level == "high" else WARNING
    if before is None:
        if rank(now.level) >= rank("medium") and now.recorded_at in window:
            return Flag(
                "risk_escalated",
                severity,
                now.assessed_at,
                f"First assessment puts the risk at {now.level} "
                f"(assessed {when(now.assessed_at)}).",
                (now.id,),
            )
        return None
    if rank(now.level) > rank(before.level):
        return Flag(
            "risk_escalated",
            severity,
            now.assessed_at,
            f"Risk rose from {before.level} to {now.level} (assessed {when(now.assessed_at)}).",
            (before.id, now.id),
        )
    return None


def risk_escalated(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None:
        return None
    return risk_escalated_flag(now, latest_assessment(r.assessments, window.start), window)


def risk_reduced_flag(now: AssessmentFacts, before: AssessmentFacts | None) -> Flag | None:
    if before is None or rank(now.level) >= rank(before.level):
        return None
    return Flag(
        "risk_reduced",
        INFO,
        now.assessed_at,
        f"Risk fell from {before.level} to {now.level} (assessed {when(now.assessed_at)}).",
        (before.id, now.id),
    )


def risk_reduced(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None:
        return None
    return risk_reduced_flag(now, latest_assessment(r.assessments, window.start))


def new_missing_episode_flag(new: Iterable[EpisodeFacts]) -> Flag | None:
    ordered = sorted(new, key=_by_start)
    if not ordered:
        return None
    last = ordered[-1]
    return Flag(
        "new_missing_episode",
        WARNING,
        ordered[0].started_at,
        f"{_plural(len(ordered), 'new missing episode')} since the last meeting; "
        f"the latest ({last.kind}) started {when(last.started_at)}.",
        tuple(e.id for e in ordered),
    )


def new_missing_episode(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return new_missing_episode_flag(
        e
        for e in r.episodes
        if e.recorded_at <= at and (e.started_at in window or e.recorded_at in window)
    )


def currently_missing_flag(open_episodes: Iterable[EpisodeFacts], at: dt.datetime) -> Flag | None:
    ordered = sorted(open_episodes, key=_by_start)
    if not ordered:
        return None
    first = ordered[0]
    hours = int((at - first.started_at).total_seconds() // 3600)
    return Flag(
        "currently_missing",
        URGENT,
        first.started_at,
        f"Missing now: {first.kind} since {when(first.started_at)} "
        f"({_plural(hours, 'hour')}), no return recorded.",
        tuple(e.id for e in ordered),
    )


def currently_missing(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return currently_missing_flag(
        (
            e
            for e in r.episodes
            if e.recorded_at <= at
            and e.started_at <= at
            and (e.ended_at is None or e.ended_at > at)
        ),
        at,
    )


def repeat_missing_flag(recent: Iterable[EpisodeFacts]) -> Flag | None:
    ordered = sorted(recent, key=_by_start)
    if len(ordered) < REPEAT_MISSING_COUNT:
        return None
    return Flag(
        "repeat_missing",
        WARNING,
        ordered[REPEAT_MISSING_COUNT - 1].started_at,
        f"Repeat missing: {_plural(len(ordered), 'episode')} started in the last 90 days.",
        tuple(e.id for e in ordered),
    )


def repeat_missing(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return repeat_missing_flag(
        e
        for e in r.episodes
        if e.recorded_at <= at and at - REPEAT_MISSING_PERIOD <= e.started_at <= at
    )


def _by_end(e: EpisodeFacts) -> tuple[dt.datetime, uuid.UUID]:
    assert e.ended_at is not None
    return (e.ended_at, e.id)


def return_interview_overdue_flag(overdue: Iterable[EpisodeFacts]) -> Flag | None:
    ordered = sorted(overdue, key=_by_end)
    if not ordered:
        return None
    first = ordered[0]
    assert first.ended_at is not None
    more = f" ({_plural(len(ordered), 'episode')} in all)" if len(ordered) > 1 else ""
    return Flag(
        "return_interview_overdue",
        WARNING,
        first.ended_at + RETURN_INTERVIEW_DUE,
        f"Return home interview overdue: the child returned {when(first.ended_at)} and no "
        f"interview is recorded within 72 hours{more}.",
        tuple(e.id for e in ordered),
    )


def return_interview_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return return_interview_overdue_flag(
        e
        for e in r.episodes
        if e.recorded_at <= at
        and e.ended_at is not None
        and at - e.ended_at > RETURN_INTERVIEW_DUE
        and (e.return_interview_at is None or e.return_interview_at > at)
    )


def assessment_overdue_flag(now: AssessmentFacts, at: dt.datetime) -> Flag | None:
    if now.next_review_due is None or not now.next_review_due < at:
        return None
    days = (at - now.next_review_due).days
    return Flag(
        "assessment_overdue",
        WARNING,
        now.next_review_due,
        f"Review overdue: the current {now.level} assessment was due for review "
        f"{when(now.next_review_due)} ({_plural(days, 'day')} ago).",
        (now.id,),
    )


def assessment_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    return None if now is None else assessment_overdue_flag(now, at)


def no_assessment_flag(case_id: uuid.UUID, created: dt.datetime, at: dt.datetime) -> Flag | None:
    """For an open case with no assessment known at `at`."""
    deadline = add_working_days(created, NO_ASSESSMENT_WORKING_DAYS)
    if not at > deadline:
        return None
    return Flag(
        "no_assessment",
        WARNING,
        deadline,
        f"No risk assessment yet: the case has been open since {when(created)}, "
        "more than 5 working days.",
        (case_id,),
    )


def no_assessment(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    if r.case.status != "open" or _known(r.assessments, at):
        return None
    return no_assessment_flag(r.case.id, r.case.created_at, at)


def judgement_below_tool_flag(now: AssessmentFacts) -> Flag | None:
    if now.judgement_level is None or rank(now.judgement_level) >= rank(now.calculated_level):
        return None
    return Flag(
        "judgement_below_tool",
        WARNING,
        now.assessed_at,
        f"Professional judgement set the level at {now.judgement_level}, below the tool's "
        f"{now.calculated_level} (assessed {when(now.assessed_at)}).",
        (now.id,),
    )


def judgement_below_tool(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    return None if now is None else judgement_below_tool_flag(now)


def assessor_disagreement_flag(
    latest_by_agency: Iterable[AssessmentFacts], at: dt.datetime
) -> Flag | None:
    """From each agency's latest assessment known at `at` (one per agency)."""
    recent = sorted(
        (a for a in latest_by_agency if a.assessed_at >= at - DISAGREEMENT_PERIOD),
        key=_assessment_order,
    )
    if len(recent) < 2:
        return None
    lowest = min(recent, key=lambda a: (rank(a.level), a.assessed_at))
    highest = max(recent, key=lambda a: (rank(a.level), a.assessed_at))
    if rank(highest.level) - rank(lowest.level) < DISAGREEMENT_LEVELS:
        return None
    return Flag(
        "assessor_disagreement",
        WARNING,
        max(lowest.assessed_at, highest.assessed_at),
        f"Agencies disagree: their latest assessments in the last 28 days range from "
        f"{lowest.level} to {highest.level}.",
        (lowest.id, highest.id),
    )


def assessor_disagreement(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    latest_by_agency: dict[uuid.UUID, AssessmentFacts] = {}
    for a in _known(r.assessments, at):
        latest_by_agency[a.agency_id] = a  # ascending order: the last one wins
    return assessor_disagreement_flag(latest_by_agency.values(), at)


@dataclass(frozen=True, slots=True)
class IndicatorGap:
    """A referral-needing indicator of the current assessment with no matching referral."""

    indicator: str
    service: str
    first_id: uuid.UUID  # the earliest known assessment recording the indicator
    first_assessed_at: dt.datetime

    @property
    def due(self) -> dt.datetime:
        return self.first_assessed_at + REFERRAL_PERIOD


def unaddressed_indicator_flag(
    current: AssessmentFacts, gaps: Iterable[IndicatorGap], at: dt.datetime
) -> Flag | None:
    """From the gaps found for the current assessment's indicators (any order)."""
    order = {indicator: n for n, indicator in enumerate(current.indicators)}
    overdue = sorted(
        (g for g in gaps if at > g.due), key=lambda g: (g.due, order.get(g.indicator, 0))
    )
    if not overdue:
        return None
    parts = [
        f"'{g.indicator}' recorded since {on_day(london_date(g.first_assessed_at))} with no "
        f"referral to {_SERVICE_NAMES.get(g.service, g.service)} within 28 days"
        for g in overdue
    ]
    evidence = tuple(dict.fromkeys([*(g.first_id for g in overdue), current.id]))
    return Flag(
        "unaddressed_indicator",
        WARNING,
        overdue[0].due,
        "Indicator not followed up: " + "; ".join(parts) + ".",
        evidence,
    )


def unaddressed_indicator(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    """A referral-needing indicator in the current assessment, 28 days on without a referral.

    The clock starts when the indicator was first recorded (its earliest assessment). A
    matching `referral` event at or after that moment addresses it; a referral made after
    the 28 days still clears the flag (the need has been met, late), and one made before the
    indicator was recorded does not count.
    """
    known = _known(r.assessments, at)
    if not known:
        return None
    current = known[-1]
    referrals = [
        e for e in r.events if e.type == "referral" and e.recorded_at <= at and e.occurred_at <= at
    ]
    gaps: list[IndicatorGap] = []
    for indicator, service in current.referral_needs:
        first = next(a for a in known if indicator in a.indicators)
        if any(e.service == service and e.occurred_at >= first.assessed_at for e in referrals):
            continue
        gaps.append(IndicatorGap(indicator, service, first.id, first.assessed_at))
    return unaddressed_indicator_flag(current, gaps, at)


def criminalised_victim_flag(now: AssessmentFacts, events: Iterable[EventFacts]) -> Flag | None:
    if rank(now.level) < rank("medium"):
        return None
    ordered = sorted(events, key=_by_occurrence)
    if not ordered:
        return None
    names = ", ".join(dict.fromkeys(_EVENT_NAMES[e.type] for e in ordered))
    return Flag(
        "criminalised_victim",
        WARNING,
        ordered[0].occurred_at,
        f"Possible criminalised victim: {names} recorded while the child is assessed at "
        f"{now.level} risk of exploitation.",
        tuple(e.id for e in ordered),
    )


def criminalised_victim(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None:
        return None
    return criminalised_victim_flag(
        now,
        (
            e
            for e in r.events
            if e.type in CRIMINALISING_EVENTS
            and e.recorded_at <= at
            and e.occurred_at <= at
            and (e.occurred_at in window or e.recorded_at in window)
        ),
    )


def placement_instability_flag(moves: Iterable[EventFacts]) -> Flag | None:
    ordered = sorted(moves, key=_by_occurrence)
    if len(ordered) < PLACEMENT_COUNT:
        return None
    return Flag(
        "placement_instability",
        WARNING,
        ordered[PLACEMENT_COUNT - 1].occurred_at,
        f"Placement instability: {_plural(len(ordered), 'placement move')} in the last 365 days.",
        tuple(e.id for e in ordered),
    )


def placement_instability(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return placement_instability_flag(
        e
        for e in r.events
        if e.type == "placement_move"
        and e.recorded_at <= at
        and at - PLACEMENT_PERIOD <= e.occurred_at <= at
    )


def missing_education_flag(events: Iterable[EventFacts]) -> Flag | None:
    ordered = sorted(events, key=_by_occurrence)
    if not ordered:
        return None
    last = ordered[-1]
    return Flag(
        "missing_education",
        WARNING,
        ordered[0].occurred_at,
        f"Out of education: {_EVENT_NAMES[last.type]} recorded {when(last.occurred_at)} "
        f"({_plural(len(ordered), 'record')} in the last 28 days).",
        tuple(e.id for e in ordered),
    )


def missing_education(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return missing_education_flag(
        e
        for e in r.events
        if e.type in EDUCATION_EVENTS
        and e.recorded_at <= at
        and at - EDUCATION_PERIOD <= e.occurred_at <= at
    )


def actions_overdue_flag(overdue: Iterable[ActionFacts]) -> Flag | None:
    ordered = sorted(overdue, key=lambda a: (a.due_date, a.id))
    if not ordered:
        return None
    first = ordered[0]
    return Flag(
        "actions_overdue",
        WARNING,
        _start_of_day(first.due_date + dt.timedelta(days=1)),
        f"{_plural(len(ordered), 'action')} past due (the earliest was due "
        f"{on_day(first.due_date)}).",
        tuple(a.id for a in ordered),
    )


def actions_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    today = london_date(at)
    return actions_overdue_flag(a for a in r.actions if a.status == "open" and a.due_date < today)


def stalled_flag(
    high_run: Iterable[AssessmentFacts],
    last_decisions: Iterable[DecisionFacts],
    at: dt.datetime,
) -> Flag | None:
    """From the trailing run of high assessments known at `at` (empty unless the current one
    is high) and the case's last two decisions known at `at` (any order)."""
    reasons: list[str] = []
    since: list[dt.datetime] = []
    evidence: list[uuid.UUID] = []
    run = sorted(high_run, key=_assessment_order)
    if run:
        run_start = run[0].assessed_at
        if at - run_start >= STALLED_HIGH_PERIOD:
            reasons.append(
                f"assessed high since {on_day(london_date(run_start))} "
                f"({_plural((at - run_start).days, 'day')}) without a lower assessment"
            )
            since.append(run_start + STALLED_HIGH_PERIOD)
            evidence.extend(a.id for a in run)
    decisions = sorted(last_decisions, key=lambda d: (d.recorded_at, d.id))[-2:]
    if len(decisions) >= 2 and all(d.progress in NO_PROGRESS for d in decisions):
        reasons.append(
            f"the last two decisions recorded {decisions[-2].progress.replace('_', ' ')} "
            f"and {decisions[-1].progress.replace('_', ' ')}"
        )
        since.append(decisions[-1].recorded_at)
        evidence.extend(d.id for d in decisions)
    if decisions and decisions[-1].stalled:
        reasons.append(f"the last {decisions[-1].meeting_kind.upper()} decision marked it stalled")
        since.append(decisions[-1].recorded_at)
        evidence.append(decisions[-1].id)
    if not reasons:
        return None
    return Flag(
        "stalled",
        WARNING,
        min(since),
        "Stalled: " + "; ".join(reasons) + ".",
        tuple(dict.fromkeys(evidence)),
    )


def stalled(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    run: list[AssessmentFacts] = []
    for a in reversed(_known(r.assessments, at)):
        if a.level != "high":
            break
        run.append(a)
    decisions = sorted(
        (d for d in r.decisions if d.recorded_at <= at), key=lambda d: (d.recorded_at, d.id)
    )
    return stalled_flag(run, decisions[-2:], at)


TextRecord = tuple[uuid.UUID, dt.datetime, tuple[str, ...]]  # id, recorded_at, free text


def language_concern_flag(
    records: Iterable[TextRecord], at: dt.datetime, window: Window
) -> Flag | None:
    """From any of the case's records with free text; only those recorded in the window count."""
    found: list[tuple[dt.datetime, uuid.UUID, list[str]]] = []
    for record_id, recorded_at, texts in records:
        if recorded_at > at or recorded_at not in window:
            continue
        phrases = [f.phrase.lower() for text in texts for f in language.check(text)]
        if phrases:
            found.append((recorded_at, record_id, phrases))
    if not found:
        return None
    found.sort(key=lambda f: (f[0], f[1]))
    quoted = ", ".join(f"'{p}'" for p in dict.fromkeys(p for _, _, ps in found for p in ps))
    return Flag(
        "language_concern",
        INFO,
        found[0][0],
        f"Language that can blame the child ({quoted}) in {_plural(len(found), 'record')} "
        "since the last meeting; the language check suggests other wording.",
        tuple(record_id for _, record_id, _ in found),
    )


def language_concern(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    return language_concern_flag(
        [
            *((a.id, a.recorded_at, a.free_text) for a in r.assessments),
            *((e.id, e.recorded_at, e.free_text) for e in r.episodes),
            *((e.id, e.recorded_at, e.free_text) for e in r.events),
        ],
        at,
        window,
    )


# --- the catalogue --------------------------------------------------------------------------

RULES: dict[str, Rule] = {
    "new_referral": new_referral,
    "risk_escalated": risk_escalated,
    "risk_reduced": risk_reduced,
    "new_missing_episode": new_missing_episode,
    "currently_missing": currently_missing,
    "repeat_missing": repeat_missing,
    "return_interview_overdue": return_interview_overdue,
    "assessment_overdue": assessment_overdue,
    "no_assessment": no_assessment,
    "judgement_below_tool": judgement_below_tool,
    "assessor_disagreement": assessor_disagreement,
    "unaddressed_indicator": unaddressed_indicator,
    "criminalised_victim": criminalised_victim,
    "placement_instability": placement_instability,
    "missing_education": missing_education,
    "actions_overdue": actions_overdue,
    "stalled": stalled,
    "language_concern": language_concern,
}

FLAG_CODES: tuple[str, ...] = tuple(RULES)
DRAM_FLAGS: frozenset[str] = frozenset(set(FLAG_CODES) - {"stalled"})
MACE_FLAGS: frozenset[str] = frozenset(
    {
        "currently_missing",
        "repeat_missing",
        "assessment_overdue",
        "placement_instability",
        "actions_overdue",
        "stalled",
    }
)


def evaluate(records: CaseRecords, at: dt.datetime, window: Window) -> list[Flag]:
    """Every flag that holds for this case at `at`, in the order of SPEC §3."""
    out = []
    for rule in RULES.values():
        flag = rule(records, at, window)
        if flag is not None:
            out.append(flag)
    return out
