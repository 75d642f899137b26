"""Webhook subscriptions: admins see all, a partner manages its own agency's."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.db import utcnow
from app.errors import NotFound, field_error
from app.models import Agency, OutboxEvent, Role, WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookEvent,
    WebhookRead,
)
from app.webhooks.urls import UnsafeTarget, check_target


def _visible(principal: Principal):  # type: ignore[no-untyped-def]
    stmt = select(WebhookSubscription, Agency.code).join(
        Agency, Agency.id == WebhookSubscription.agency_id
    )
    stmt = stmt.where(WebhookSubscription.deleted_at.is_(None))
    if principal.role is not Role.admin:
        stmt = stmt.where(WebhookSubscription.agency_id == principal.agency_id)
    return stmt


def _read(sub: WebhookSubscription, agency: str) -> WebhookRead:
    return WebhookRead(
        id=sub.id,
        url=sub.url,
        events=[WebhookEvent(e) for e in sub.events],
        agency=agency,
        description=sub.description,
        created_at=sub.created_at,
    )


async def create_subscription(
    session: AsyncSession,
    principal: Principal,
    body: WebhookCreate,
    *,
    require_https: bool,
    allow_private: bool,
) -> WebhookCreated:
    principal.require("webhook.manage")
    try:
        await check_target(body.url, require_https=require_https, allow_private=allow_private)
    except UnsafeTarget as exc:
        raise field_error(["body", "url"], str(exc)) from None
    sub = WebhookSubscription(
        id=uuid.uuid4(),
        agency_id=principal.agency_id,
        all_cases=principal.role is Role.admin,
        url=body.url,
        events=sorted({e.value for e in body.events}),
        secret="whsec_" + secrets.token_urlsafe(32),
        description=body.description,
        created_at=utcnow(),
    )
    session.add(sub)
    await session.flush()
    return WebhookCreated(**_read(sub, principal.agency_code).model_dump(), secret=sub.secret)


async def list_subscriptions(session: AsyncSession, principal: Principal) -> list[WebhookRead]:
    principal.require("webhook.manage")
    rows = await session.execute(_visible(principal).order_by(WebhookSubscription.created_at))
    return [_read(sub, code) for sub, code in rows]


async def _own(
    session: AsyncSession, principal: Principal, sub_id: uuid.UUID
) -> WebhookSubscription:
    principal.require("webhook.manage")
    row = (
        await session.execute(_visible(principal).where(WebhookSubscription.id == sub_id))
    ).first()
    if row is None:
        raise NotFound("no such webhook subscription")
    return row[0]


async def delete_subscription(
    session: AsyncSession, principal: Principal, sub_id: uuid.UUID
) -> None:
    sub = await _own(session, principal, sub_id)
    sub.deleted_at = utcnow()
    await session.flush()


async def list_deliveries(
    session: AsyncSession, principal: Principal, sub_id: uuid.UUID, limit: int = 100
) -> list[DeliveryRead]:
    sub = await _own(session, principal, sub_id)
    rows = await session.execute(
        select(WebhookDelivery, OutboxEvent.type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == sub.id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(limit)
    )
    return [
        DeliveryRead(
            id=d.id,
            event_id=d.event_id,
            event_type=event_type,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
        )
        for d, event_type in rows
    ]
