"""The agenda builder: which cases a meeting discusses as of a moment, and why.

DRAM: open cases carrying a DRAM flag as of the cutoff, over the window from the previous
DRAM's cutoff. MACE: open cases that are high risk, stalled, escalated by a DRAM decision since
the previous MACE, or owning an overdue action set at a MACE. The flags come from the risk
package's rules over the records the register knew at that moment, so the same records and
moment give the same items however many records arrive later.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.gcpause import gc_paused
from app.meetings.priority import order_key, priority
from app.metrics import AGENDA_BUILD
from app.models import Meeting
from app.risk.evaluation import load_case_records
from app.risk.flags import (
    DRAM_FLAGS,
    MACE_FLAGS,
    WARNING,
    AssessmentFacts,
    CaseRecords,
    DecisionFacts,
    Flag,
    Window,
    evaluate,
    latest_assessment,
    london_date,
    when,
)
from app.risk.setbased import case_facts, flagged_cases, mace_criteria_set_based

BATCH = 500  # cases evaluated per round of queries


@dataclass(frozen=True, slots=True)
class AgendaWindow:
    start: dt.datetime
    end: dt.datetime


@dataclass(slots=True)
class ProposedItem:
    case_id: uuid.UUID
    pseudonym: str
    risk_level: str | None
    reasons: list[dict[str, Any]]
    priority: int = field(default=0)

    def __post_init__(self) -> None:
        self.priority = priority(self.risk_level, self.reasons)


def ordered(items: list[ProposedItem]) -> list[ProposedItem]:
    return sorted(items, key=lambda i: order_key(i.priority, i.pseudonym))


def reason(flag: Flag) -> dict[str, Any]:
    """A flag as stored in an agenda item (JSON)."""
    return {
        "code": flag.code,
        "severity": flag.severity,
        "since": flag.since.isoformat() if flag.since else None,
        "detail": flag.detail,
        "evidence": [str(e) for e in flag.evidence],
    }


def dram_reasons(records: CaseRecords, at: dt.datetime, window: Window) -> list[Flag]:
    return [f for f in evaluate(records, at, window) if f.code in DRAM_FLAGS]


def risk_high_flag(current: AssessmentFacts) -> Flag:
    return Flag(
        "risk_high",
        WARNING,
        current.assessed_at,
        f"Current risk level is high (assessed {when(current.assessed_at)}).",
        (current.id,),
    )


def escalated_flag(escalations: list[DecisionFacts]) -> Flag | None:
    """From the DRAM decisions escalating the case to MACE in the window (any order)."""
    if not escalations:
        return None
    ordered_ = sorted(escalations, key=lambda d: (d.recorded_at, d.id))
    return Flag(
        "escalated_by_dram",
        WARNING,
        ordered_[0].recorded_at,
        f"Escalated to MACE by the DRAM on {when(ordered_[0].recorded_at)}"
        + (f" and {len(ordered_) - 1} more time(s)" if len(ordered_) > 1 else "")
        + ".",
        tuple(d.id for d in ordered_),
    )


def mace_criteria(current: AssessmentFacts | None, escalations: list[DecisionFacts]) -> list[Flag]:
    """The MACE criteria that are flags: high now, escalated by a DRAM since the last MACE."""
    criteria = [risk_high_flag(current)] if current is not None and current.level == "high" else []
    escalated = escalated_flag(escalations)
    return criteria + ([escalated] if escalated else [])


def mace_reasons(
    records: CaseRecords, at: dt.datetime, window: Window, *, require: bool = True
) -> list[Flag]:
    """Why a case is on a MACE agenda; empty when none of the MACE criteria hold.

    The criteria (SPEC §2) lead the reasons; the other MACE flags follow as context.
    """
    flags = evaluate(records, at, window)
    criteria = mace_criteria(
        latest_assessment(records.assessments, at),
        [
            d
            for d in records.decisions
            if d.meeting_kind == "dram" and d.escalate_to_mace and d.recorded_at in window
        ],
    )
    today = london_date(at)
    overdue_mace_actions = [
        a
        for a in records.actions
        if a.set_at_meeting_kind == "mace" and a.status == "open" and a.due_date < today
    ]
    qualifies = bool(criteria or overdue_mace_actions or any(f.code == "stalled" for f in flags))
    if require and not qualifies:
        return []
    return criteria + [f for f in flags if f.code in MACE_FLAGS]


async def rule_items(
    session: AsyncSession, meeting: Meeting, as_of: dt.datetime, window: AgendaWindow
) -> list[ProposedItem]:
    """The cases the agenda rules put on this meeting's agenda as of `as_of`, in order."""
    started = time.perf_counter()
    try:
        with gc_paused():
            return await _rule_items(session, meeting, as_of, window)
    finally:
        AGENDA_BUILD.labels(meeting.kind).observe(time.perf_counter() - started)


async def _rule_items(
    session: AsyncSession, meeting: Meeting, as_of: dt.datetime, window: AgendaWindow
) -> list[ProposedItem]:
    flag_window = Window(window.start, window.end)
    if meeting.kind == "dram":
        return await _dram_items(session, as_of, flag_window)
    return await _mace_items(session, as_of, flag_window)


async def _mace_items(
    session: AsyncSession, as_of: dt.datetime, window: Window
) -> list[ProposedItem]:
    """Set-based: the MACE flags and the MACE criteria in SQL over all open cases."""
    flagged = await flagged_cases(session, MACE_FLAGS, as_of, window, open_only=True)
    criteria = await mace_criteria_set_based(session, as_of, window)
    qualifying = criteria.qualifying | {
        case_id for case_id, c in flagged.items() if any(f.code == "stalled" for f in c.flags)
    }
    facts = await case_facts(session, qualifying - flagged.keys(), as_of)
    items = []
    for case_id in qualifying:
        found = flagged.get(case_id)
        if found is not None:
            pseudonym, level, flags = found.pseudonym, found.level, found.flags
        elif case_id in facts and facts[case_id][0] == "open":
            _, pseudonym, level = facts[case_id]
            flags = []
        else:
            continue  # not open at `as_of`
        reasons = mace_criteria(
            criteria.current.get(case_id), criteria.escalations.get(case_id, [])
        )
        items.append(ProposedItem(case_id, pseudonym, level, [reason(f) for f in reasons + flags]))
    return ordered(items)


async def _dram_items(
    session: AsyncSession, as_of: dt.datetime, window: Window
) -> list[ProposedItem]:
    """Set-based: every DRAM flag's selection in SQL over all open cases (app.risk.setbased)."""
    flagged = await flagged_cases(session, DRAM_FLAGS, as_of, window, open_only=True)
    return ordered(
        [
            ProposedItem(case_id, c.pseudonym, c.level, [reason(f) for f in c.flags])
            for case_id, c in flagged.items()
        ]
    )


async def case_reasons(
    session: AsyncSession,
    meeting: Meeting,
    case_id: uuid.UUID,
    at: dt.datetime,
    window: AgendaWindow,
) -> tuple[str | None, list[dict[str, Any]]]:
    """A case's level and the flags of this kind of meeting, for an item added by hand."""
    records = (await load_case_records(session, [case_id], at)).get(case_id)
    if records is None:
        return None, []
    flag_window = Window(min(window.start, at), at)
    if meeting.kind == "dram":
        flags = dram_reasons(records, at, flag_window)
    else:
        flags = mace_reasons(records, at, flag_window, require=False)
    current = latest_assessment(records.assessments, at)
    return (current.level if current else None), [reason(f) for f in flags]
