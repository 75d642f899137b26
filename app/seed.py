"""A deterministic synthetic partnership for load and scale tests (`riskreg seed`).

Every child is made from its own random stream (`seed` and the case's number), so the same
`--seed`, `--cases` and `as_of` give the same rows byte for byte, whatever the batch size.
The mix follows what partnerships report: most children at no or low risk, a minority high;
assessments every few weeks at the review interval of their level (a few overdue); missing
episodes clustered in some children; events of every type, with referrals that usually
follow the indicators that need one; two years of history, older cases mostly closed.

Rows go in with Core `insert()` and lists of dicts (executemany), a batch of cases per
transaction, so 100,000 cases load in minutes. Nothing here is real: no child, no reference.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.pseudonym import ALPHABET, LENGTH, PREFIX
from app.cases.subjects import IdentifierScheme, subject_digest
from app.db import Database, utcnow
from app.errors import Conflict
from app.meetings.calendar import occurrences
from app.meetings.series import all_series, rule_of
from app.models import (
    Action,
    Agency,
    Assessment,
    Case,
    CaseAgency,
    CaseEvent,
    CaseStatusChange,
    Decision,
    Meeting,
    MissingEpisode,
    SubjectIdentifier,
)
from app.risk.tool import RiskTool, active_tool, calculated_level, rank

HISTORY = dt.timedelta(days=730)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)

# code, name, kind: one agency of each of the six kinds a partnership has.
AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("seed-council", "Synthetic City Council Children's Services", "local_authority"),
    ("seed-police", "Synthetic Constabulary", "police"),
    ("seed-health", "Synthetic Integrated Care Board", "health"),
    ("seed-education", "Synthetic Schools Trust", "education"),
    ("seed-yjs", "Synthetic Youth Justice Service", "youth_justice"),
    ("seed-voluntary", "Synthetic Exploitation Support Charity", "voluntary"),
)

# Each child's underlying risk; the level of each assessment drifts around it.
BASE_LEVELS = (("none", 0.40), ("low", 0.32), ("medium", 0.18), ("high", 0.10))
ETHNICITIES = (
    ("WBRI", 0.62),
    ("MWBC", 0.05),
    ("MWBA", 0.03),
    ("APKN", 0.05),
    ("AIND", 0.03),
    ("BAFR", 0.05),
    ("BCRB", 0.03),
    ("WOTH", 0.04),
    ("OOTH", 0.03),
    ("REFU", 0.02),
    (None, 0.05),
)
SERVICES_FOR_INDICATOR = {
    "substance_use": "substance_misuse",
    "substances_supplied_by_adults": "substance_misuse",
    "online_exploitation": "online_safety",
    "radicalisation_concern": "prevent",
}
OTHER_SERVICES = ("sexual_health", "camhs", "specialist_exploitation", "youth_service", "other")
NOTES = (
    "Strategy discussion held; safety plan agreed with the child and carer.",
    "Seen with older peers near the transport hub late in the evening.",
    "Return home interview offered; the child engaged well.",
    "School reports improved attendance this half term.",
    "New phone seen; the child would not say who bought it.",
)
# Occasional victim-blaming wording, so the language check has something to find.
BLAMING_NOTES = (
    "Reported to be putting themselves at risk by going to the park at night.",
    "Carer says the child is choosing to go missing with her boyfriend.",
)
RATIONALES = (
    "Protective factors at home reduce the risk the tool shows.",
    "Engaging well with the youth worker; the indicators are historical.",
)
CLOSE_REASONS = (
    "Risk reduced and sustained; stepped down to universal services.",
    "Moved out of the area; transferred to the receiving authority.",
    "Assessment found no exploitation concern.",
)


@dataclass(slots=True)
class Rows:
    """The rows of one batch of cases, table by table, in foreign-key order."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    subject_identifiers: list[dict[str, Any]] = field(default_factory=list)
    case_agencies: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    missing_episodes: list[dict[str, Any]] = field(default_factory=list)
    case_events: list[dict[str, Any]] = field(default_factory=list)
    case_status_changes: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        return [
            (Case.__table__, self.cases),
            (SubjectIdentifier.__table__, self.subject_identifiers),
            (CaseAgency.__table__, self.case_agencies),
            (Assessment.__table__, self.assessments),
            (MissingEpisode.__table__, self.missing_episodes),
            (CaseEvent.__table__, self.case_events),
            (CaseStatusChange.__table__, self.case_status_changes),
            (Decision.__table__, self.decisions),
            (Action.__table__, self.actions),
        ]

    def extend(self, other: Rows) -> None:
        for (_, mine), (_, theirs) in zip(self.tables(), other.tables(), strict=True):
            mine.extend(theirs)

    def count(self) -> int:
        return sum(len(rows) for _, rows in self.tables())


