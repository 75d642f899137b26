"""Request and response shapes for series, meetings, agendas, decisions and actions (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from app.cases.schemas import FlagRead
from app.risk.schemas import LanguageFinding
from app.schemas import RequestModel, ResponseModel


class MeetingKind(StrEnum):
    dram = "dram"
    mace = "mace"


class AgendaStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"


class Progress(StrEnum):
    improving = "improving"
    no_change = "no_change"
    worsening = "worsening"


class RiskLevel(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


class ActionStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


Cadence = Literal["working_days", "interval"]


class SeriesRead(ResponseModel):
    code: str
    name: str
    time: dt.time = Field(description="local wall-clock start time in `timezone`")
    duration_minutes: int
    cutoff_time: dt.time
    cutoff_working_days_before: int = Field(
        description="the agenda cutoff is this many working days before the meeting (0: same day)"
    )
    cadence: Cadence
    interval_days: int | None
    anchor_date: dt.date | None
    timezone: str
    horizon_days: int
    updated_at: dt.datetime


class SeriesUpdate(RequestModel):
    """An admin's change to a series; every field optional, unknown fields refused."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    time: dt.time | None = None
    duration_minutes: int | None = Field(default=None, ge=5, le=12 * 60)
    cutoff_time: dt.time | None = None
    cutoff_working_days_before: int | None = Field(default=None, ge=0, le=20)
    cadence: Cadence | None = None
    interval_days: int | None = Field(default=None, ge=1, le=366)
    anchor_date: dt.date | None = None
    timezone: str | None = Field(default=None, max_length=60)
    horizon_days: int | None = Field(default=None, ge=84, le=730)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name (e.g. Europe/London)") from None
        return value

    @field_validator("time", "cutoff_time")
    @classmethod
    def _naive_time(cls, value: dt.time | None) -> dt.time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("is a local wall-clock time without an offset (e.g. 09:30)")
        return value


class MeetingRead(ResponseModel):
    id: uuid.UUID
    kind: MeetingKind
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    agenda_cutoff: dt.datetime
    agenda_status: AgendaStatus
    published_at: dt.datetime | None
    timezone: str


class Window(ResponseModel):
    start: dt.datetime
    end: dt.datetime


class AgendaItemRead(ResponseModel):
    case_id: uuid.UUID
    pseudonym: str
    risk_level: str | None
    priority: int
    reasons: list[FlagRead]
    added_by: str
    late_reason: str | None = None


class AgendaRead(ResponseModel):
    meeting: MeetingRead
    as_of: dt.datetime
    window: Window | None
    status: AgendaStatus
    items: list[AgendaItemRead]


class LateItemCreate(RequestModel):
    case_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=2000)


class ActionCreate(RequestModel):
    description: str = Field(min_length=1, max_length=2000)
    owner_agency: str = Field(min_length=1, max_length=40)
    due_date: dt.date


class DecisionCreate(RequestModel):
    case_id: uuid.UUID
    agreed_level: RiskLevel | None = None
    progress: Progress
    escalate_to_mace: bool = False
    stalled: bool = False
    next_review_date: dt.date | None = None
    summary: str = Field(min_length=1, max_length=4000)
    actions: list[ActionCreate] = Field(default_factory=list, max_length=50)


class ActionRead(ResponseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    description: str
    owner_agency: str
    due_date: dt.date
    status: ActionStatus
    overdue: bool


class DecisionRead(ResponseModel):
    id: uuid.UUID
    meeting_id: uuid.UUID
    case_id: uuid.UUID
    agreed_level: RiskLevel | None
    progress: Progress
    escalate_to_mace: bool
    stalled: bool
    next_review_date: dt.date | None
    summary: str
    recorded_at: dt.datetime
    agency: str
    actions: list[ActionRead]
    language_warnings: list[LanguageFinding] = Field(
        default_factory=list, description="victim-blaming language in the summary (SPEC §5)"
    )


class ActionUpdate(RequestModel):
    status: ActionStatus
