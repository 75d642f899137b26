"""Decisions on agenda items and the actions they set."""

import asyncio
import datetime as dt

import time_machine
from sqlalchemy import func, select

from app.meetings.decisions import mark_overdue_actions
from app.models import Action, Decision
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, new_case, plan

D = dt.date
NOW = london(2027, 3, 23, 9, 0)  # Tuesday, after the DRAM cutoff


async def _published_with(db, client, keys, kind, day, *cases):
    m = await meeting(db, kind, day)
    for case in cases:
        r = await client.post(
            f"/api/v1/meetings/{m.id}/agenda/items",
            json={"case_id": case["id"], "reason": "discuss"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/meetings/{m.id}/agenda/publish", headers=auth(keys["coordinator"])
    )
    assert r.status_code == 200, r.text
    return m


def _decision(case, **changes):
    return {
        "case_id": case["id"],
        "progress": "no_change",
        "summary": "Agreed a joint visit and disruption plan.",
        "actions": [
            {"description": "Joint visit", "owner_agency": "police", "due_date": "2027-03-25"},
            {"description": "Refer to CAMHS", "owner_agency": "health", "due_date": "2027-04-30"},
        ],
        **changes,
    }


async def test_recording_a_decision_with_actions(db, client, keys):
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        case = await new_case(client, keys["coordinator"])
        off_agenda = await new_case(client, keys["coordinator"])
        draft = await meeting(db, "dram", D(2027, 3, 24))
        m = await _published_with(db, client, keys, "dram", D(2027, 3, 23), case)
        traveller.move_to(NOW)
        url = f"/api/v1/meetings/{m.id}/decisions"
        # The chair records MACE decisions, not DRAM ones; others may not record at all.
        for role in ("chair", "practitioner", "partner", "auditor"):
            r = await client.post(url, json=_decision(case), headers=auth(keys[role]))
            assert r.status_code == 403, role
        r = await client.post(url, json=_decision(off_agenda), headers=auth(keys["coordinator"]))
        assert r.status_code == 409  # not on this agenda
        r = await client.post(
            f"/api/v1/meetings/{draft.id}/decisions",
            json=_decision(case),
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 409  # agenda not published
        r = await client.post(
            url, json={**_decision(case), "child_name": "x"}, headers=auth(keys["coordinator"])
        )
        assert r.status_code == 422
        r = await client.post(
            url,
            json=_decision(
                case,
                actions=[{"description": "x", "owner_agency": "nope", "due_date": "2027-04-01"}],
            ),
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 422
        missing = {**_decision(case), "case_id": "00000000-0000-0000-0000-000000000000"}
        assert (
            await client.post(url, json=missing, headers=auth(keys["coordinator"]))
        ).status_code == 404

        h = {**auth(keys["coordinator"]), "Idempotency-Key": "decision-1"}
        r = await client.post(url, json=_decision(case, escalate_to_mace=True), headers=h)
        assert r.status_code == 201, r.text
        decision = r.json()
        assert decision["meeting_id"] == str(m.id) and decision["case_id"] == case["id"]
        assert decision["escalate_to_mace"] is True and decision["progress"] == "no_change"
        assert [a["owner_agency"] for a in decision["actions"]] == ["police", "health"]
        assert all(a["status"] == "open" for a in decision["actions"])
        replay = await client.post(url, json=_decision(case, escalate_to_mace=True), headers=h)
        assert replay.status_code == 201 and replay.json() == decision
        again = await client.post(url, json=_decision(case), headers=auth(keys["admin"]))
        assert again.status_code == 409  # one decision per agenda item
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Action)) == 2

        # Owning an action makes the police and health involved: they now read the case.
        got = await client.get(
            f"/api/v1/cases/{case['id']}", headers=auth(keys["police_practitioner"])
        )
        assert got.status_code == 200
        assert {"police", "health"} <= set(got.json()["agencies"])

        listed = await client.get(url, headers=auth(keys["chair"]))
        assert [d["id"] for d in listed.json()] == [decision["id"]]


async def test_concurrent_decisions_on_one_item_do_not_duplicate_actions(db, client, keys):
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        case = await new_case(client, keys["coordinator"])
        m = await _published_with(db, client, keys, "dram", D(2027, 3, 23), case)
        traveller.move_to(NOW)
        url = f"/api/v1/meetings/{m.id}/decisions"
        results = await asyncio.gather(
            *(
                client.post(url, json=_decision(case), headers=auth(keys[role]))
                for role in ("coordinator", "admin", "coordinator", "admin")
            )
        )
        assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Decision)) == 1
            assert await session.scalar(select(func.count()).select_from(Action)) == 2


