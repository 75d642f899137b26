"""The API key cache (RISKREG_AUTH_CACHE_SECONDS): never stale beyond its TTL.

A key revoked through this process is refused at once; one revoked elsewhere (another replica,
or straight in the database) is refused once the cached look-up is older than the TTL.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from app.auth.keys import KeyCache, hash_key
from app.auth.principal import Principal
from app.db import utcnow
from app.models import ApiKey, Role
from tests.conftest import auth


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal() -> Principal:
    return Principal(
        key_id=uuid.uuid4(), agency_id=uuid.uuid4(), agency_code="council", role=Role.partner
    )


def test_entries_expire_after_the_ttl():
    clock = FakeClock()
    cache = KeyCache(5, clock=clock)
    p = _principal()
    cache.put("h", p)
    assert cache.get("h") is p
    clock.now += 4.999
    assert cache.get("h") is p
    clock.now += 0.001
    assert cache.get("h") is None
    assert cache.get("h") is None  # gone, not revived


def test_ttl_zero_caches_nothing():
    cache = KeyCache(0)
    cache.put("h", _principal())
    assert cache.get("h") is None


def test_the_cache_is_bounded():
    cache = KeyCache(5, max_entries=3)
    for i in range(10):
        cache.put(str(i), _principal())
    assert len(cache._entries) <= 3


@pytest.fixture
def clock(app):
    """The app's key cache on a fake clock, restored afterwards."""
    fake = FakeClock()
    previous = app.state.key_cache
    app.state.key_cache = KeyCache(5, clock=fake)
    yield fake
    app.state.key_cache = previous


async def _revoke_in_database(db, key: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(key)).values(revoked_at=utcnow())
        )


async def test_a_key_revoked_elsewhere_stops_working_within_the_ttl(client, keys, db, clock):
    key = keys["partner"]
    assert (await client.get("/api/v1/agencies", headers=auth(key))).status_code == 200
    await _revoke_in_database(db, key)  # as another replica would
    clock.now += 4.9
    # Within the documented TTL the cached look-up may still be used...
    assert (await client.get("/api/v1/agencies", headers=auth(key))).status_code == 200
    clock.now += 0.1
    # ...and never after it.
    r = await client.get("/api/v1/agencies", headers=auth(key))
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_key_revoked_through_this_process_is_refused_at_once(client, keys, clock):
    created = await client.post(
        "/api/v1/api-keys",
        json={"agency": "police", "role": "partner", "name": "old system"},
        headers=auth(keys["admin"]),
    )
    body = created.json()
    for _ in range(3):  # cached now
        assert (await client.get("/api/v1/agencies", headers=auth(body["key"]))).status_code == 200
    revoked = await client.delete(f"/api/v1/api-keys/{body['id']}", headers=auth(keys["admin"]))
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/agencies", headers=auth(body["key"]))).status_code == 401


async def test_unknown_keys_are_not_cached(client, app, keys, clock):
    assert (await client.get("/api/v1/agencies", headers=auth("rr_nope"))).status_code == 401
    assert hash_key("rr_nope") not in app.state.key_cache._entries
