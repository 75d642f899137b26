"""Idempotency-Key claims: a retry returns the first response and creates nothing new."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, utcnow
from app.errors import Conflict, Unprocessable
from app.models import IdempotencyRecord

# A pending claim older than this belongs to a request that died; a retry may take it over.
STALE_CLAIM = dt.timedelta(seconds=60)


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


async def claim(
    db: Database, *, api_key_id: uuid.UUID, key: str, fingerprint: str
) -> uuid.UUID | StoredResponse:
    """Claim the key in its own committed transaction, or say what the first request got.

    Returns the claim id to complete later, or the stored first response. Raises 422 when the
    key was used with another request and 409 while the first request is still running.
    """
    claim_id = uuid.uuid4()
    try:
        async with db.transaction() as session:
            session.add(
                IdempotencyRecord(
                    id=claim_id, api_key_id=api_key_id, key=key, request_hash=fingerprint
                )
            )
        return claim_id
    except IntegrityError:
        pass
    async with db.transaction() as session:
        existing = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
            )
        )
        if existing is None:  # released between our insert and this read: try once more
            session.add(
                IdempotencyRecord(
                    id=claim_id, api_key_id=api_key_id, key=key, request_hash=fingerprint
                )
            )
            return claim_id
        if existing.request_hash != fingerprint:
            raise Unprocessable(
                "this Idempotency-Key was already used with a different request",
                errors=[{"loc": ["header", "Idempotency-Key"], "msg": "reused with another body"}],
            )
        if existing.state == "complete":
            assert existing.status_code is not None and existing.response_body is not None
            return StoredResponse(existing.status_code, existing.response_body)
        if utcnow() - existing.created_at < STALE_CLAIM:
            raise Conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly"
            )
        taken = await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == existing.id, IdempotencyRecord.state == "pending")
            .values(created_at=utcnow())
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("a request with this Idempotency-Key is still being processed")
        return existing.id


async def complete(session: AsyncSession, claim_id: uuid.UUID, status_code: int, body: str) -> None:
    """Store the response in the same transaction as the change it describes."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim_id)
        .values(state="complete", status_code=status_code, response_body=body)
    )


async def release(db: Database, claim_id: uuid.UUID) -> None:
    """The request failed: drop the claim so a retry runs afresh."""
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == claim_id, IdempotencyRecord.state == "pending"
            )
        )
