"""Agencies and the API keys their people and systems call with."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, created_at_column, uuid_pk


class AgencyKind(enum.StrEnum):
    local_authority = "local_authority"
    police = "police"
    health = "health"
    education = "education"
    youth_justice = "youth_justice"
    voluntary = "voluntary"
    other = "other"


class Role(enum.StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    chair = "chair"
    practitioner = "practitioner"
    partner = "partner"
    auditor = "auditor"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = created_at_column()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    agency: Mapped[Agency] = relationship(lazy="raise")