async def test_tracking_actions(db, client, keys):
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        case = await new_case(client, keys["coordinator"])
        unseen = await new_case(client, keys["coordinator"])
        m = await _published_with(db, client, keys, "mace", D(2027, 4, 13), case)
        traveller.move_to(london(2027, 3, 26, 12, 0))
        r = await client.post(
            f"/api/v1/meetings/{m.id}/decisions",
            json=_decision(case),
            headers=auth(keys["chair"]),  # chairs record MACE decisions
        )
        assert r.status_code == 201, r.text
        police_action, health_action = r.json()["actions"]

        traveller.move_to(london(2027, 3, 29, 10, 0))  # police action due 25 March: overdue
        h = auth(keys["coordinator"])
        r = await client.get("/api/v1/actions", params={"status": "overdue"}, headers=h)
        assert [a["id"] for a in r.json()["items"]] == [police_action["id"]]
        assert r.json()["items"][0]["overdue"] is True
        r = await client.get("/api/v1/actions", params={"owner_agency": "health"}, headers=h)
        assert [a["id"] for a in r.json()["items"]] == [health_action["id"]]
        r = await client.get("/api/v1/actions", params={"case_id": unseen["id"]}, headers=h)
        assert r.json()["items"] == []
        r = await client.get("/api/v1/actions", params={"status": "late"}, headers=h)
        assert r.status_code == 422
        r = await client.get("/api/v1/actions", headers=auth(keys["auditor"]))
        assert r.status_code == 403
        # Police own an action, so they are involved and see the case's actions.
        r = await client.get("/api/v1/actions", headers=auth(keys["police_partner"]))
        assert [a["owner_agency"] for a in r.json()["items"]] == ["police", "health"]

        assert await mark_overdue_actions(db, london(2027, 3, 29, 10, 0)) == 1
        assert await mark_overdue_actions(db, london(2027, 3, 29, 11, 0)) == 0

        # Health may not close the police action; police may; a coordinator may change any.
        url = f"/api/v1/actions/{police_action['id']}"
        r = await client.patch(url, json={"status": "done"}, headers=auth(keys["health_partner"]))
        assert r.status_code == 403
        r = await client.patch(url, json={"status": "done"}, headers=auth(keys["chair"]))
        assert r.status_code == 403
        r = await client.patch(
            url, json={"status": "finished"}, headers=auth(keys["police_partner"])
        )
        assert r.status_code == 422
        r = await client.patch(
            url, json={"status": "done", "note": "x"}, headers=auth(keys["police_partner"])
        )
        assert r.status_code == 422
        r = await client.patch(url, json={"status": "done"}, headers=auth(keys["police_partner"]))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "done" and r.json()["overdue"] is False
        r = await client.get("/api/v1/actions", params={"status": "overdue"}, headers=h)
        assert r.json()["items"] == []
        r = await client.patch(
            f"/api/v1/actions/{health_action['id']}",
            json={"status": "cancelled"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 200
        r = await client.patch(
            "/api/v1/actions/00000000-0000-0000-0000-000000000000",
            json={"status": "done"},
            headers=h,
        )
        assert r.status_code == 404


async def test_an_action_on_an_unseen_case_is_404_for_other_agencies(db, client, keys, partnership):
    await partnership.agency("school")
    school = await partnership.key("school", "practitioner")
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        case = await new_case(client, keys["coordinator"])
        m = await _published_with(db, client, keys, "dram", D(2027, 3, 23), case)
        traveller.move_to(NOW)
        r = await client.post(
            f"/api/v1/meetings/{m.id}/decisions",
            json=_decision(case),
            headers=auth(keys["coordinator"]),
        )
        action = r.json()["actions"][0]
        r = await client.patch(
            f"/api/v1/actions/{action['id']}", json={"status": "done"}, headers=auth(school)
        )
        assert r.status_code == 404
        r = await client.get("/api/v1/actions", headers=auth(school))
        assert r.json()["items"] == []


async def test_closing_a_meeting_and_language_in_a_summary(db, client, keys):
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        case = await new_case(client, keys["coordinator"])
        other = await new_case(client, keys["coordinator"])
        m = await _published_with(db, client, keys, "dram", D(2027, 3, 23), case, other)
        traveller.move_to(NOW)
        r = await client.post(
            f"/api/v1/meetings/{m.id}/decisions",
            json=_decision(case, summary="She is putting herself at risk with her boyfriend."),
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 201, r.text  # language warns, never refuses
        phrases = {w["phrase"].lower() for w in r.json()["language_warnings"]}
        assert "putting herself at risk" in phrases and "boyfriend" in phrases
        assert {w["field"] for w in r.json()["language_warnings"]} == {"summary"}

        url = f"/api/v1/meetings/{m.id}/close"
        for role in ("chair", "practitioner", "partner", "auditor"):
            assert (await client.post(url, headers=auth(keys[role]))).status_code == 403
        r = await client.post(url, headers=auth(keys["coordinator"]))
        assert r.status_code == 200, r.text
        assert r.json()["agenda_status"] == "closed"
        assert (await client.post(url, headers=auth(keys["coordinator"]))).status_code == 409
        r = await client.post(
            f"/api/v1/meetings/{m.id}/decisions",
            json=_decision(other),
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 409
        r = await client.post(
            f"/api/v1/meetings/{m.id}/agenda/items",
            json={"case_id": other["id"], "reason": "x"},
            headers=auth(keys["coordinator"]),
        )
        assert r.status_code == 409
        agenda = await client.get(f"/api/v1/meetings/{m.id}/agenda", headers=auth(keys["chair"]))
        assert agenda.json()["status"] == "closed" and len(agenda.json()["items"]) == 2
        got = await client.get(f"/api/v1/meetings/{m.id}", headers=auth(keys["auditor"]))
        assert got.status_code == 200 and got.json()["agenda_status"] == "closed"
        draft = await meeting(db, "dram", D(2027, 3, 24))
        r = await client.post(
            f"/api/v1/meetings/{draft.id}/close", headers=auth(keys["coordinator"])
        )
        assert r.status_code == 409  # only a published agenda's meeting closes
        missing = "/api/v1/meetings/00000000-0000-0000-0000-000000000000"
        assert (await client.get(missing, headers=auth(keys["admin"]))).status_code == 404
        assert (await client.get(missing)).status_code == 401
        assert (await client.get("/api/v1/meetings")).status_code == 401
