"""The audit log: one chained entry per request touching case data; tampering is detected."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests.conftest import auth


def riskreg(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RISKREG_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _audit(client, key, **params):
    r = await client.get("/api/v1/audit", params=params, headers=auth(key))
    assert r.status_code == 200
    return r.json()["items"]


async def test_each_case_request_writes_one_entry_with_who_what_and_outcome(client, keys):
    created = await client.post("/api/v1/cases", json={}, headers=auth(keys["practitioner"]))
    case_id = created.json()["id"]
    await client.get(f"/api/v1/cases/{case_id}", headers=auth(keys["coordinator"]))
    await client.get(f"/api/v1/cases/{case_id}", headers=auth(keys["police_practitioner"]))  # 404
    entries = await _audit(client, keys["auditor"], case_id=case_id)
    assert [(e["action"], e["agency"], e["role"], e["outcome"]) for e in reversed(entries)] == [
        ("case.create", "council", "practitioner", 201),
        ("case.read", "council", "coordinator", 200),
        ("case.read", "police", "practitioner", 404),
    ]
    assert all(e["request_id"] for e in entries)


async def test_request_id_from_the_caller_is_echoed_and_recorded(client, keys):
    r = await client.post(
        "/api/v1/cases", json={}, headers={**auth(keys["coordinator"]), "X-Request-ID": "abc-123"}
    )
    assert r.headers["x-request-id"] == "abc-123"
    (entry,) = await _audit(client, keys["auditor"], case_id=r.json()["id"])
    assert entry["request_id"] == "abc-123"


async def test_entries_are_chained(client, keys):
    for _ in range(3):
        await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))
    entries = list(reversed(await _audit(client, keys["admin"])))
    assert entries[0]["prev_hash"] == "0" * 64
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["prev_hash"] == before["hash"]


async def test_verify_passes_on_an_untouched_log(client, keys, database_url):
    for _ in range(3):
        await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))
    result = riskreg(database_url, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "intact: 3 entries" in result.stdout


@pytest.mark.parametrize(
    "tamper,broken",
    [
        ("UPDATE audit_entries SET outcome = 200 WHERE id = 2", 2),
        ("UPDATE audit_entries SET agency = 'police' WHERE id = 1", 1),
        ("DELETE FROM audit_entries WHERE id = 2", 2),
        ("DELETE FROM audit_entries WHERE id = 4", 4),
    ],
)
async def test_verify_names_the_first_broken_entry_after_an_edit_or_deletion(
    client, keys, db, database_url, tamper, broken
):
    for _ in range(4):
        await client.post("/api/v1/cases", json={}, headers=auth(keys["coordinator"]))
    async with db.transaction() as s:
        await s.execute(text(tamper))
    result = riskreg(database_url, "audit", "verify")
    assert result.returncode == 1
    assert f"BROKEN at entry {broken}" in result.stderr
