"""Shapes for agencies and API keys."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from app.models import AgencyKind, Role
from app.schemas import RequestModel, ResponseModel


class AgencyCreate(RequestModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$", description="a slug, e.g. wyp-police")
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind


class AgencyRead(ResponseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: AgencyKind
    created_at: dt.datetime


class ApiKeyCreate(RequestModel):
    agency: str = Field(description="agency code")
    role: Role
    name: str = Field(min_length=1, max_length=200)


class ApiKeyCreated(ResponseModel):
    id: uuid.UUID
    key: str = Field(description="the secret: shown this once, stored only as a hash")
    agency: str
    role: Role
    name: str
    created_at: dt.datetime
