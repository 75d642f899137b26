"""Issuing, revoking and checking API keys; keys are stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable

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
    # Before the commit, so no request of this process is let in by a cached entry once the
    # revocation is visible (a revocation is never undone: a rolled-back one costs a look-up).
    _revoked_here.add(key_id)


# Keys revoked through this process: refused from the cache at once, whatever its TTL.
_revoked_here: set[uuid.UUID] = set()


class KeyCache:
    """Recently authenticated keys (by hash) for a few seconds, to spare a query per request.

    Only successful look-ups are kept, each for at most `ttl` seconds from when it was read
    from the database; a key revoked through this process is refused at once, one revoked
    through another replica (or the database) within `ttl`. `ttl` 0 turns the cache off.
    """

    def __init__(
        self, ttl: float, *, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key_hash: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if self.clock() >= expires or principal.key_id in _revoked_here:
            self._entries.pop(key_hash, None)
            return None
        return principal

    def put(self, key_hash: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (self.clock() + self.ttl, principal)


# Built once: every request runs it.
_KEY_LOOKUP = (
    select(ApiKey.id, ApiKey.role, Agency.id, Agency.code)
    .join(Agency, Agency.id == ApiKey.agency_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


async def authenticate(
    session: AsyncSession, authorization: str | None, cache: KeyCache | None = None
) -> Principal:
    if not authorization:
        raise NotAuthenticated("send Authorization: Bearer <api key>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send Authorization: Bearer <api key>")
    key_hash = hash_key(token.strip())
    if cache is not None and (cached := cache.get(key_hash)) is not None:
        return cached
    row = (await session.execute(_KEY_LOOKUP, {"key_hash": key_hash})).first()
    if row is None:
        raise NotAuthenticated("unknown or revoked API key")
    principal = Principal(key_id=row[0], role=Role(row[1]), agency_id=row[2], agency_code=row[3])
    if cache is not None:
        cache.put(key_hash, principal)
    return principal
