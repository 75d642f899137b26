"""Agenda mechanics: reading, formats, publishing (claimed once), late items, roles."""

import csv
import datetime as dt
import io

import time_machine
from sqlalchemy import func, select

from app.meetings.jobs import publish_due_agendas
from app.models import AgendaItem, Meeting
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, new_case, plan

D = dt.date
NOW = london(2027, 3, 22, 7, 0)  # Monday, before the 08:30 cutoff


async def test_agenda_roles_and_unknown_meetings(db, client, keys):
    await plan(db, NOW)
    m = await meeting(db, "dram", D(2027, 3, 23))
    url = f"/api/v1/meetings/{m.id}/agenda"
    for role in ("admin", "coordinator", "chair"):
        r = await client.get(url, headers=auth(keys[role]))
        assert r.status_code == 200, role
        assert r.json()["meeting"]["id"] == str(m.id)
        assert r.json()["status"] == "draft"
    for role in ("practitioner", "partner", "auditor"):
        assert (await client.get(url, headers=auth(keys[role]))).status_code == 403, role
    r = await client.get(
        "/api/v1/meetings/00000000-0000-0000-0000-000000000000/agenda",
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_agendas_by_kind_and_date(db, client, keys):
    with time_machine.travel(NOW, tick=False):
        await plan(db, NOW)
        h = auth(keys["coordinator"])
        r = await client.get("/api/v1/agendas/dram/today", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["meeting"]["date"] == "2027-03-22"
        assert r.json()["window"]["end"] == "2027-03-22T07:00:00Z"  # live: as of now
        assert r.json()["window"]["start"] == "2027-03-19T08:30:00Z"  # Friday's cutoff
        r = await client.get("/api/v1/agendas/mace/next", headers=h)
        assert r.status_code == 200
        assert r.json()["window"] is None
        assert (await client.get("/api/v1/agendas/dram/2027-03-26", headers=h)).status_code == 404
        assert (await client.get("/api/v1/agendas/dram/2027-03-27", headers=h)).status_code == 404
        bad_day = await client.get("/api/v1/agendas/dram/2027-02-30", headers=h)
        assert bad_day.status_code == 422
        assert bad_day.json()["errors"][0]["loc"] == ["path", "date"]
        assert (await client.get("/api/v1/agendas/dram/tomorrow", headers=h)).status_code == 422
        assert (await client.get("/api/v1/agendas/weekly/today", headers=h)).status_code == 422
        r = await client.get("/api/v1/agendas/dram/today", headers=auth(keys["partner"]))
        assert r.status_code == 403


async def test_early_publish_claims_once_and_freezes(db, client, keys):
    with time_machine.travel(NOW, tick=False):
        await plan(db, NOW)
        m = await meeting(db, "dram", D(2027, 3, 23))
        url = f"/api/v1/meetings/{m.id}/agenda/publish"
        for role in ("chair", "practitioner", "partner", "auditor"):
            assert (await client.post(url, headers=auth(keys[role]))).status_code == 403
        r = await client.post(url, headers=auth(keys["coordinator"]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "published"
        assert body["meeting"]["agenda_status"] == "published"
        as_of = dt.datetime.fromisoformat(body["as_of"])
        assert as_of < m.agenda_cutoff  # early: as of the moment it was published
        again = await client.post(url, headers=auth(keys["admin"]))
        assert again.status_code == 409
        # The catch-up job does not publish it again either.
        assert await publish_due_agendas(db, london(2027, 3, 23, 9, 0)) == 1  # only the 22nd
        async with db.transaction() as session:
            stored = await session.get(Meeting, m.id)
        assert stored.published_as_of == as_of
        # The next DRAM's window opens where this one was cut.
        nxt = await client.get("/api/v1/agendas/dram/2027-03-24", headers=auth(keys["coordinator"]))
        assert dt.datetime.fromisoformat(nxt.json()["window"]["start"]) == as_of


async def test_late_items_formats_and_idempotency(db, client, keys):
    with time_machine.travel(NOW, tick=False):
        await plan(db, NOW)
        m = await meeting(db, "dram", D(2027, 3, 23))
        case = await new_case(client, keys["coordinator"])
        other = await new_case(client, keys["police_practitioner"])
        url = f"/api/v1/meetings/{m.id}/agenda/items"
        h = {**auth(keys["coordinator"]), "Idempotency-Key": "late-1"}
        body = {"case_id": case["id"], "reason": "Police intelligence overnight: =seen with adults"}
        r = await client.post(url, json=body, headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["added_by"] == "council"
        assert r.json()["late_reason"].startswith("Police intelligence")
        replay = await client.post(url, json=body, headers=h)
        assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
        assert replay.json() == r.json()
        reused = await client.post(url, json={**body, "reason": "other"}, headers=h)
        assert reused.status_code == 422
        dup = await client.post(url, json=body, headers=auth(keys["coordinator"]))
        assert dup.status_code == 409
        assert (
            await client.post(url, json={**body, "name": "x"}, headers=auth(keys["coordinator"]))
        ).status_code == 422
        for role in ("chair", "practitioner", "partner", "auditor"):
            r = await client.post(
                url, json={"case_id": other["id"], "reason": "r"}, headers=auth(keys[role])
            )
            assert r.status_code == 403, role
        missing = {"case_id": "00000000-0000-0000-0000-000000000000", "reason": "r"}
        assert (
            await client.post(url, json=missing, headers=auth(keys["coordinator"]))
        ).status_code == 404
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(AgendaItem)) == 1

        agenda = await client.get(
            f"/api/v1/meetings/{m.id}/agenda", headers=auth(keys["coordinator"])
        )
        assert [i["pseudonym"] for i in agenda.json()["items"]] == [case["pseudonym"]]

        r = await client.get(
            f"/api/v1/meetings/{m.id}/agenda",
            params={"format": "csv"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == 1
        assert rows[0]["pseudonym"] == case["pseudonym"]
        assert rows[0]["late_reason"].startswith("Police")
        assert rows[0]["added_by"] == "council"

        r = await client.get(
            f"/api/v1/meetings/{m.id}/agenda",
            params={"format": "html"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "@media print" in page and case["pseudonym"] in page
        assert "<script" not in page and "http://" not in page and "https://" not in page
        assert "<link" not in page
        r = await client.get(
            f"/api/v1/meetings/{m.id}/agenda",
            params={"format": "pdf"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 422

        # Publishing keeps the coordinator's item, who added it and why.
        r = await client.post(
            f"/api/v1/meetings/{m.id}/agenda/publish", headers=auth(keys["coordinator"])
        )
        items = r.json()["items"]
        assert [(i["pseudonym"], i["added_by"]) for i in items] == [(case["pseudonym"], "council")]
        # A late item after publication is added to the frozen agenda, marked as such.
        r = await client.post(
            url,
            json={"case_id": other["id"], "reason": "arrest overnight"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 201
        r = await client.get(f"/api/v1/meetings/{m.id}/agenda", headers=auth(keys["coordinator"]))
        assert {i["pseudonym"] for i in r.json()["items"]} == {
            case["pseudonym"],
            other["pseudonym"],
        }


async def test_catch_up_publishes_due_agendas_once_as_of_their_cutoff(db):
    await plan(db, NOW)
    late = london(2027, 3, 23, 11, 0)  # past Monday's and Tuesday's cutoffs
    assert await publish_due_agendas(db, late) == 2
    assert await publish_due_agendas(db, late) == 0
    monday = await meeting(db, "dram", D(2027, 3, 22))
    tuesday = await meeting(db, "dram", D(2027, 3, 23))
    assert monday.published_as_of == london(2027, 3, 22, 8, 30)
    assert tuesday.published_as_of == london(2027, 3, 23, 8, 30)
    assert tuesday.window_start == london(2027, 3, 22, 8, 30)
    assert monday.published_at == late


async def test_calendar_feed_parses_and_carries_the_london_zone(db, client, keys):
    import icalendar

    await plan(db, london(2027, 3, 22, 7, 0))
    r = await client.get("/api/v1/calendar.ics", headers=auth(keys["practitioner"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    zones = [c for c in cal.walk("VTIMEZONE")]
    assert [str(z["TZID"]) for z in zones] == ["Europe/London"]
    events = cal.walk("VEVENT")
    assert len(events) > 50  # 12 weeks of working days and the MACEs in them
    by_day = {e.decoded("dtstart").date(): e for e in events if "DRAM" in str(e["summary"])}
    for day, offset in ((D(2027, 3, 25), 0), (D(2027, 3, 30), 1)):
        event = by_day[day]
        assert event["dtstart"].params["TZID"] == "Europe/London"
        start = event.decoded("dtstart")
        assert (start.hour, start.minute) == (9, 30)
        assert start.utcoffset() == dt.timedelta(hours=offset)
    assert b"DTSTART;TZID=Europe/London:20270330T093000" in r.content
    assert (await client.get("/api/v1/calendar.ics")).status_code == 401
