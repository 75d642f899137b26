"""Idempotency-Key: a retry returns the first response and creates nothing new.

The key is checked and its response stored inside the request's own transaction, so a crash
leaves nothing behind and a retry after it simply runs again. While a first request is in
flight, PostgreSQL holds a transaction-scoped advisory lock on the key and a concurrent
duplicate answers 409; SQLite runs one writing transaction at a time, so there the duplicate
waits and then receives the stored first response.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Unprocessable
from app.models import IdempotencyRecord


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what was asked: method, path and the body's JSON meaning (not its spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str


def _lock_id(api_key_id: uuid.UUID, key: str) -> int:
    digest = hashlib.sha256(api_key_id.bytes + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def begin(
    session: AsyncSession, *, api_key_id: uuid.UUID, key: str, fingerprint: str
) -> StoredResponse | None:
    """Start an idempotent request: the stored first response, or None to go ahead.

    Raises 409 while another request with this key is running, 422 if the key was used
    for a different request.
    """
    if session.bind.dialect.name == "postgresql":
        locked = await session.scalar(
            select(func.pg_try_advisory_xact_lock(_lock_id(api_key_id, key)))
        )
        if not locked:
            raise Conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly"
            )
    existing = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    )
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Unprocessable(
            "this Idempotency-Key was already used with a different request",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "reused with another body"}],
        )
    return StoredResponse(existing.status_code, existing.response_body)


def remember(
    session: AsyncSession,
    *,
    api_key_id: uuid.UUID,
    key: str,
    fingerprint: str,
    status_code: int,
    body: str,
) -> None:
    """Store the response in the same transaction as the change it describes."""
    session.add(
        IdempotencyRecord(
            api_key_id=api_key_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body,
        )
    )
