"""Small helpers shared by the risk API tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import auth


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def new_case(client: Any, key: str, **fields: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/cases", json={"sex": "female", **fields}, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


async def post(client: Any, key: str, path: str, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(path, json=body, headers={**auth(key), **headers})
