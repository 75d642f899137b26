"""The chronology, and the loader's as-of filtering and fixed query count."""

import datetime as dt
import uuid

import time_machine
from sqlalchemy import event

from app.db import utcnow
from app.risk.evaluation import flags_for_cases, load_case_records
from app.risk.flags import Window
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth

HOUR = dt.timedelta(hours=1)


async def test_chronology_lists_every_record_in_time_order(client, keys):
    case = await new_case(
        client, keys["coordinator"], identifiers=[{"scheme": "agency_local", "value": "REF-9"}]
    )
    cid = case["id"]
    t0 = now()
    ep = await post(
        client,
        keys["police_partner"],
        f"/api/v1/cases/{cid}/missing-episodes",
        {"started_at": iso(t0 - 5 * HOUR), "ended_at": iso(t0 - 3 * HOUR)},
    )
    await post(
        client,
        keys["coordinator"],
        f"/api/v1/missing-episodes/{ep.json()['id']}/return-interview",
        {"return_interview_at": iso(t0 - 2 * HOUR)},
    )
    a = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{cid}/assessments",
        {"assessed_at": iso(t0 - 4 * HOUR), "indicators": ["substance_use"]},
    )
    ev = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{cid}/events",
        {"type": "referral", "service": "substance_misuse", "occurred_at": iso(t0 - HOUR)},
    )
    closed = await client.post(
        f"/api/v1/cases/{cid}/close", json={"reason": "moved area"}, headers=auth(keys["admin"])
    )
    assert closed.status_code == 200
    r = await client.get(f"/api/v1/cases/{cid}/chronology", headers=auth(keys["coordinator"]))
    assert r.status_code == 200
    entries = r.json()["items"]
    kinds = [e["kind"] for e in entries]
    assert kinds == [
        "missing_started",
        "assessment",
        "missing_ended",
        "return_interview",
        "event.referral",
        "case_created",
        "identifier_linked",
        "case_closed",
    ]
    ats = [dt.datetime.fromisoformat(e["at"]) for e in entries]
    assert ats == sorted(ats)
    by_kind = {e["kind"]: e for e in entries}
    assert by_kind["assessment"]["id"] == a.json()["id"]
    assert by_kind["assessment"]["summary"].startswith("Risk assessed low")
    assert by_kind["event.referral"]["id"] == ev.json()["id"]
    assert "substance misuse" in by_kind["event.referral"]["summary"]
    assert by_kind["missing_started"]["agency"] == "police"
    assert "REF-9" not in r.text  # identifier values are never shown
    assert by_kind["case_closed"]["summary"] == "Case closed: moved area"

    first = await client.get(
        f"/api/v1/cases/{cid}/chronology?limit=3", headers=auth(keys["coordinator"])
    )
    rest = await client.get(
        f"/api/v1/cases/{cid}/chronology?limit=10&cursor={first.json()['next_cursor']}",
        headers=auth(keys["coordinator"]),
    )
    assert [e["kind"] for e in first.json()["items"] + rest.json()["items"]] == kinds
    assert rest.json()["next_cursor"] is None


async def test_loader_keeps_only_what_was_known_at_the_moment(client, keys, db):
    with time_machine.travel(now() - 48 * HOUR, tick=True):
        case = await new_case(client, keys["coordinator"])
        ep = await post(
            client,
            keys["coordinator"],
            f"/api/v1/cases/{case['id']}/missing-episodes",
            {"started_at": iso(now() - HOUR)},
        )
    cutoff = now() - 24 * HOUR
    await client.patch(
        f"/api/v1/missing-episodes/{ep.json()['id']}",
        json={"ended_at": iso(now() - HOUR)},
        headers=auth(keys["coordinator"]),
    )
    await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now() - 30 * HOUR), "indicators": ["county_lines", "weapons"]},
    )
    case_id = uuid.UUID(case["id"])
    async with db.transaction() as session:
        then = await load_case_records(session, [case_id], cutoff)
        current = await load_case_records(session, [case_id], utcnow())
        flags_then = await flags_for_cases(session, [case_id], cutoff, Window.ending(cutoff))
    assert then[case_id].assessments == ()  # assessed before the cutoff, recorded after it
    assert then[case_id].episodes[0].ended_at is None  # the end was recorded after the cutoff
    assert current[case_id].episodes[0].ended_at is not None
    assert len(current[case_id].assessments) == 1
    assert "currently_missing" in [f.code for f in flags_then[case_id]]
    assert "risk_escalated" not in [f.code for f in flags_then[case_id]]


async def test_loader_query_count_does_not_grow_with_cases(client, keys, db):
    ids = []
    for _ in range(6):
        case = await new_case(client, keys["coordinator"])
        ids.append(uuid.UUID(case["id"]))
        await post(
            client,
            keys["coordinator"],
            f"/api/v1/cases/{case['id']}/assessments",
            {"assessed_at": iso(now()), "indicators": ["weapons"]},
        )

    async def count(case_ids):
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine.sync_engine, "before_cursor_execute", before)
        try:
            async with db.transaction() as session:
                records = await load_case_records(session, case_ids, utcnow())
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", before)
        assert set(records) == set(case_ids)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert await count(ids[:1]) == await count(ids)
