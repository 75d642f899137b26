"""Meeting series: defaults, admin edits, re-planning, materialisation and the meetings list."""

import datetime as dt

import time_machine
from sqlalchemy import func, select

from app.models import Meeting
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, plan

D = dt.date


async def test_series_defaults_follow_the_spec(client, keys):
    r = await client.get("/api/v1/meeting-series/dram", headers=auth(keys["practitioner"]))
    assert r.status_code == 200, r.text
    dram = r.json()
    assert (dram["time"], dram["cutoff_time"], dram["cutoff_working_days_before"]) == (
        "09:30",
        "08:30",
        0,
    )
    assert dram["cadence"] == "working_days" and dram["timezone"] == "Europe/London"
    mace = (await client.get("/api/v1/meeting-series/mace", headers=auth(keys["chair"]))).json()
    assert (mace["time"], mace["cutoff_time"], mace["cutoff_working_days_before"]) == (
        "10:00",
        "17:00",
        5,
    )
    assert mace["interval_days"] == 42
    assert dt.date.fromisoformat(mace["anchor_date"]).weekday() == 1  # a Tuesday
    assert (
        await client.get("/api/v1/meeting-series/weekly", headers=auth(keys["admin"]))
    ).status_code == 404


async def test_only_an_admin_edits_a_series_and_unknown_fields_are_refused(client, keys):
    for role in ("coordinator", "chair", "practitioner", "partner", "auditor"):
        r = await client.patch(
            "/api/v1/meeting-series/dram", json={"time": "10:00"}, headers=auth(keys[role])
        )
        assert r.status_code == 403, role
    r = await client.patch(
        "/api/v1/meeting-series/dram", json={"room": "B12"}, headers=auth(keys["admin"])
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "room"]
    r = await client.patch(
        "/api/v1/meeting-series/dram",
        json={"timezone": "Mars/Olympus"},
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 422
    r = await client.patch(
        "/api/v1/meeting-series/mace",
        json={"anchor_date": "2027-01-09"},
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 422  # a Saturday
    for bad in ({"time": "9:30"}, {"time": "09:30:00+01:00"}, {"anchor_date": 0}, {"time": 930}):
        r = await client.patch("/api/v1/meeting-series/mace", json=bad, headers=auth(keys["admin"]))
        assert r.status_code == 422, bad
    r = await client.get("/api/v1/meeting-series/dram")
    assert r.status_code == 401


async def test_meetings_exist_twelve_weeks_ahead_and_planning_twice_creates_nothing(
    db, client, keys
):
    now = london(2027, 3, 22, 7, 0)
    await plan(db, now)
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Meeting))
        last = await session.scalar(
            select(func.max(Meeting.local_date)).where(Meeting.kind == "dram")
        )
    assert last >= now.date() + dt.timedelta(weeks=12) - dt.timedelta(days=3)
    await plan(db, now)
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == count
    r = await client.get(
        "/api/v1/meetings",
        params={"kind": "dram", "from": "2027-03-25", "to": "2027-03-31"},
        headers=auth(keys["partner"]),
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # Good Friday 26 March and Easter Monday 29 March 2027 have no DRAM.
    assert [m["date"] for m in items] == ["2027-03-25", "2027-03-30", "2027-03-31"]
    assert items[0]["starts_at"] == "2027-03-25T09:30:00Z"  # GMT: offset zero
    assert items[1]["starts_at"] == "2027-03-30T09:30:00+01:00"
    assert items[1]["agenda_cutoff"] == "2027-03-30T08:30:00+01:00"
    assert items[1]["agenda_status"] == "draft"
    page = await client.get(
        "/api/v1/meetings", params={"kind": "dram", "limit": 2}, headers=auth(keys["admin"])
    )
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    more = await client.get(
        "/api/v1/meetings",
        params={"kind": "dram", "limit": 2, "cursor": body["next_cursor"]},
        headers=auth(keys["admin"]),
    )
    assert more.json()["items"][0]["date"] > body["items"][1]["date"]


async def test_changing_a_series_replans_future_draft_meetings_only(db, client, keys):
    with time_machine.travel(london(2027, 3, 22, 9, 0), tick=False):
        await plan(db, london(2027, 3, 22, 9, 0))
        today = await meeting(db, "dram", D(2027, 3, 22))  # cutoff 08:30 has passed
        r = await client.post(
            f"/api/v1/meetings/{today.id}/agenda/publish", headers=auth(keys["coordinator"])
        )
        assert r.status_code == 200, r.text
        r = await client.patch(
            "/api/v1/meeting-series/dram",
            json={"time": "10:00", "cutoff_time": "09:15"},
            headers=auth(keys["admin"]),
        )
        assert r.status_code == 200, r.text
        assert r.json()["time"] == "10:00"
        published = await meeting(db, "dram", D(2027, 3, 22))
        assert published.starts_at == london(2027, 3, 22, 9, 30)  # frozen: not moved
        later = await meeting(db, "dram", D(2027, 4, 6))
        assert later.starts_at == london(2027, 4, 6, 10, 0)
        assert later.agenda_cutoff == london(2027, 4, 6, 9, 15)
        # Move the MACE anchor: old dates go, new dates come, nothing is duplicated.
        r = await client.patch(
            "/api/v1/meeting-series/mace",
            json={"anchor_date": "2027-03-24"},
            headers=auth(keys["admin"]),
        )
        assert r.status_code == 200, r.text
        r = await client.get(
            "/api/v1/meetings", params={"kind": "mace"}, headers=auth(keys["admin"])
        )
        dates = [m["date"] for m in r.json()["items"]]
        assert dates[:2] == ["2027-03-24", "2027-05-05"]
