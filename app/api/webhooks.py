"""Webhook subscriptions for partner systems."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.webhooks import service
from app.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks", status_code=201, response_model=WebhookCreated, responses=problems(403, 409)
)
async def create_webhook(
    body: WebhookCreate, ctx: Ctx = context("webhook.manage", creates=True)
) -> Response:
    settings = ctx.settings
    return await ctx.create(
        lambda: service.create_subscription(
            ctx.session,
            ctx.principal,
            body,
            require_https=settings.env == "production",
            allow_private=settings.webhook_allow_private,
        )
    )


@router.get("/webhooks", response_model=list[WebhookRead], responses=problems(403))
async def list_webhooks(ctx: Ctx = context("webhook.manage")) -> list[WebhookRead]:
    return await service.list_subscriptions(ctx.session, ctx.principal)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=problems(403, 404))
async def delete_webhook(webhook_id: uuid.UUID, ctx: Ctx = context("webhook.manage")) -> Response:
    await service.delete_subscription(ctx.session, ctx.principal, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryRead],
    responses=problems(403, 404),
)
async def list_deliveries(
    webhook_id: uuid.UUID, ctx: Ctx = context("webhook.manage")
) -> list[DeliveryRead]:
    return await service.list_deliveries(ctx.session, ctx.principal, webhook_id)
