"""The agenda builder: which cases a meeting discusses as of a moment, and why.

DRAM: open cases carrying a DRAM flag as of the cutoff, over the window from the previous
DRAM's cutoff. MACE: open cases that are high risk, stalled, escalated by a DRAM decision since
the previous MACE, or owning an overdue action set at a MACE. Pure given its inputs: the same
records and moment give the same items.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.priority import order_key, priority
from app.models import Meeting


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


async def rule_items(
    session: AsyncSession, meeting: Meeting, as_of: dt.datetime, window: AgendaWindow
) -> list[ProposedItem]:
    """The cases the agenda rules put on this meeting's agenda as of `as_of`.

    UNFINISHED: the rules evaluate the risk package's flags (`app.risk.flags`), which are not
    on main yet; until they are, no case is put on an agenda by rule.
    """
    return []


async def case_reasons(
    session: AsyncSession,
    meeting: Meeting,
    case_id: uuid.UUID,
    at: dt.datetime,
    window: AgendaWindow,
) -> tuple[str | None, list[dict[str, Any]]]:
    """A case's current level and the reasons it would be discussed at this kind of meeting.

    UNFINISHED until the risk package's flags are on main (see `rule_items`).
    """
    return None, []
