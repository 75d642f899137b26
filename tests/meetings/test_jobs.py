"""Scheduled jobs: catch-up after downtime, idempotent reruns, concurrent publishers."""

import asyncio
import datetime as dt

import time_machine
from sqlalchemy import func, select

from app.db import Database
from app.meetings.decisions import mark_overdue_actions
from app.meetings.jobs import MeetingScheduler, publish_due_agendas, run_all
from app.models import AgendaItem, Meeting
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, new_case, plan

D = dt.date


async def _run_scheduler_once(db: Database) -> None:
    scheduler = MeetingScheduler(db, lock_retry_seconds=0.05)
    await scheduler.start()
    try:
        await asyncio.wait_for(scheduler.caught_up.wait(), timeout=20)
        assert scheduler.is_leader
    finally:
        await scheduler.stop()


async def _ended_episode(client, key, case, started):
    r = await client.post(
        f"/api/v1/cases/{case['id']}/missing-episodes",
        json={
            "started_at": started.isoformat(),
            "ended_at": (started + dt.timedelta(minutes=10)).isoformat(),
            "return_interview_at": (started + dt.timedelta(minutes=20)).isoformat(),
        },
        headers=auth(key),
    )
    assert r.status_code == 201, r.text


async def test_a_scheduler_stopped_across_a_cutoff_publishes_once_as_of_the_cutoff(
    db, client, keys
):
    coordinator, police = keys["coordinator"], keys["police_partner"]
    with time_machine.travel(london(2027, 3, 19, 7, 0), tick=False) as traveller:
        known = await new_case(client, coordinator)  # referred on Friday: not new on Monday
        posted_late = await new_case(client, coordinator)

        traveller.move_to(london(2027, 3, 22, 7, 0))
        await _run_scheduler_once(db)  # plans the meetings; Monday's 08:30 cutoff is ahead
        monday = await meeting(db, "dram", D(2027, 3, 22))
        assert monday.agenda_status == "draft"

        traveller.move_to(london(2027, 3, 22, 8, 0))  # the scheduler is down from here
        await _ended_episode(client, police, known, london(2027, 3, 22, 2, 0))
        traveller.move_to(london(2027, 3, 22, 9, 0))  # after the cutoff, still down
        await _ended_episode(client, police, posted_late, london(2027, 3, 22, 3, 0))

        traveller.move_to(london(2027, 3, 22, 11, 45))
        await _run_scheduler_once(db)
        monday = await meeting(db, "dram", D(2027, 3, 22))
        assert monday.agenda_status == "published"
        assert monday.published_as_of == london(2027, 3, 22, 8, 30)
        assert monday.published_at == london(2027, 3, 22, 11, 45)
        agenda = (
            await client.get(f"/api/v1/meetings/{monday.id}/agenda", headers=auth(coordinator))
        ).json()
        assert [i["pseudonym"] for i in agenda["items"]] == [known["pseudonym"]]
        assert agenda["as_of"] == "2027-03-22T08:30:00Z"
        tuesday = await meeting(db, "dram", D(2027, 3, 23))
        assert tuesday.agenda_status == "draft"
        nxt = (
            await client.get("/api/v1/agendas/dram/2027-03-23", headers=auth(coordinator))
        ).json()
        assert [i["pseudonym"] for i in nxt["items"]] == [posted_late["pseudonym"]]

        traveller.move_to(london(2027, 3, 22, 12, 0))
        await _run_scheduler_once(db)  # a restart publishes nothing again
        again = await meeting(db, "dram", D(2027, 3, 22))
        assert again.published_at == london(2027, 3, 22, 11, 45)
        async with db.transaction() as session:
            items = await session.scalar(
                select(func.count())
                .select_from(AgendaItem)
                .where(AgendaItem.meeting_id == again.id)
            )
        assert items == 1


async def test_concurrent_publishers_publish_each_agenda_once(db, database_url):
    await plan(db, london(2027, 3, 22, 7, 0))
    other = Database(database_url)
    late = london(2027, 3, 26, 12, 0)
    try:
        counts = await asyncio.gather(
            publish_due_agendas(db, late), publish_due_agendas(other, late), run_all(other, late)
        )
    finally:
        await other.dispose()
    async with db.transaction() as session:
        published = await session.scalar(
            select(func.count()).select_from(Meeting).where(Meeting.agenda_status == "published")
        )
    # Mon 22 to Thu 25 March: four DRAMs (Good Friday has none) and no MACE cutoff yet.
    assert published == 4
    assert counts[0] + counts[1] <= 4


async def test_marking_overdue_actions_claims_each_once(db):
    assert await mark_overdue_actions(db, london(2027, 3, 22, 7, 0)) == 0


async def test_the_cli_runs_the_jobs_once(db, database_url):
    from tests.api.test_audit import riskreg

    first = riskreg(database_url, "jobs", "all")
    assert first.returncode == 0, first.stderr
    assert "meetings: " in first.stdout and "created" in first.stdout
    async with db.transaction() as session:
        planned = await session.scalar(select(func.count()).select_from(Meeting))
    assert planned > 50
    again = riskreg(database_url, "jobs", "materialise")
    assert again.stdout.startswith("meetings: 0 created")


async def test_publishing_and_overdue_actions_are_announced_to_subscribers_once(db, client, keys):
    from app.models import OutboxEvent

    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["agenda.published", "action.overdue"]},
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 201, r.text
    await plan(db, london(2027, 3, 22, 7, 0))
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        case = await new_case(client, keys["coordinator"])
        monday = await meeting(db, "dram", D(2027, 3, 22))
        r = await client.post(
            f"/api/v1/meetings/{monday.id}/agenda/items",
            json={"case_id": case["id"], "reason": "overnight arrest"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 201
        traveller.move_to(london(2027, 3, 22, 9, 0))
        assert await publish_due_agendas(db, london(2027, 3, 22, 9, 0)) == 1
        assert await publish_due_agendas(db, london(2027, 3, 22, 9, 1)) == 0
        r = await client.post(
            f"/api/v1/meetings/{monday.id}/decisions",
            json={
                "case_id": case["id"],
                "progress": "no_change",
                "summary": "Safety plan agreed.",
                "actions": [
                    {"description": "Visit", "owner_agency": "police", "due_date": "2027-03-23"}
                ],
            },
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 201, r.text
    assert await mark_overdue_actions(db, london(2027, 3, 25, 1, 0)) == 1
    assert await mark_overdue_actions(db, london(2027, 3, 25, 2, 0)) == 0
    async with db.transaction() as session:
        events = (
            await session.scalars(select(OutboxEvent).order_by(OutboxEvent.type.desc()))
        ).all()
    assert [e.type for e in events] == ["agenda.published", "action.overdue"]
    published = events[0].payload["data"]
    assert published["meeting_id"] == str(monday.id) and published["items"] == 1
    assert published["as_of"].startswith("2027-03-22T08:30:00")
    assert events[1].case_id is not None and events[1].payload["data"]["owner_agency"] == "police"
