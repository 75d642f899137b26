"""Missing episodes, return home interviews and events through the API."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.models import CaseEvent, MissingEpisode
from app.risk.schemas import EventType
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth


async def test_episode_lifecycle_end_then_return_interview(client, keys):
    case = await new_case(client, keys["coordinator"])
    started = now() - dt.timedelta(hours=30)
    r = await post(
        client,
        keys["police_partner"],
        f"/api/v1/cases/{case['id']}/missing-episodes",
        {"started_at": iso(started), "notes": "Reported missing by carer at 21:00."},
    )
    assert r.status_code == 201, r.text
    ep = r.json()
    assert ep["kind"] == "missing" and ep["agency"] == "police"
    assert ep["ended_at"] is None and ep["return_interview_at"] is None
    assert ep["language_warnings"] == []

    early = await post(
        client,
        keys["police_partner"],
        f"/api/v1/missing-episodes/{ep['id']}/return-interview",
        {"return_interview_at": iso(now())},
    )
    assert early.status_code == 422 and "not ended" in early.json()["detail"]

    ended_at = now() - dt.timedelta(hours=2)
    ended = await client.patch(
        f"/api/v1/missing-episodes/{ep['id']}",
        json={"ended_at": iso(ended_at)},
        headers=auth(keys["coordinator"]),
    )
    assert ended.status_code == 200, ended.text
    assert dt.datetime.fromisoformat(ended.json()["ended_at"]) == ended_at
    due = dt.datetime.fromisoformat(ended.json()["return_interview_due"])
    assert due == ended_at + dt.timedelta(hours=72)

    other_end = await client.patch(
        f"/api/v1/missing-episodes/{ep['id']}",
        json={"ended_at": iso(ended_at - dt.timedelta(hours=1))},
        headers=auth(keys["coordinator"]),
    )
    assert other_end.status_code == 409

    interview_at = now() - dt.timedelta(hours=1)
    done = await post(
        client,
        keys["coordinator"],
        f"/api/v1/missing-episodes/{ep['id']}/return-interview",
        {"return_interview_at": iso(interview_at)},
    )
    assert done.status_code == 200, done.text
    assert dt.datetime.fromisoformat(done.json()["return_interview_at"]) == interview_at
    assert done.json()["return_interview_due"] is None

    listed = await client.get(
        f"/api/v1/cases/{case['id']}/missing-episodes", headers=auth(keys["coordinator"])
    )
    [item] = listed.json()["items"]
    assert (
        item["id"] == ep["id"] and item["return_interview_at"] == done.json()["return_interview_at"]
    )


async def test_episode_that_ends_before_it_starts_is_refused(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    started = now() - dt.timedelta(hours=5)
    bad = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/missing-episodes",
        {"started_at": iso(started), "ended_at": iso(started - dt.timedelta(seconds=1))},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"loc": ["body", "ended_at"], "msg": "is before the episode started (started_at)"}
    ]
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(MissingEpisode)) == 0

    ok = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/missing-episodes",
        {"started_at": iso(started)},
    )
    patch = await client.patch(
        f"/api/v1/missing-episodes/{ok.json()['id']}",
        json={"ended_at": iso(started - dt.timedelta(minutes=1))},
        headers=auth(keys["coordinator"]),
    )
    assert patch.status_code == 422
    assert patch.json()["errors"][0]["loc"] == ["body", "ended_at"]
    still = await client.get(
        f"/api/v1/cases/{case['id']}/missing-episodes", headers=auth(keys["coordinator"])
    )
    assert still.json()["items"][0]["ended_at"] is None


async def test_episode_times_in_the_future_are_refused(client, keys):
    case = await new_case(client, keys["coordinator"])
    r = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/missing-episodes",
        {"started_at": iso(now() + dt.timedelta(minutes=10))},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "started_at"]


async def test_patch_unknown_episode_is_404_and_chair_cannot_patch(client, keys):
    r = await client.patch(
        "/api/v1/missing-episodes/00000000-0000-0000-0000-000000000000",
        json={"ended_at": iso(now())},
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 404
    r = await client.patch(
        "/api/v1/missing-episodes/00000000-0000-0000-0000-000000000000",
        json={"ended_at": iso(now())},
        headers=auth(keys["chair"]),
    )
    assert r.status_code == 403


@pytest.mark.parametrize("event_type", [t.value for t in EventType if t != EventType.referral])
async def test_every_event_type_is_recorded(client, keys, event_type):
    case = await new_case(client, keys["coordinator"])
    occurred = now() - dt.timedelta(days=1)
    r = await post(
        client,
        keys["police_partner"],
        f"/api/v1/cases/{case['id']}/events",
        {"type": event_type, "occurred_at": iso(occurred)},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["type"], body["service"], body["agency"]) == (event_type, None, "police")
    assert dt.datetime.fromisoformat(body["occurred_at"]) == occurred


async def test_referral_requires_service_and_others_forbid_it(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/events"
    at = iso(now())
    no_service = await post(
        client, keys["coordinator"], path, {"type": "referral", "occurred_at": at}
    )
    assert no_service.status_code == 422
    assert no_service.json()["errors"] == [
        {"loc": ["body", "service"], "msg": "is required for a referral"}
    ]
    stray = await post(
        client,
        keys["coordinator"],
        path,
        {"type": "arrest", "occurred_at": at, "service": "camhs"},
    )
    assert stray.status_code == 422
    assert stray.json()["errors"][0]["loc"] == ["body", "service"]
    unknown = await post(
        client,
        keys["coordinator"],
        path,
        {"type": "referral", "occurred_at": at, "service": "astrology"},
    )
    assert unknown.status_code == 422
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CaseEvent)) == 0
    ok = await post(
        client,
        keys["coordinator"],
        path,
        {"type": "referral", "occurred_at": at, "service": "substance_misuse", "notes": "x"},
    )
    assert ok.status_code == 201 and ok.json()["service"] == "substance_misuse"
    listed = await client.get(path, headers=auth(keys["coordinator"]))
    assert [e["id"] for e in listed.json()["items"]] == [ok.json()["id"]]


async def test_event_notes_carry_language_warnings_but_are_stored(client, keys):
    case = await new_case(client, keys["coordinator"])
    notes = "Described as promiscuous and streetwise; she CHOSE TO go."
    r = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/events",
        {"type": "disclosure", "occurred_at": iso(now()), "notes": notes},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["notes"] == notes
    found = [(w["phrase"], w["start"], w["end"]) for w in body["language_warnings"]]
    expected = [
        (word, notes.index(word), notes.index(word) + len(word))
        for word in ("promiscuous", "streetwise", "CHOSE TO")
    ]
    assert found == expected
    assert all(w["suggestion"] and w["reason"] for w in body["language_warnings"])


async def test_event_and_episode_idempotency(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    body = {"type": "placement_move", "occurred_at": iso(now())}
    path = f"/api/v1/cases/{case['id']}/events"
    first = await post(client, keys["coordinator"], path, body, **{"Idempotency-Key": "ev-1"})
    second = await post(client, keys["coordinator"], path, body, **{"Idempotency-Key": "ev-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = await post(
        client,
        keys["coordinator"],
        path,
        {**body, "type": "arrest"},
        **{"Idempotency-Key": "ev-1"},
    )
    assert other.status_code == 422
    ep_body = {"started_at": iso(now())}
    ep_path = f"/api/v1/cases/{case['id']}/missing-episodes"
    e1 = await post(client, keys["coordinator"], ep_path, ep_body, **{"Idempotency-Key": "ep-1"})
    e2 = await post(client, keys["coordinator"], ep_path, ep_body, **{"Idempotency-Key": "ep-1"})
    assert e1.json() == e2.json()
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CaseEvent)) == 1
        assert await session.scalar(select(func.count()).select_from(MissingEpisode)) == 1
