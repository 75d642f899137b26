"""Oversized bodies, wrong content types and absurd parameters are refused as problems."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.models import Case
from tests.conftest import auth


async def test_a_body_over_one_mebibyte_is_413_and_nothing_is_stored(client, keys, db):
    big = json.dumps({"sex": "female", "padding": "x" * (1024 * 1024)})
    r = await client.post(
        "/api/v1/cases",
        content=big,
        headers={**auth(keys["coordinator"]), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 0


async def test_a_streamed_body_over_the_limit_is_413(client, keys):
    async def chunks():
        for _ in range(20):
            yield b"x" * 65536

    r = await client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**auth(keys["coordinator"]), "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_a_body_that_is_not_json_is_415(client, keys):
    r = await client.post(
        "/api/v1/cases",
        content="sex=female",
        headers={**auth(keys["coordinator"]), "content-type": "text/plain"},
    )
    assert r.status_code == 415
    assert r.json()["status"] == 415


async def test_json_with_a_charset_is_accepted(client, keys):
    r = await client.post(
        "/api/v1/cases",
        content=b"{}",
        headers={**auth(keys["coordinator"]), "content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201
