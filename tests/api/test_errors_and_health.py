"""Errors are problem+json with no trace; probes report liveness and readiness."""

from __future__ import annotations

import httpx

from app.main import create_app
from tests.conftest import auth


async def test_unknown_route_and_wrong_method_are_problems(client, keys):
    for r in (
        await client.get("/api/v1/nowhere", headers=auth(keys["admin"])),
        await client.put("/api/v1/cases", headers=auth(keys["admin"])),
    ):
        assert r.status_code in (404, 405)
        assert r.headers["content-type"] == "application/problem+json"
        assert set(r.json()) >= {"type", "title", "status", "detail"}


async def test_invalid_uuid_in_path_is_422_naming_it(client, keys):
    r = await client.get("/api/v1/cases/not-a-uuid", headers=auth(keys["admin"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["path", "case_id"]


async def test_an_unexpected_exception_is_a_500_problem_without_a_trace(settings, db):
    app = create_app(settings, db=db)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in r.text and "Traceback" not in r.text


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_readyz_is_503_when_the_database_is_not_migrated(tmp_path, settings):
    from app.db import Database

    empty = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    app = create_app(settings, db=empty)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/readyz")
    await empty.dispose()
    assert r.status_code == 503 and r.json()["status"] == "not ready"


async def test_metrics_count_requests_by_route_template_not_raw_path(client, keys):
    case = (await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))).json()
    await client.get(f"/api/v1/cases/{case['id']}", headers=auth(keys["coordinator"]))
    text = (await client.get("/metrics")).text
    assert (
        'riskreg_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="200"}'
        in text
    )
    assert case["id"] not in text
    assert "riskreg_http_request_duration_seconds_bucket" in text