@dataclass(slots=True)
class SeedReport:
    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    open_cases: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rows = ", ".join(f"{name} {n}" for name, n in self.rows.items())
        levels = ", ".join(f"{lv} {n}" for lv, n in self.levels.items())
        return (
            f"seeded {self.cases} cases ({self.open_cases} open) in {self.seconds:.1f} s; "
            f"rows: {rows}; current levels: {levels}"
        )


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    x = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _nhs_number(rng: random.Random) -> str:
    """Ten digits with a valid Modulus 11 check digit."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def indicator_pools(tool: RiskTool, seed: int, size: int = 300) -> dict[str, list[list[str]]]:
    """For each level, indicator sets whose score alone gives that level (floors aside)."""
    rng = random.Random(f"pools:{seed}")
    catalogue = list(tool.indicators().values())
    bands = {t.level.value: t.min_score for t in tool.thresholds}
    order = ["none", "low", "medium", "high"]
    pools: dict[str, list[list[str]]] = {"none": [[]]}
    for i, level in enumerate(order[1:], start=1):
        low = bands[level]
        high = bands[order[i + 1]] if i + 1 < len(order) else 10**6
        pool: list[list[str]] = []
        while len(pool) < size:
            chosen: list[str] = []
            total = 0
            for ind in rng.sample(catalogue, len(catalogue)):
                if total >= low:
                    break
                if total + ind.weight < high:
                    chosen.append(ind.code)
                    total += ind.weight
            if low <= total < high:
                pool.append(chosen)
        pools[level] = pool
    return pools


@dataclass(frozen=True, slots=True)
class Plan:
    """What every case generator shares: the partnership, the tool and the moment."""

    seed: int
    as_of: dt.datetime
    secret: str
    agencies: dict[str, uuid.UUID]  # kind -> id
    tool: RiskTool
    pools: dict[str, list[list[str]]]
    # kind -> (start times, meeting ids) of the past meetings, in time order
    meetings: dict[str, tuple[list[dt.datetime], list[uuid.UUID]]] = field(default_factory=dict)


def _drift(rng: random.Random, base: str) -> str:
    r = rank(base)
    x = rng.random()
    if x < 0.10:
        r += 1
    elif x < 0.22:
        r -= 1
    return ("none", "low", "medium", "high")[max(0, min(3, r))]


def generate_case(plan: Plan, number: int) -> tuple[Rows, str | None]:
    """One child's case and its whole history; returns the rows and the current level."""
    rng = random.Random(f"{plan.seed}:{number}")
    a = plan.agencies
    as_of = plan.as_of
    rows = Rows()
    case_id = _uuid(rng)
    created_at = as_of - HISTORY * (rng.random() ** 1.15)  # a little busier recently
    created_at = created_at.replace(microsecond=0)
    base = _pick(rng, BASE_LEVELS)
    lead = _pick(
        rng, ((a["local_authority"], 0.85), (a["police"], 0.10), (a["youth_justice"], 0.05))
    )
    source = rng.choice(list(a.values()))
    age_at_referral = rng.randint(10, 17)
    referral_day = (created_at - DAY * rng.randint(0, 5)).date()
    birth = referral_day.replace(day=1) - dt.timedelta(days=365 * age_at_referral)
    birth_month = f"{birth.year:04d}-{rng.randint(1, 12):02d}"
    looked_after = rng.random() < 0.25
    involved: set[uuid.UUID] = {lead}

    # Older cases are mostly closed; high-risk ones stay open longer.
    close_after = {
        "none": (30, 240, 0.9),
        "low": (45, 300, 0.85),
        "medium": (90, 420, 0.7),
        "high": (150, 540, 0.5),
    }[base]
    closed_at: dt.datetime | None = None
    if rng.random() < close_after[2]:
        planned = created_at + DAY * rng.uniform(close_after[0], close_after[1])
        if planned < as_of - HOUR:
            closed_at = planned.replace(microsecond=0)
    end = closed_at or as_of

    def moment(start: dt.datetime, stop: dt.datetime) -> dt.datetime:
        return (start + (stop - start) * rng.random()).replace(microsecond=0)

    def recorded(at: dt.datetime) -> dt.datetime:
        delay = HOUR * rng.uniform(0.05, 6) if rng.random() < 0.9 else DAY * rng.uniform(1, 10)
        return min(at + delay, as_of)

    # Assessments at the review interval of each level, mostly on time.
    assessments: list[dict[str, Any]] = []
    first_indicator_at: dict[str, dt.datetime] = {}
    # Most are assessed within the first week; a few wait weeks (the no_assessment flag).
    t = created_at + DAY * (rng.uniform(0.2, 6) if rng.random() < 0.92 else rng.uniform(8, 60))

    def assess(t: dt.datetime, target: str, agency: uuid.UUID) -> dt.timedelta | None:
        indicators = list(rng.choice(plan.pools[target]))
        score, calculated = calculated_level(plan.tool, indicators, birth_month, t.date())
        judgement = None
        rationale = None
        if calculated != "none" and rng.random() < 0.03:
            judgement = ("none", "low", "medium", "high")[rank(calculated) - 1]
            rationale = rng.choice(RATIONALES)
        level = judgement or calculated
        interval = plan.tool.review_interval(level)
        assessed_at = t.replace(microsecond=0)
        for code in indicators:
            first_indicator_at.setdefault(code, assessed_at)
        assessments.append(
            {
                "id": _uuid(rng),
                "case_id": case_id,
                "agency_id": agency,
                "assessed_at": assessed_at,
                "tool_version": plan.tool.version,
                "indicators": indicators,
                "score": score,
                "calculated_level": calculated,
                "judgement_level": judgement,
                "judgement_rationale": rationale,
                "level": level,
                "next_review_due": assessed_at + interval if interval else None,
                "notes": rng.choice(NOTES) if rng.random() < 0.05 else None,
                "corrects_id": None,
                "recorded_at": recorded(assessed_at),
            }
        )
        involved.add(agency)
        return interval

    while t < end:
        target = _drift(rng, base) if assessments else base
        agency = lead if rng.random() < 0.7 else rng.choice((a["police"], a["health"], lead))
        interval = assess(t, target, agency)
        if rng.random() < 0.03:
            # Another agency sees it very differently within days (assessor disagreement).
            other = "high" if rank(target) <= 1 else "none"
            seen_at = t + DAY * rng.uniform(1, 10)
            if seen_at < end:
                assess(seen_at, other, a["police"] if agency != a["police"] else a["health"])
        if interval is None:
            if rng.random() < 0.5:
                break
            t += DAY * rng.uniform(60, 200)
        elif rng.random() < 0.9:
            t += interval * rng.uniform(0.6, 1.0)
        else:
            t += interval * rng.uniform(1.05, 1.8)  # a late review: overdue for a while
    current_level = None
    current: dict[str, Any] = {
        "current_assessment_id": None,
        "current_review_due": None,
        "current_judgement_differs": None,
        "current_indicators": None,
    }
    if assessments:
        latest = max(assessments, key=lambda r: (r["assessed_at"], r["recorded_at"], r["id"]))
        current_level = latest["level"]
        current = {
            "current_assessment_id": latest["id"],
            "current_review_due": latest["next_review_due"],
            "current_judgement_differs": latest["judgement_level"] is not None
            and latest["judgement_level"] != latest["calculated_level"],
            "current_indicators": latest["indicators"],
        }
    rows.assessments = assessments

    # Missing episodes, clustered in bursts in some children.
    p_missing = {"none": 0.03, "low": 0.10, "medium": 0.3, "high": 0.6}[base]
    if rng.random() < p_missing:
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            start = moment(created_at, end)
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5))):
                if start >= end:
                    break
                duration = HOUR * min(rng.expovariate(1 / 14) + 1, 120)
                ended = start + duration
                row = _episode(rng, case_id, rng.choice((a["police"], lead)), start, ended, end)
                if row["ended_at"] is None and closed_at is not None:
                    break
                rows.missing_episodes.append(row)
                involved.add(row["agency_id"])
                start = ended + DAY * rng.uniform(3, 30)
    if closed_at is None and rng.random() < {"none": 0.003, "low": 0.01}.get(base, 0.03):
        start = (as_of - HOUR * rng.uniform(2, 90)).replace(microsecond=0)
        if start > created_at:
            rows.missing_episodes.append(_episode(rng, case_id, a["police"], start, None, as_of))
            involved.add(a["police"])

    # Events of every type.
    def event(kind: str, at: dt.datetime, agency: uuid.UUID, service: str | None = None) -> None:
        at = at.replace(microsecond=0)
        if not created_at <= at < end:
            return
        note = None
        x = rng.random()
        if x < 0.04:
            note = rng.choice(NOTES)
        elif x < 0.06:
            note = rng.choice(BLAMING_NOTES)
        rows.case_events.append(
            {
                "id": _uuid(rng),
                "case_id": case_id,
                "agency_id": agency,
                "type": kind,
                "service": service,
                "occurred_at": at,
                "notes": note,
                "corrects_id": None,
                "recorded_at": recorded(at),
            }
        )
        involved.add(agency)

    if looked_after:
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
            event("placement_move", moment(created_at, end), lead)
    if rank(base) >= rank("medium") and rng.random() < 0.35:
        for _ in range(rng.randint(1, 3)):
            arrested = moment(created_at, end)
            event("arrest", arrested, a["police"])
            if rng.random() < 0.4:
                event("charge", arrested + DAY * rng.uniform(1, 20), a["police"])
                if rng.random() < 0.3:
                    event("custody", arrested + DAY * rng.uniform(20, 60), a["youth_justice"])
    if rng.random() < 0.1:
        kind = rng.choice(("education_exclusion", "missing_education"))
        event(kind, moment(created_at, end), a["education"])
    for code, first in first_indicator_at.items():
        service = SERVICES_FOR_INDICATOR.get(code)
        if service and rng.random() < 0.88:
            event("referral", first + DAY * rng.uniform(0.5, 25), lead, service)
    if rng.random() < 0.3:
        event("referral", moment(created_at, end), lead, rng.choice(OTHER_SERVICES))
    if base == "high" and rng.random() < 0.6:
        event("strategy_meeting", moment(created_at, end), lead)
    if rng.random() < 0.08:
        event("disclosure", moment(created_at, end), a["voluntary"])
    if rng.random() < 0.15:
        event("other", moment(created_at, end), rng.choice(list(a.values())))

    # Identifiers: the lead's own reference, and an NHS number held by health for most.
    rows.subject_identifiers.append(
        _identifier(
            plan,
            rng,
            case_id,
            IdentifierScheme.agency_local,
            f"SYN-{plan.seed}-{number:07d}",
            lead,
            created_at,
        )
    )
    if rng.random() < 0.6:
        rows.subject_identifiers.append(
            _identifier(
                plan,
                rng,
                case_id,
                IdentifierScheme.nhs_number,
                _nhs_number(rng),
                a["health"],
                created_at,
            )
        )
        involved.add(a["health"])

    _decisions(plan, number, rows, case_id, base, current_level, created_at, end, involved)

    if closed_at is not None:
        rows.case_status_changes.append(
            {
                "id": _uuid(rng),
                "case_id": case_id,
                "status": "closed",
                "reason": rng.choice(CLOSE_REASONS),
                "agency_id": a["local_authority"],
                "occurred_at": closed_at,
                "recorded_at": closed_at,
            }
        )
    rows.case_agencies = [
        {"case_id": case_id, "agency_id": agency, "since": created_at}
        for agency in sorted(involved)
    ]
    rows.cases.append(
        {
            "id": case_id,
            "pseudonym": PREFIX + "".join(rng.choice(ALPHABET) for _ in range(LENGTH)),
            "status": "closed" if closed_at else "open",
            "birth_month": birth_month,
            "sex": _pick(
                rng, (("female", 0.55), ("male", 0.43), ("other", 0.01), ("unknown", 0.01))
            ),
            "ethnicity": _pick(rng, ETHNICITIES),
            "disability": _pick(rng, ((True, 0.18), (False, 0.72), (None, 0.10))),
            "looked_after": looked_after,
            "lead_agency_id": lead,
            "referral_date": referral_day,
            "referral_source_id": source,
            "current_level": current_level,
            **current,
            "closed_at": closed_at,
            "purged_at": None,
            "created_at": created_at,
            "updated_at": closed_at or created_at,
            "version": 1,
        }
    )
    return rows, current_level


