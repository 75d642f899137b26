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


def when(moment: dt.datetime) -> str:
    """A time as a coordinator would read it aloud: local to Europe/London."""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def on_day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


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

Rule = Callable[[CaseRecords, dt.datetime, Window], Flag | None]


def new_referral(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    created = r.case.created_at
    if created in window and created <= at:
        return Flag(
            "new_referral",
            INFO,
            created,
            f"New case: added to the register {when(created)}.",
            (r.case.id,),
        )
    return None


def risk_escalated(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None:
        return None
    before = latest_assessment(r.assessments, window.start)
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


def risk_reduced(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    before = latest_assessment(r.assessments, window.start)
    if now is None or before is None or rank(now.level) >= rank(before.level):
        return None
    return Flag(
        "risk_reduced",
        INFO,
        now.assessed_at,
        f"Risk fell from {before.level} to {now.level} (assessed {when(now.assessed_at)}).",
        (before.id, now.id),
    )


def new_missing_episode(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    new = sorted(
        (
            e
            for e in r.episodes
            if e.recorded_at <= at and (e.started_at in window or e.recorded_at in window)
        ),
        key=lambda e: e.started_at,
    )
    if not new:
        return None
    last = new[-1]
    return Flag(
        "new_missing_episode",
        WARNING,
        new[0].started_at,
        f"{_plural(len(new), 'new missing episode')} since the last meeting; "
        f"the latest ({last.kind}) started {when(last.started_at)}.",
        tuple(e.id for e in new),
    )


def currently_missing(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    open_episodes = sorted(
        (
            e
            for e in r.episodes
            if e.recorded_at <= at
            and e.started_at <= at
            and (e.ended_at is None or e.ended_at > at)
        ),
        key=lambda e: e.started_at,
    )
    if not open_episodes:
        return None
    first = open_episodes[0]
    hours = int((at - first.started_at).total_seconds() // 3600)
    return Flag(
        "currently_missing",
        URGENT,
        first.started_at,
        f"Missing now: {first.kind} since {when(first.started_at)} "
        f"({_plural(hours, 'hour')}), no return recorded.",
        tuple(e.id for e in open_episodes),
    )


def repeat_missing(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    recent = sorted(
        (
            e
            for e in r.episodes
            if e.recorded_at <= at and at - REPEAT_MISSING_PERIOD <= e.started_at <= at
        ),
        key=lambda e: e.started_at,
    )
    if len(recent) < REPEAT_MISSING_COUNT:
        return None
    return Flag(
        "repeat_missing",
        WARNING,
        recent[REPEAT_MISSING_COUNT - 1].started_at,
        f"Repeat missing: {_plural(len(recent), 'episode')} started in the last 90 days.",
        tuple(e.id for e in recent),
    )


def return_interview_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    overdue = sorted(
        (
            e
            for e in r.episodes
            if e.recorded_at <= at
            and e.ended_at is not None
            and at - e.ended_at > RETURN_INTERVIEW_DUE
            and (e.return_interview_at is None or e.return_interview_at > at)
        ),
        key=lambda e: e.ended_at or at,
    )
    if not overdue:
        return None
    first = overdue[0]
    assert first.ended_at is not None
    more = f" ({_plural(len(overdue), 'episode')} in all)" if len(overdue) > 1 else ""
    return Flag(
        "return_interview_overdue",
        WARNING,
        first.ended_at + RETURN_INTERVIEW_DUE,
        f"Return home interview overdue: the child returned {when(first.ended_at)} and no "
        f"interview is recorded within 72 hours{more}.",
        tuple(e.id for e in overdue),
    )


def assessment_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None or now.next_review_due is None or not now.next_review_due < at:
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


def no_assessment(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    if r.case.status != "open" or _known(r.assessments, at):
        return None
    deadline = add_working_days(r.case.created_at, NO_ASSESSMENT_WORKING_DAYS)
    if not at > deadline:
        return None
    return Flag(
        "no_assessment",
        WARNING,
        deadline,
        f"No risk assessment yet: the case has been open since {when(r.case.created_at)}, "
        "more than 5 working days.",
        (r.case.id,),
    )


def judgement_below_tool(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if (
        now is None
        or now.judgement_level is None
        or rank(now.judgement_level) >= rank(now.calculated_level)
    ):
        return None
    return Flag(
        "judgement_below_tool",
        WARNING,
        now.assessed_at,
        f"Professional judgement set the level at {now.judgement_level}, below the tool's "
        f"{now.calculated_level} (assessed {when(now.assessed_at)}).",
        (now.id,),
    )


def assessor_disagreement(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    latest_by_agency: dict[uuid.UUID, AssessmentFacts] = {}
    for a in _known(r.assessments, at):
        latest_by_agency[a.agency_id] = a  # ascending order: the last one wins
    recent = [a for a in latest_by_agency.values() if a.assessed_at >= at - DISAGREEMENT_PERIOD]
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
    gaps: list[tuple[dt.datetime, str, str, AssessmentFacts]] = []
    for indicator, service in current.referral_needs:
        first = next(a for a in known if indicator in a.indicators)
        due = first.assessed_at + REFERRAL_PERIOD
        if not at > due:
            continue
        if any(e.service == service and e.occurred_at >= first.assessed_at for e in referrals):
            continue
        gaps.append((due, indicator, service, first))
    if not gaps:
        return None
    gaps.sort(key=lambda g: g[0])
    parts = [
        f"'{indicator}' recorded since {on_day(london_date(first.assessed_at))} with no "
        f"referral to {_SERVICE_NAMES.get(service, service)} within 28 days"
        for _, indicator, service, first in gaps
    ]
    evidence = tuple(dict.fromkeys([*(g[3].id for g in gaps), current.id]))
    return Flag(
        "unaddressed_indicator",
        WARNING,
        gaps[0][0],
        "Indicator not followed up: " + "; ".join(parts) + ".",
        evidence,
    )


def criminalised_victim(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    now = latest_assessment(r.assessments, at)
    if now is None or rank(now.level) < rank("medium"):
        return None
    events = sorted(
        (
            e
            for e in r.events
            if e.type in CRIMINALISING_EVENTS
            and e.recorded_at <= at
            and e.occurred_at <= at
            and (e.occurred_at in window or e.recorded_at in window)
        ),
        key=lambda e: e.occurred_at,
    )
    if not events:
        return None
    names = ", ".join(dict.fromkeys(_EVENT_NAMES[e.type] for e in events))
    return Flag(
        "criminalised_victim",
        WARNING,
        events[0].occurred_at,
        f"Possible criminalised victim: {names} recorded while the child is assessed at "
        f"{now.level} risk of exploitation.",
        tuple(e.id for e in events),
    )


def placement_instability(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    moves = sorted(
        (
            e
            for e in r.events
            if e.type == "placement_move"
            and e.recorded_at <= at
            and at - PLACEMENT_PERIOD <= e.occurred_at <= at
        ),
        key=lambda e: e.occurred_at,
    )
    if len(moves) < PLACEMENT_COUNT:
        return None
    return Flag(
        "placement_instability",
        WARNING,
        moves[PLACEMENT_COUNT - 1].occurred_at,
        f"Placement instability: {_plural(len(moves), 'placement move')} in the last 365 days.",
        tuple(e.id for e in moves),
    )


def missing_education(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    events = sorted(
        (
            e
            for e in r.events
            if e.type in EDUCATION_EVENTS
            and e.recorded_at <= at
            and at - EDUCATION_PERIOD <= e.occurred_at <= at
        ),
        key=lambda e: e.occurred_at,
    )
    if not events:
        return None
    last = events[-1]
    return Flag(
        "missing_education",
        WARNING,
        events[0].occurred_at,
        f"Out of education: {_EVENT_NAMES[last.type]} recorded {when(last.occurred_at)} "
        f"({_plural(len(events), 'record')} in the last 28 days).",
        tuple(e.id for e in events),
    )


def actions_overdue(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    today = london_date(at)
    overdue = sorted(
        (a for a in r.actions if a.status == "open" and a.due_date < today),
        key=lambda a: (a.due_date, str(a.id)),
    )
    if not overdue:
        return None
    first = overdue[0]
    return Flag(
        "actions_overdue",
        WARNING,
        _start_of_day(first.due_date + dt.timedelta(days=1)),
        f"{_plural(len(overdue), 'action')} past due (the earliest was due "
        f"{on_day(first.due_date)}).",
        tuple(a.id for a in overdue),
    )


def stalled(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    reasons: list[str] = []
    since: list[dt.datetime] = []
    evidence: list[uuid.UUID] = []
    known = _known(r.assessments, at)
    if known and known[-1].level == "high":
        run = []
        for a in reversed(known):
            if a.level != "high":
                break
            run.append(a)
        run_start = run[-1].assessed_at
        if at - run_start >= STALLED_HIGH_PERIOD:
            reasons.append(
                f"assessed high since {on_day(london_date(run_start))} "
                f"({_plural((at - run_start).days, 'day')}) without a lower assessment"
            )
            since.append(run_start + STALLED_HIGH_PERIOD)
            evidence.extend(a.id for a in reversed(run))
    decisions = sorted(
        (d for d in r.decisions if d.recorded_at <= at), key=lambda d: (d.recorded_at, str(d.id))
    )
    if len(decisions) >= 2 and all(d.progress in NO_PROGRESS for d in decisions[-2:]):
        reasons.append(
            f"the last two decisions recorded {decisions[-2].progress.replace('_', ' ')} "
            f"and {decisions[-1].progress.replace('_', ' ')}"
        )
        since.append(decisions[-1].recorded_at)
        evidence.extend(d.id for d in decisions[-2:])
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


def language_concern(r: CaseRecords, at: dt.datetime, window: Window) -> Flag | None:
    found: list[tuple[dt.datetime, uuid.UUID, list[str]]] = []
    records: list[tuple[uuid.UUID, dt.datetime, tuple[str, ...]]] = [
        *((a.id, a.recorded_at, a.free_text) for a in r.assessments),
        *((e.id, e.recorded_at, e.free_text) for e in r.episodes),
        *((e.id, e.recorded_at, e.free_text) for e in r.events),
    ]
    for record_id, recorded_at, texts in records:
        if recorded_at > at or recorded_at not in window:
            continue
        phrases = [f.phrase.lower() for text in texts for f in language.check(text)]
        if phrases:
            found.append((recorded_at, record_id, phrases))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    quoted = ", ".join(f"'{p}'" for p in dict.fromkeys(p for _, _, ps in found for p in ps))
    return Flag(
        "language_concern",
        INFO,
        found[0][0],
        f"Language that can blame the child ({quoted}) in {_plural(len(found), 'record')} "
        "since the last meeting; the language check suggests other wording.",
        tuple(record_id for _, record_id, _ in found),
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
