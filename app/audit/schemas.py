"""Shapes of the audit log as the API shows it."""

from __future__ import annotations

import datetime as dt
import uuid

from app.schemas import ResponseModel


class AuditEntryRead(ResponseModel):
    id: int
    at: dt.datetime
    key_id: uuid.UUID | None
    agency: str | None
    role: str | None
    action: str
    case_id: uuid.UUID | None
    outcome: int
    request_id: str
    prev_hash: str
    hash: str