PROGRESS = (("improving", 0.45), ("no_change", 0.4), ("worsening", 0.15))
ACTIONS = (
    "Complete the return home interview and share the findings.",
    "Refer to the specialist exploitation service.",
    "Arrange a strategy discussion with police and education.",
    "Review the safety plan with the child and carer.",
)


def _decisions(
    plan: Plan,
    number: int,
    rows: Rows,
    case_id: uuid.UUID,
    base: str,
    level: str | None,
    created_at: dt.datetime,
    end: dt.datetime,
    involved: set[uuid.UUID],
) -> None:
    """Past DRAM and MACE decisions about the case, with their actions (own random stream)."""
    if not plan.meetings:
        return
    rng = random.Random(f"{plan.seed}:{number}:meetings")
    p = {"none": 0.0, "low": 0.05, "medium": 0.35, "high": 0.7}[base]
    if rng.random() >= p:
        return
    agencies = list(plan.agencies.values())
    used: set[uuid.UUID] = set()
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        kind = "dram" if rng.random() < 0.7 else "mace"
        starts, ids = plan.meetings.get(kind, ([], []))
        lo, hi = bisect.bisect_left(starts, created_at), bisect.bisect_left(starts, end)
        if lo >= hi:
            continue
        i = rng.randrange(lo, hi)
        if ids[i] in used:
            continue
        used.add(ids[i])
        recorded_at = min(starts[i] + HOUR * rng.uniform(0.5, 3), end).replace(microsecond=0)
        decision_id = _uuid(rng)
        rows.decisions.append(
            {
                "id": decision_id,
                "meeting_id": ids[i],
                "meeting_kind": kind,
                "case_id": case_id,
                "agreed_level": level if rng.random() < 0.5 else None,
                "progress": _pick(rng, PROGRESS),
                "escalate_to_mace": kind == "dram" and rng.random() < 0.1,
                "stalled": rng.random() < 0.04,
                "next_review_date": (recorded_at + DAY * rng.randint(7, 42)).date(),
                "summary": "Discussed; actions agreed with the partner agencies.",
                "agency_id": plan.agencies["local_authority"],
                "recorded_at": recorded_at,
            }
        )
        for position in range(rng.choice((0, 1, 1, 2))):
            owner = rng.choice(agencies)
            due = (recorded_at + DAY * rng.randint(7, 28)).date()
            status, changed = "open", None
            x = rng.random()
            if x < 0.85:
                changed = recorded_at + DAY * rng.uniform(1, 30)
                status = "done" if x < 0.8 else "cancelled"
                if changed >= end:
                    status, changed = "open", None
            rows.actions.append(
                {
                    "id": _uuid(rng),
                    "decision_id": decision_id,
                    "position": position,
                    "meeting_id": ids[i],
                    "set_at_meeting_kind": kind,
                    "case_id": case_id,
                    "description": rng.choice(ACTIONS),
                    "owner_agency_id": owner,
                    "due_date": due,
                    "status": status,
                    "status_changed_at": changed.replace(microsecond=0) if changed else None,
                    "overdue_marked_at": None,
                    "created_at": recorded_at,
                }
            )
            involved.add(owner)


