"""Idempotency-Key: a retry returns the first response and creates nothing new."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.models import Case, IdempotencyRecord
from tests.conftest import auth


async def _cases(db) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Case)))


async def test_a_retry_returns_the_first_response_and_creates_one_case(client, keys, db):
    headers = {**auth(keys["partner"]), "Idempotency-Key": "post-1"}
    first = await client.post("/api/v1/cases", json={"sex": "male"}, headers=headers)
    second = await client.post("/api/v1/cases", json={"sex": "male"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await _cases(db) == 1


async def test_the_same_key_with_another_body_is_422(client, keys, db):
    headers = {**auth(keys["partner"]), "Idempotency-Key": "post-2"}
    await client.post("/api/v1/cases", json={"sex": "male"}, headers=headers)
    other = await client.post("/api/v1/cases", json={"sex": "female"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await _cases(db) == 1


async def test_keys_are_per_api_key(client, keys, db):
    for key in ("partner", "practitioner"):
        r = await client.post(
            "/api/v1/cases", json={}, headers={**auth(keys[key]), "Idempotency-Key": "k"}
        )
        assert r.status_code == 201
    assert await _cases(db) == 2


async def test_a_failed_request_does_not_burn_the_key(client, keys, db):
    headers = {**auth(keys["partner"]), "Idempotency-Key": "retry-after-fix"}
    bad = await client.post("/api/v1/cases", json={"lead_agency": "nobody"}, headers=headers)
    assert bad.status_code == 422
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    # same body again: runs afresh (and fails the same way), nothing stored
    assert (
        await client.post("/api/v1/cases", json={"lead_agency": "nobody"}, headers=headers)
    ).status_code == 422
    assert await _cases(db) == 0


async def test_concurrent_retries_create_exactly_one_case(client, keys, db):
    headers = {**auth(keys["partner"]), "Idempotency-Key": "burst"}
    results = await asyncio.gather(
        *(client.post("/api/v1/cases", json={"sex": "female"}, headers=headers) for _ in range(8))
    )
    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1
    assert await _cases(db) == 1
