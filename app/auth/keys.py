"""Issuing, revoking and checking API keys; keys are stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.db import utcnow
from app.errors import NotAuthenticated, NotFound, field_error
from app.models import Agency, ApiKey, Role

KEY_PREFIX = "rr_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def issue_key(
    session: AsyncSession, *, agency_code: str, role: Role, name: str
) -> tuple[ApiKey, Agency, str]:
    """Create a key; the secret is returned this once and never stored."""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise field_error(["body", "agency"], f"no agency with code {agency_code!r}")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(), agency_id=agency.id, role=role.value, name=name, key_hash=hash_key(secret)
    )
    session.add(key)
    await session.flush()
    return key, agency, secret


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise NotFound("no active API key with that id")
    key.revoked_at = utcnow()
    await session.flush()


# Built once: every request runs it.
_KEY_LOOKUP = (
    select(ApiKey.id, ApiKey.role, Agency.id, Agency.code)
    .join(Agency, Agency.id == ApiKey.agency_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    if not authorization:
        raise NotAuthenticated("send Authorization: Bearer <api key>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send Authorization: Bearer <api key>")
    row = (await session.execute(_KEY_LOOKUP, {"key_hash": hash_key(token.strip())})).first()
    if row is None:
        raise NotAuthenticated("unknown or revoked API key")
    return Principal(key_id=row[0], role=Role(row[1]), agency_id=row[2], agency_code=row[3])