async def _past_meetings(
    session: AsyncSession, as_of: dt.datetime
) -> dict[str, tuple[list[dt.datetime], list[uuid.UUID]]]:
    """The DRAM and MACE meetings of the two years of history, closed; made where missing."""
    out: dict[str, tuple[list[dt.datetime], list[uuid.UUID]]] = {}
    start = (as_of - HISTORY - DAY).date()
    for series in await all_series(session):
        rule = rule_of(series)
        existing = {
            row.local_date: row.id
            for row in await session.execute(
                select(Meeting.local_date, Meeting.id).where(
                    Meeting.kind == series.code, Meeting.local_date >= start
                )
            )
        }
        new = []
        starts: list[dt.datetime] = []
        ids: list[uuid.UUID] = []
        for o in occurrences(rule, start, as_of.date()):
            if o.ends_at >= as_of:
                continue
            meeting_id = existing.get(o.local_date)
            if meeting_id is None:
                meeting_id = uuid.uuid5(
                    uuid.NAMESPACE_URL, f"riskreg-seed-meeting:{series.code}:{o.local_date}"
                )
                new.append(
                    {
                        "id": meeting_id,
                        "kind": series.code,
                        "local_date": o.local_date,
                        "timezone": series.timezone,
                        "starts_at": o.starts_at,
                        "ends_at": o.ends_at,
                        "agenda_cutoff": o.agenda_cutoff,
                        "agenda_status": "closed",
                        "published_at": o.agenda_cutoff,
                        "published_as_of": o.agenda_cutoff,
                        "published_by": "riskreg seed",
                        "closed_at": o.ends_at,
                    }
                )
            starts.append(o.starts_at.astimezone(dt.UTC))
            ids.append(meeting_id)
        if new:
            await session.execute(insert(Meeting), new)
        out[series.code] = (starts, ids)
    return out


