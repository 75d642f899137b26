"""Risk records: tool versions, assessments, missing episodes and contextual events.

All append-only but for the fields SPEC §1 names (an episode's end and return interview).
Each carries when it happened and when the register learned of it (`recorded_at`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column, uuid_pk


class RiskToolVersion(Base):
    """A version of the indicator catalogue; the definition is the validated JSON document."""

    __tablename__ = "risk_tool_versions"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = created_at_column()


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_case_id_assessed_at", "case_id", "assessed_at"),
        # Set-based flags find what changed in a window across all cases (0005).
        Index("ix_assessments_recorded_at", "recorded_at"),
        Index("ix_assessments_assessed_at", "assessed_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    assessed_at: Mapped[dt.datetime] = mapped_column()
    tool_version: Mapped[str] = mapped_column(ForeignKey("risk_tool_versions.version"))
    indicators: Mapped[list[str]] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    calculated_level: Mapped[str] = mapped_column(String(10))
    judgement_level: Mapped[str | None] = mapped_column(String(10))
    judgement_rationale: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))
    next_review_due: Mapped[dt.datetime | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"))
    recorded_at: Mapped[dt.datetime] = created_at_column()


class MissingEpisode(Base):
    __tablename__ = "missing_episodes"
    __table_args__ = (
        Index("ix_missing_episodes_case_id_started_at", "case_id", "started_at"),
        Index("ix_missing_episodes_recorded_at", "recorded_at"),
        Index("ix_missing_episodes_started_at", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    return_interview_at: Mapped[dt.datetime | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = created_at_column()
    ended_recorded_at: Mapped[dt.datetime | None] = mapped_column()
    return_interview_recorded_at: Mapped[dt.datetime | None] = mapped_column()


class CaseEvent(Base):
    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_id_occurred_at", "case_id", "occurred_at"),
        Index("ix_case_events_recorded_at", "recorded_at"),
        Index("ix_case_events_type_occurred_at", "type", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    type: Mapped[str] = mapped_column(String(30))
    service: Mapped[str | None] = mapped_column(String(30))
    occurred_at: Mapped[dt.datetime] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_events.id"))
    recorded_at: Mapped[dt.datetime] = created_at_column()
