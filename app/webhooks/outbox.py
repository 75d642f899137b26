"""Record an event for partner systems in the caller's transaction, fanned out to subscribers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import CaseAgency, OutboxEvent, WebhookDelivery, WebhookSubscription


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    case_id: uuid.UUID | None = None,
) -> OutboxEvent | None:
    """Write the event and one pending delivery per matching subscription (same transaction).

    A subscription that does not see every case only gets events about cases its agency is
    involved in. Nothing is written when no one subscribes.
    """
    subscriptions = list(
        (
            await session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.deleted_at.is_(None))
            )
        ).all()
    )
    wanted = [s for s in subscriptions if event_type in s.events]
    if not wanted:
        return None
    if case_id is not None and not all(s.all_cases for s in wanted):
        involved = set(
            await session.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == case_id))
        )
        wanted = [s for s in wanted if s.all_cases or s.agency_id in involved]
        if not wanted:
            return None
    now = utcnow()
    event = OutboxEvent(
        id=uuid.uuid4(), type=event_type, case_id=case_id, created_at=now, payload={}
    )
    event.payload = {
        "id": str(event.id),
        "type": event_type,
        "occurred_at": now.isoformat(),
        "case_id": str(case_id) if case_id else None,
        "data": data,
    }
    session.add(event)
    await session.flush()
    session.add_all(
        WebhookDelivery(subscription_id=s.id, event_id=event.id, next_attempt_at=now)
        for s in wanted
    )
    await session.flush()
    return event