def _episode(
    rng: random.Random,
    case_id: uuid.UUID,
    agency: uuid.UUID,
    started: dt.datetime,
    ended: dt.datetime | None,
    end: dt.datetime,
) -> dict[str, Any]:
    started = started.replace(microsecond=0)
    if ended is not None:
        ended = ended.replace(microsecond=0)
        if ended >= end:
            ended = None  # still missing at the end of the history
    recorded_at = min(started + HOUR * rng.uniform(0.5, 4), end)
    interview = interview_recorded = ended_recorded = None
    if ended is not None:
        ended_recorded = min(ended + HOUR * rng.uniform(0.2, 8), end)
        x = rng.random()
        if x < 0.9:
            interview = ended + HOUR * rng.uniform(2, 70)
        elif x < 0.97:
            interview = ended + HOUR * rng.uniform(73, 240)
        if interview is not None and interview < end:
            interview = interview.replace(microsecond=0)
            interview_recorded = min(interview + HOUR * rng.uniform(0.5, 24), end)
        else:
            interview = None
    return {
        "id": _uuid(rng),
        "case_id": case_id,
        "agency_id": agency,
        "kind": "missing" if rng.random() < 0.8 else "absent",
        "started_at": started,
        "ended_at": ended,
        "return_interview_at": interview,
        "notes": rng.choice(BLAMING_NOTES) if rng.random() < 0.03 else None,
        "recorded_at": max(recorded_at, started),
        "ended_recorded_at": ended_recorded,
        "return_interview_recorded_at": interview_recorded,
    }


