"""Who may read and post risk records: involvement, 404 for the unseen, 403 for the role."""

import datetime as dt

from sqlalchemy import func, select

from app.models import AuditEntry
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth

RECORD_PATHS = ("assessments", "missing-episodes", "events", "flags", "chronology")


async def test_partner_posting_becomes_involved_and_can_then_read(client, keys):
    case = await new_case(client, keys["coordinator"])
    partner = keys["police_partner"]
    before = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(partner))
    assert before.status_code == 404
    r = await post(
        client,
        partner,
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now()), "indicators": ["county_lines"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["agency"] == "police"
    after = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(partner))
    assert after.status_code == 200
    assert "police" in after.json()["agencies"]
    assert after.json()["current_risk"]["assessment_id"] == r.json()["id"]


async def test_episode_and_event_posts_also_involve_the_agency(client, keys):
    case = await new_case(client, keys["coordinator"])
    ep = await post(
        client,
        keys["health_partner"],
        f"/api/v1/cases/{case['id']}/missing-episodes",
        {"started_at": iso(now())},
    )
    assert ep.status_code == 201
    ev = await post(
        client,
        keys["police_practitioner"],
        f"/api/v1/cases/{case['id']}/events",
        {"type": "arrest", "occurred_at": iso(now())},
    )
    assert ev.status_code == 201
    got = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(keys["coordinator"]))
    assert set(got.json()["agencies"]) == {"council", "health", "police"}


async def test_uninvolved_practitioner_gets_404_for_the_case_and_its_records(client, keys):
    case = await new_case(client, keys["coordinator"])
    await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now())},
    )
    outsider = auth(keys["health_practitioner"])
    assert (await client.get(f"/api/v1/cases/{case['id']}", headers=outsider)).status_code == 404
    for path in RECORD_PATHS:
        r = await client.get(f"/api/v1/cases/{case['id']}/{path}", headers=outsider)
        assert r.status_code == 404, path
        assert r.json()["detail"] == "no such case"
    # A case that does not exist answers exactly the same.
    missing = await client.get(
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/assessments", headers=outsider
    )
    assert missing.status_code == 404 and missing.json()["detail"] == "no such case"
    listed = await client.get("/api/v1/flags", headers=outsider)
    assert listed.json()["items"] == []


async def test_auditor_is_refused_case_records(client, keys):
    case = await new_case(client, keys["coordinator"])
    for path in RECORD_PATHS:
        r = await client.get(f"/api/v1/cases/{case['id']}/{path}", headers=auth(keys["auditor"]))
        assert r.status_code == 403, path
    r = await post(
        client,
        keys["auditor"],
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now())},
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/flags", headers=auth(keys["auditor"]))).status_code == 403


async def test_chair_reads_but_may_not_post(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    chair = keys["chair"]
    for path in RECORD_PATHS:
        r = await client.get(f"/api/v1/cases/{case['id']}/{path}", headers=auth(chair))
        assert r.status_code == 200, path
    for path, body in (
        ("assessments", {"assessed_at": iso(now())}),
        ("missing-episodes", {"started_at": iso(now())}),
        ("events", {"type": "other", "occurred_at": iso(now())}),
    ):
        r = await post(client, chair, f"/api/v1/cases/{case['id']}/{path}", body)
        assert r.status_code == 403, path
        assert "record.create" in r.json()["detail"]
    async with db.transaction() as session:
        refused = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "assessment.create", AuditEntry.outcome == 403)
        )
    assert refused == 1


async def test_posting_to_a_case_that_does_not_exist_is_404(client, keys):
    r = await post(
        client,
        keys["police_partner"],
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/events",
        {"type": "arrest", "occurred_at": iso(now() - dt.timedelta(hours=1))},
    )
    assert r.status_code == 404


async def test_records_are_audited_with_their_case(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now())},
    )
    await client.get(f"/api/v1/cases/{case['id']}/assessments", headers=auth(keys["chair"]))
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.case_id, AuditEntry.outcome).where(
                    AuditEntry.action.in_(["assessment.create", "assessment.list"])
                )
            )
        ).all()
    assert sorted((r.action, str(r.case_id), r.outcome) for r in rows) == [
        ("assessment.create", case["id"], 201),
        ("assessment.list", case["id"], 200),
    ]
