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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.priority import order_key, priority
from app.metrics import AGENDA_BUILD
from app.models import Case, Decision, Meeting
from app.risk.candidates import candidate_cases
from app.risk.evaluation import among, load_case_records
from app.risk.flags import (
    DRAM_FLAGS,
    MACE_FLAGS,
    WARNING,
    CaseRecords,
    Flag,
    Window,
    evaluate,
    latest_assessment,
    london_date,
    when,
)
from app.risk.setbased import flagged_cases

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


def mace_reasons(
    records: CaseRecords, at: dt.datetime, window: Window, *, require: bool = True
) -> list[Flag]:
    """Why a case is on a MACE agenda; empty when none of the MACE criteria hold.

    The criteria (SPEC §2) lead the reasons; the other MACE flags follow as context.
    """
    flags = evaluate(records, at, window)
    criteria: list[Flag] = []
    current = latest_assessment(records.assessments, at)
    if current is not None and current.level == "high":
        criteria.append(
            Flag(
                "risk_high",
                WARNING,
                current.assessed_at,
                f"Current risk level is high (assessed {when(current.assessed_at)}).",
                (current.id,),
            )
        )
    escalations = [
        d
        for d in records.decisions
        if d.meeting_kind == "dram" and d.escalate_to_mace and d.recorded_at in window
    ]
    if escalations:
        criteria.append(
            Flag(
                "escalated_by_dram",
                WARNING,
                escalations[0].recorded_at,
                f"Escalated to MACE by the DRAM on {when(escalations[0].recorded_at)}"
                + (f" and {len(escalations) - 1} more time(s)" if len(escalations) > 1 else "")
                + ".",
                tuple(d.id for d in escalations),
            )
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


async def _candidates(
    session: AsyncSession, kind: str, as_of: dt.datetime, window: Window
) -> list[tuple[uuid.UUID, str]]:
    """The cases that may be on this agenda: SQL narrows over all cases (set-based), so the
    rules below run on the candidates only, never on every open case.

    MACE: cases that may be high or stalled or own an
    overdue action (the `stalled` and `actions_overdue` conditions), or that a DRAM decision
    in the window escalated. The loader then settles the status as of `as_of`.
    """
    codes = frozenset({"stalled", "actions_overdue"})
    ids = set(await candidate_cases(session, codes, as_of, window, open_only=True))
    if kind != "dram":
        ids.update(
            await session.scalars(
                select(Decision.case_id).where(
                    Decision.meeting_kind == "dram",
                    Decision.escalate_to_mace.is_(True),
                    Decision.recorded_at > window.start,
                    Decision.recorded_at <= min(window.end, as_of),
                )
            )
        )
    if not ids:
        return []
    rows = await session.execute(
        select(Case.id, Case.pseudonym)
        .where(among(session, Case.id, sorted(ids)))
        .order_by(Case.id)
    )
    return [(r[0], r[1]) for r in rows]


async def rule_items(
    session: AsyncSession, meeting: Meeting, as_of: dt.datetime, window: AgendaWindow
) -> list[ProposedItem]:
    """The cases the agenda rules put on this meeting's agenda as of `as_of`, in order."""
    started = time.perf_counter()
    try:
        return await _rule_items(session, meeting, as_of, window)
    finally:
        AGENDA_BUILD.labels(meeting.kind).observe(time.perf_counter() - started)


async def _rule_items(
    session: AsyncSession, meeting: Meeting, as_of: dt.datetime, window: AgendaWindow
) -> list[ProposedItem]:
    flag_window = Window(window.start, window.end)
    if meeting.kind == "dram":
        return await _dram_items(session, as_of, flag_window)
    candidates = await _candidates(session, meeting.kind, as_of, flag_window)
    items: list[ProposedItem] = []
    for n in range(0, len(candidates), BATCH):
        batch = candidates[n : n + BATCH]
        records = await load_case_records(session, [c[0] for c in batch], as_of)
        for case_id, pseudonym in batch:
            r = records.get(case_id)
            if r is None or r.case.status != "open":
                continue
            flags = mace_reasons(r, as_of, flag_window)
            if not flags:
                continue
            current = latest_assessment(r.assessments, as_of)
            items.append(
                ProposedItem(
                    case_id,
                    pseudonym,
                    current.level if current else None,
                    [reason(f) for f in flags],
                )
            )
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