def _identifier(
    plan: Plan,
    rng: random.Random,
    case_id: uuid.UUID,
    scheme: IdentifierScheme,
    value: str,
    agency: uuid.UUID,
    created_at: dt.datetime,
) -> dict[str, Any]:
    return {
        "id": _uuid(rng),
        "case_id": case_id,
        "scheme": scheme.value,
        "digest": subject_digest(plan.secret, scheme, value, agency),
        "agency_id": agency,
        "created_at": created_at,
    }


def generate(plan: Plan, first: int, count: int, taken: set[str], nhs: set[str]) -> Rows:
    """Cases `first` .. `first + count - 1`; pseudonyms and NHS digests kept unique."""
    rows = Rows()
    for number in range(first, first + count):
        case_rows, _ = generate_case(plan, number)
        case = case_rows.cases[0]
        bump = 0
        while case["pseudonym"] in taken:  # rare: redraw deterministically
            bump += 1
            r = random.Random(f"{plan.seed}:{number}:pseudonym:{bump}")
            case["pseudonym"] = PREFIX + "".join(r.choice(ALPHABET) for _ in range(LENGTH))
        taken.add(case["pseudonym"])
        kept = []
        for ident in case_rows.subject_identifiers:
            if ident["scheme"] == "nhs_number":
                if ident["digest"] in nhs:
                    continue  # two synthetic children drew the same NHS number: drop it
                nhs.add(ident["digest"])
            kept.append(ident)
        case_rows.subject_identifiers = kept
        rows.extend(case_rows)
    return rows


