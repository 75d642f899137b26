"""Shapes of webhook subscriptions and deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import Field

from app.schemas import RequestModel, ResponseModel


class WebhookEvent(StrEnum):
    case_created = "case.created"
    risk_level_changed = "risk.level_changed"
    missing_started = "missing.started"
    missing_ended = "missing.ended"
    agenda_published = "agenda.published"
    action_overdue = "action.overdue"


class WebhookCreate(RequestModel):
    url: str = Field(min_length=8, max_length=2000)
    events: list[WebhookEvent] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=200)


class WebhookRead(ResponseModel):
    id: uuid.UUID
    url: str
    events: list[WebhookEvent]
    agency: str
    description: str | None
    created_at: dt.datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="HMAC-SHA256 signing secret: shown this once")


class DeliveryRead(ResponseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
