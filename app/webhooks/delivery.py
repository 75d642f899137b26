"""Deliver due webhook events: signed, retried with backoff and jitter for 24 hours."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update

from app.db import Database, utcnow
from app.metrics import WEBHOOK_DELIVERIES
from app.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from app.webhooks.urls import UnsafeTarget, check_target

log = logging.getLogger("riskreg.webhooks")

GIVE_UP_AFTER = dt.timedelta(hours=24)
LEASE = dt.timedelta(seconds=60)
BASE_DELAY = 10.0
MAX_DELAY = 3600.0
SIGNATURE_HEADER = "Riskreg-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else int(utcnow().timestamp())) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def backoff(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential (10 s, 20 s, 40 s ... capped at an hour) with ±50 % jitter."""
    delay = min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)
    return dt.timedelta(seconds=delay * (rng or random).uniform(0.5, 1.5))


@dataclass(frozen=True, slots=True)
class _Due:
    delivery_id: object
    url: str
    secret: str
    body: bytes
    event_id: str
    event_type: str
    event_created_at: dt.datetime
    attempts: int


async def _claim_due(db: Database, batch: int) -> list[_Due]:
    """Lease due deliveries (push their next attempt a minute on) so no other run sends them."""
    now = utcnow()
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery, WebhookSubscription, OutboxEvent)
                .join(
                    WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
                )
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(batch)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
        ).all()
        due = []
        for delivery, sub, event in rows:
            if sub.deleted_at is not None:
                delivery.status = "failed"
                delivery.last_error = "subscription deleted"
                continue
            delivery.next_attempt_at = now + LEASE
            due.append(
                _Due(
                    delivery.id,
                    sub.url,
                    sub.secret,
                    json.dumps(event.payload, separators=(",", ":")).encode(),
                    str(event.id),
                    event.type,
                    event.created_at,
                    delivery.attempts,
                )
            )
    return due


async def deliver_due(
    db: Database,
    *,
    allow_private: bool,
    require_https: bool,
    client: httpx.AsyncClient | None = None,
    batch: int = 50,
) -> int:
    """Send every due delivery once; returns how many were attempted."""
    due = await _claim_due(db, batch)
    if not due:
        return 0
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    try:
        for item in due:
            await _attempt(db, http, item, allow_private=allow_private, require_https=require_https)
    finally:
        if own_client:
            await http.aclose()
    return len(due)


async def _attempt(
    db: Database, http: httpx.AsyncClient, item: _Due, *, allow_private: bool, require_https: bool
) -> None:
    status_code: int | None = None
    error: str | None = None
    try:
        await check_target(item.url, require_https=require_https, allow_private=allow_private)
        timestamp = int(utcnow().timestamp())
        response = await http.post(
            item.url,
            content=item.body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(item.secret, timestamp, item.body),
                "Riskreg-Event-Id": item.event_id,
                "Riskreg-Event": item.event_type,
            },
        )
        status_code = response.status_code
        ok = 200 <= status_code < 300
        if not ok:
            error = f"receiver answered {status_code}"
    except (httpx.HTTPError, UnsafeTarget) as exc:
        ok = False
        error = f"{type(exc).__name__}: {exc}"[:500]
    now = utcnow()
    attempts = item.attempts + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if ok:
        values.update(status="delivered", delivered_at=now)
        outcome = "delivered"
    elif now - item.event_created_at >= GIVE_UP_AFTER:
        values.update(status="failed")
        outcome = "failed"
    else:
        values.update(next_attempt_at=now + backoff(attempts))
        outcome = "retry"
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    async with db.transaction() as session:
        await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == item.delivery_id).values(**values)
        )
    if not ok:
        log.info("webhook delivery not accepted", extra={"status": status_code})