def seed_agency_id(code: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"riskreg-seed:{code}")


async def _agency_ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    existing = {
        row.code: row.id
        for row in await session.execute(
            select(Agency.code, Agency.id).where(Agency.code.in_([c for c, _, _ in AGENCIES]))
        )
    }
    out: dict[str, uuid.UUID] = {}
    for code, name, kind in AGENCIES:
        if code not in existing:
            agency_id = seed_agency_id(code)
            await session.execute(
                insert(Agency).values(
                    id=agency_id, code=code, name=name, kind=kind, created_at=utcnow()
                )
            )
            existing[code] = agency_id
        out[kind] = existing[code]
    return out


class Progress:
    """A plain progress bar on standard error: cases done, rate, time left."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        if not self.enabled or self.total == 0:
            return
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else 0.0
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(
            f"\rseeding [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} cases "
            f"{rate:,.0f}/s {elapsed:.0f}s elapsed, ~{left:.0f}s left "
        )
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


async def executemany(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """Core `insert()` with a list of dicts: one executemany through the dialect."""
    if rows:
        await session.execute(insert(table), rows)


async def copy_rows(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the same rows through COPY (asyncpg's binary copy), several times faster."""
    if not rows:
        return
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    records = [
        tuple(json.dumps(row[name]) if name in json_columns else row.get(name) for name in columns)
        for row in rows
    ]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=columns
    )


async def seed(
    db: Database,
    *,
    cases: int,
    seed: int,
    secret: str,
    as_of: dt.datetime | None = None,
    batch: int = 2000,
    progress: bool = True,
    use_copy: bool = True,
) -> SeedReport:
    """Load `cases` synthetic cases with their history up to `as_of` (default: now)."""
    started = time.monotonic()
    as_of = (as_of or utcnow()).replace(microsecond=0)
    async with db.transaction() as session:
        agencies = await _agency_ids(session)
        tool = await active_tool(session)
        meetings = await _past_meetings(session, as_of)
        taken = set(await session.scalars(select(Case.pseudonym)))
        nhs = set(
            await session.scalars(
                select(SubjectIdentifier.digest).where(SubjectIdentifier.scheme == "nhs_number")
            )
        )
    load = copy_rows if db.dialect == "postgresql" and use_copy else executemany
    plan = Plan(seed, as_of, secret, agencies, tool, indicator_pools(tool, seed), meetings)
    if cases:
        first_id = generate_case(plan, 0)[0].cases[0]["id"]
        async with db.transaction() as session:
            if await session.scalar(select(Case.id).where(Case.id == first_id)):
                raise Conflict(f"this database already holds the cases of seed {seed}")
    report = SeedReport(cases=cases)
    bar = Progress(cases, progress)
    bar.update(0)
    for first in range(0, cases, batch):
        count = min(batch, cases - first)
        rows = generate(plan, first, count, taken, nhs)
        async with db.transaction() as session:
            for table, table_rows in rows.tables():
                await load(session, table, table_rows)
        for table, table_rows in rows.tables():
            report.rows[table.name] = report.rows.get(table.name, 0) + len(table_rows)
        for case in rows.cases:
            level = case["current_level"] or "unassessed"
            report.levels[level] = report.levels.get(level, 0) + 1
            report.open_cases += case["status"] == "open"
        bar.update(first + count)
    # Fresh statistics, so the planner sees the new row counts (set-based flags, agendas).
    async with db.transaction() as session:
        await session.execute(text("ANALYZE"))
    report.seconds = time.monotonic() - started
    return report
