"""Meeting series, materialised meetings, frozen agenda items, decisions and their actions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.models.base import Base, created_at_column, uuid_pk


class MeetingSeries(Base):
    """The rule a series of meetings follows (`dram`, `mace`); an admin may change it."""

    __tablename__ = "meeting_series"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[dt.time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    cutoff_time: Mapped[dt.time] = mapped_column(Time)
    cutoff_working_days_before: Mapped[int] = mapped_column(Integer)
    cadence: Mapped[str] = mapped_column(String(20))
    interval_days: Mapped[int | None] = mapped_column(Integer)
    anchor_date: Mapped[dt.date | None] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(60))
    horizon_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Meeting(Base):
    """One meeting of a series on one local date; its agenda is claimed here when published."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("kind", "local_date"),
        Index("ix_meetings_agenda_status_agenda_cutoff", "agenda_status", "agenda_cutoff"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(ForeignKey("meeting_series.code"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[dt.datetime] = mapped_column()
    ends_at: Mapped[dt.datetime] = mapped_column()
    agenda_cutoff: Mapped[dt.datetime] = mapped_column()
    agenda_status: Mapped[str] = mapped_column(String(10), default="draft")
    # Set together by the one conditional UPDATE that claims publication.
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    published_as_of: Mapped[dt.datetime | None] = mapped_column(default=None)
    published_by: Mapped[str | None] = mapped_column(String(120), default=None)
    window_start: Mapped[dt.datetime | None] = mapped_column(default=None)
    window_end: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgendaItem(Base):
    """A case on an agenda: frozen at publication (rule items) or added by a coordinator."""

    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(16))
    risk_level: Mapped[str | None] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # "rule", or the code of the coordinator's agency for a manual (late) item.
    added_by: Mapped[str] = mapped_column(String(40))
    late_reason: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[dt.datetime] = created_at_column()


class Decision(Base):
    """What a meeting decided about one case on its agenda; one per agenda item."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("meeting_id", "case_id"),
        Index("ix_decisions_case_id_recorded_at", "case_id", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id"))
    meeting_kind: Mapped[str] = mapped_column(String(10))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    agreed_level: Mapped[str | None] = mapped_column(String(10))
    progress: Mapped[str] = mapped_column(String(10))
    escalate_to_mace: Mapped[bool] = mapped_column(Boolean, default=False)
    stalled: Mapped[bool] = mapped_column(Boolean, default=False)
    next_review_date: Mapped[dt.date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    recorded_at: Mapped[dt.datetime] = created_at_column()


class Action(Base):
    """An action a decision set; only its status changes after it is recorded."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("decision_id", "position"),
        Index("ix_actions_status_due_date", "status", "due_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id"))
    position: Mapped[int] = mapped_column(Integer)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id"))
    set_at_meeting_kind: Mapped[str] = mapped_column(String(10))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Claimed once by the overdue job (conditional UPDATE), so an overdue notice goes out once.
    overdue_marked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = created_at_column()
