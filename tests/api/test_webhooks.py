"""Webhooks: outbox in the same transaction, signed delivery, retries, scoping, SSRF refusal."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.main import create_app
from app.models import OutboxEvent, WebhookDelivery
from app.webhooks.delivery import backoff, deliver_due, sign, verify_signature
from tests.conftest import auth


class Receiver:
    """A real HTTP server on 127.0.0.1 recording what it is sent; answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


async def _subscribe(client, key, url, events=("case.created",)):
    r = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=auth(key)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _deliver(db) -> int:
    return await deliver_due(db, allow_private=True, require_https=False)


async def _deliveries(client, key, hook_id):
    r = await client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auth(key))
    assert r.status_code == 200
    return r.json()


async def test_a_created_case_is_delivered_signed_with_an_event_id(client, keys, db, receiver):
    hook = await _subscribe(client, keys["admin"], receiver.url)
    assert hook["secret"].startswith("whsec_")
    case = (await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))).json()
    assert await _deliver(db) == 1
    ((headers, body),) = receiver.requests
    payload = json.loads(body)
    assert payload["type"] == "case.created" and payload["case_id"] == case["id"]
    assert payload["data"] == {"pseudonym": case["pseudonym"], "lead_agency": "council"}
    assert headers["riskreg-event-id"] == payload["id"]
    assert verify_signature(hook["secret"], headers["riskreg-signature"], body)
    assert not verify_signature("whsec_wrong", headers["riskreg-signature"], body)
    deliveries = await _deliveries(client, keys["admin"], hook["id"])
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in deliveries] == [
        ("delivered", 1, 200)
    ]
    assert await _deliver(db) == 0  # nothing is sent twice


async def test_a_refused_change_writes_no_outbox_event(client, keys, db, receiver):
    await _subscribe(client, keys["admin"], receiver.url)
    body = {"identifiers": [{"scheme": "agency_local", "value": "X1"}]}
    first = await client.post("/api/v1/cases", json=body, headers=auth(keys["coordinator"]))
    second = await client.post("/api/v1/cases", json=body, headers=auth(keys["coordinator"]))
    assert (first.status_code, second.status_code) == (201, 409)
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxEvent)) == 1


async def test_a_partner_hears_only_about_its_agencys_cases(client, keys, db, receiver):
    await _subscribe(client, keys["police_partner"], receiver.url)
    await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))  # council only
    mine = (
        await client.post("/api/v1/cases", json={}, headers=auth(keys["police_partner"]))
    ).json()
    await _deliver(db)
    assert [json.loads(b)["case_id"] for _, b in receiver.requests] == [mine["id"]]


async def test_a_failing_receiver_is_retried_then_marked_failed(client, keys, db, receiver):
    receiver.status = 503
    hook = await _subscribe(client, keys["admin"], receiver.url)
    await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))
    await _deliver(db)
    async with db.transaction() as s:
        delivery = await s.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)
    assert await _deliver(db) == 0  # not due yet
    # A day later the receiver is still down: that attempt is the last.
    day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    async with db.transaction() as s:
        await s.execute(update(OutboxEvent).values(created_at=day_ago))
        await s.execute(update(WebhookDelivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
    assert await _deliver(db) == 1
    deliveries = await _deliveries(client, keys["admin"], hook["id"])
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("failed", 2)]
    assert len(receiver.requests) == 2
    # the same event id both times: receivers de-duplicate on it
    ids = {headers["riskreg-event-id"] for headers, _ in receiver.requests}
    assert len(ids) == 1


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rng = random.Random(7)
    delays = [backoff(n, rng).total_seconds() for n in (1, 2, 3, 10, 20)]
    assert 5 <= delays[0] <= 15 and 10 <= delays[1] <= 30 and 20 <= delays[2] <= 60
    assert 1800 <= delays[4] <= 5400


def test_signature_refuses_a_changed_body_or_a_stale_timestamp():
    header = sign("s3cret", 1_700_000_000, b'{"a":1}')
    assert verify_signature("s3cret", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("s3cret", header, b'{"a":2}', now=1_700_000_100)
    assert not verify_signature("s3cret", header, b'{"a":1}', now=1_700_001_000)


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 201),
        ("partner", 201),
        ("coordinator", 403),
        ("chair", 403),
        ("practitioner", 403),
        ("auditor", 403),
    ],
)
async def test_who_may_subscribe(client, keys, receiver, role, expected):
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["case.created"]},
        headers=auth(keys[role]),
    )
    assert r.status_code == expected


async def test_a_partner_cannot_see_or_delete_another_agencys_hook(client, keys, receiver):
    hook = await _subscribe(client, keys["police_partner"], receiver.url)
    url = f"/api/v1/webhooks/{hook['id']}"
    health = auth(keys["health_partner"])
    assert (await client.get("/api/v1/webhooks", headers=health)).json() == []
    assert (await client.delete(url, headers=health)).status_code == 404
    assert (await client.delete(url, headers=auth(keys["police_partner"]))).status_code == 204
    assert (await client.get("/api/v1/webhooks", headers=auth(keys["admin"]))).json() == []


@pytest.mark.parametrize(
    "env,url,reason",
    [
        ("development", "http://127.0.0.1:9/hook", "private"),
        ("development", "http://10.1.2.3/hook", "private"),
        ("development", "http://169.254.169.254/latest/meta-data", "private"),
        ("development", "ftp://example.org/hook", "http(s)"),
        ("production", "http://example.org/hook", "https"),
    ],
)
async def test_unsafe_targets_are_refused(settings, db, keys, env, url, reason):
    strict = settings.model_copy(
        update={"env": env, "webhook_allow_private": False, "subject_key_secret": "x" * 40}
    )
    assert isinstance(strict, Settings)
    app = create_app(strict, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            "/api/v1/webhooks",
            json={"url": url, "events": ["case.created"]},
            headers=auth(keys["admin"]),
        )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
    assert reason in r.json()["errors"][0]["msg"]


async def test_risk_changes_and_missing_episodes_reach_subscribers(client, keys, db, receiver):
    events = ["risk.level_changed", "missing.started", "missing.ended"]
    await _subscribe(client, keys["admin"], receiver.url, events)
    key = auth(keys["coordinator"])
    case = (await client.post("/api/v1/cases", json={}, headers=key)).json()
    now = dt.datetime.now(dt.UTC)
    base = f"/api/v1/cases/{case['id']}"
    high = {
        "assessed_at": now.isoformat(),
        "indicators": ["older_partner", "missing_found_with_adults", "associates_of_concern"],
    }
    assert (await client.post(f"{base}/assessments", json=high, headers=key)).status_code == 201
    # the same level again changes nothing, so no event
    assert (await client.post(f"{base}/assessments", json=high, headers=key)).status_code == 201
    episode = await client.post(
        f"{base}/missing-episodes",
        json={"started_at": (now - dt.timedelta(hours=5)).isoformat()},
        headers=key,
    )
    ended = await client.patch(
        f"/api/v1/missing-episodes/{episode.json()['id']}",
        json={"ended_at": now.isoformat()},
        headers=key,
    )
    assert ended.status_code == 200
    await _deliver(db)
    received = [json.loads(b) for _, b in receiver.requests]
    assert [(p["type"], p["case_id"]) for p in received] == [
        ("risk.level_changed", case["id"]),
        ("missing.started", case["id"]),
        ("missing.ended", case["id"]),
    ]
    assert received[0]["data"]["from"] is None and received[0]["data"]["to"] == "high"
    assert received[2]["data"]["episode_id"] == episode.json()["id"]
