"""Request and response shapes for series, meetings, agendas, decisions and actions (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictBool,
    WithJsonSchema,
    field_validator,
)

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

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _iso_date(value: object) -> object:
    # Lax parsing would read 0 or "0" as 1970-01-01: a date here is YYYY-MM-DD, nothing else.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("is a date, YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

# A local wall-clock time ("09:30") in the series' zone: JSON Schema's `time` format demands an
# offset, which a wall-clock time across clock changes must not have.
WallClock = Annotated[
    dt.time,
    BeforeValidator(
        lambda v: v if isinstance(v, dt.time) else _wall_clock(v),
    ),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": _WALL_CLOCK, "examples": ["09:30"]}),
]


def _wall_clock(value: object) -> dt.time:
    if not isinstance(value, str) or not re.match(_WALL_CLOCK, value):
        raise ValueError("is a local time, HH:MM (24-hour)")
    return dt.time(int(value[:2]), int(value[3:]))


class SeriesRead(ResponseModel):
    code: str
    name: str
    time: WallClock = Field(description="local wall-clock start time in `timezone`")
    duration_minutes: int
    cutoff_time: WallClock
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
    time: WallClock | None = None
    duration_minutes: int | None = Field(default=None, ge=5, le=12 * 60)
    cutoff_time: WallClock | None = None
    cutoff_working_days_before: int | None = Field(default=None, ge=0, le=20)
    cadence: Cadence | None = None
    interval_days: int | None = Field(default=None, ge=1, le=366)
    anchor_date: IsoDate | None = None
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
    due_date: IsoDate


class DecisionCreate(RequestModel):
    case_id: uuid.UUID
    agreed_level: RiskLevel | None = None
    progress: Progress
    escalate_to_mace: StrictBool = False
    stalled: StrictBool = False
    next_review_date: IsoDate | None = None
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
