"""kill -9 the real server while partners post assessments: every acknowledged write survives,
nothing is half-written, retries with the same Idempotency-Key never duplicate, and the audit
chain still verifies. Bounded here; `make crash` runs a long version."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.models import Assessment, Case, IdempotencyRecord
from tests.api.test_audit import riskreg
from tests.conftest import auth
from tests.live import LiveServer

INDICATOR_SETS = [["older_partner"], ["missing_repeat", "associates_of_concern"], []]


def _body(i: int) -> dict[str, object]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=i)
    return {"assessed_at": at.isoformat(), "indicators": INDICATOR_SETS[i % 3]}


async def test_acknowledged_writes_survive_kill_9(database_url, keys, db, tmp_path: Path):
    kill_after = int(os.environ.get("RISKREG_CRASH_REQUESTS", "60"))
    server = LiveServer(database_url, tmp_path / "server.log").start()
    key = keys["police_partner"]
    async with httpx.AsyncClient(base_url=server.url, headers=auth(key), timeout=10) as c:
        case_id = (await c.post("/api/v1/cases", json={})).json()["id"]

    sent: dict[str, dict[str, object]] = {}  # idempotency key -> body
    acknowledged: dict[str, str] = {}  # idempotency key -> assessment id
    counter = iter(range(10**9))
    killed = asyncio.Event()

    async def partner(client: httpx.AsyncClient) -> None:
        while not killed.is_set():
            i = next(counter)
            idem, body = str(uuid.uuid4()), _body(i)
            sent[idem] = body
            try:
                r = await client.post(
                    f"/api/v1/cases/{case_id}/assessments",
                    json=body,
                    headers={"Idempotency-Key": idem},
                )
            except httpx.HTTPError:
                continue  # outcome unknown: the server died under us
            if r.status_code == 201:
                acknowledged[idem] = r.json()["id"]
            if len(acknowledged) >= kill_after and not killed.is_set():
                killed.set()
                await asyncio.to_thread(server.kill)

    async with httpx.AsyncClient(base_url=server.url, headers=auth(key), timeout=10) as c:
        await asyncio.wait_for(asyncio.gather(*(partner(c) for _ in range(6))), timeout=300)
    assert killed.is_set() and len(acknowledged) >= kill_after

    restarted = LiveServer(database_url, tmp_path / "server-2.log").start()
    try:
        async with db.transaction() as s:
            stored = set(
                await s.scalars(
                    select(Assessment.id).where(Assessment.case_id == uuid.UUID(case_id))
                )
            )
        assert {uuid.UUID(a) for a in acknowledged.values()} <= stored, (
            "an acknowledged write was lost"
        )

        # The partner retries everything it never heard back about, with the same keys.
        async with httpx.AsyncClient(base_url=restarted.url, headers=auth(key), timeout=10) as c:
            for idem, body in sent.items():
                if idem not in acknowledged:
                    r = await c.post(
                        f"/api/v1/cases/{case_id}/assessments",
                        json=body,
                        headers={"Idempotency-Key": idem},
                    )
                    assert r.status_code == 201, r.text
            replay = next(iter(acknowledged))
            again = await c.post(
                f"/api/v1/cases/{case_id}/assessments",
                json=sent[replay],
                headers={"Idempotency-Key": replay},
            )
            assert again.json()["id"] == acknowledged[replay]
    finally:
        restarted.stop()

    async with db.transaction() as s:
        assessments = list(
            await s.scalars(select(Assessment).where(Assessment.case_id == uuid.UUID(case_id)))
        )
        records = await s.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.key.in_(list(sent)))
        )
        case = await s.get(Case, uuid.UUID(case_id))
    # exactly one assessment per request sent, each written with its idempotency record
    assert len(assessments) == len(sent) == records
    latest = max(assessments, key=lambda a: (a.assessed_at, a.recorded_at, str(a.id)))
    assert case.current_level == latest.level
    verified = riskreg(database_url, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    print(
        f"crash test: {len(sent)} sent, {len(acknowledged)} acknowledged, all found after kill -9"
    )
