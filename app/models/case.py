"""Cases (one child each), their pseudonymous subject identifiers and involved agencies."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.models.agency import Agency
from app.models.base import Base, created_at_column, uuid_pk


class Case(Base):
    __tablename__ = "cases"
    # Lists page newest first by (created_at, id); new referrals are found by created_at (0005).
    __table_args__ = (Index("ix_cases_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    birth_month: Mapped[str | None] = mapped_column(String(7))
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    ethnicity: Mapped[str | None] = mapped_column(String(4))
    disability: Mapped[bool | None] = mapped_column(Boolean)
    looked_after: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    referral_date: Mapped[dt.date] = mapped_column(Date)
    referral_source_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    # Kept in step with the latest assessment by the risk package, so lists filter in SQL.
    current_level: Mapped[str | None] = mapped_column(String(10), index=True)
    # The latest assessment by (assessed_at, recorded_at, id) and the fields of it the set-based
    # flags filter on, kept with current_level under the case's row lock (app.risk.service).
    current_assessment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    current_review_due: Mapped[dt.datetime | None] = mapped_column(default=None)
    current_judgement_differs: Mapped[bool | None] = mapped_column(Boolean, default=None)
    current_indicators: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    purged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    lead_agency: Mapped[Agency] = relationship(foreign_keys=[lead_agency_id], lazy="raise")
    referral_source: Mapped[Agency | None] = relationship(
        foreign_keys=[referral_source_id], lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}


class SubjectIdentifier(Base):
    """A keyed hash of an identifier; the raw value is never stored."""

    __tablename__ = "subject_identifiers"
    __table_args__ = (UniqueConstraint("scheme", "digest"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[dt.datetime] = created_at_column()


class CaseAgency(Base):
    """Which agencies are involved in a case: the index every access check reads."""

    __tablename__ = "case_agencies"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id"), primary_key=True, index=True
    )
    since: Mapped[dt.datetime] = created_at_column()


class CaseStatusChange(Base):
    """Append-only history of closing and reopening, with the reason given."""

    __tablename__ = "case_status_changes"

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column()
    recorded_at: Mapped[dt.datetime] = created_at_column()
