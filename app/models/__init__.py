"""All ORM models, imported here so Alembic sees the whole schema."""

from app.models.agency import Agency, AgencyKind, ApiKey, Role
from app.models.audit import AuditEntry, AuditHead
from app.models.base import Base
from app.models.case import Case, CaseAgency, CaseStatusChange, SubjectIdentifier
from app.models.idempotency import IdempotencyRecord
from app.models.meetings import Action, AgendaItem, Decision, Meeting, MeetingSeries
from app.models.risk import Assessment, CaseEvent, MissingEpisode, RiskToolVersion
from app.models.webhooks import OutboxEvent, WebhookDelivery, WebhookSubscription

__all__ = [
    "Action",
    "Agency",
    "AgendaItem",
    "AgencyKind",
    "Assessment",
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseAgency",
    "CaseEvent",
    "CaseStatusChange",
    "Decision",
    "IdempotencyRecord",
    "Meeting",
    "MeetingSeries",
    "MissingEpisode",
    "OutboxEvent",
    "RiskToolVersion",
    "Role",
    "SubjectIdentifier",
    "WebhookDelivery",
    "WebhookSubscription",
]
