"""Agenda content on the real flag rules: window edges, freezing, MACE criteria, priority."""

import datetime as dt

import time_machine

from app.meetings.jobs import publish_due_agendas
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, new_case, plan

D = dt.date
SECOND = dt.timedelta(seconds=1)
MONDAY_CUTOFF = london(2027, 3, 22, 8, 30)  # the DRAM before Tuesday 23 March 2027
TUESDAY_CUTOFF = london(2027, 3, 23, 8, 30)


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
    return r.json()


async def _agenda(client, key, kind, day):
    r = await client.get(f"/api/v1/agendas/{kind}/{day}", headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()


def _codes(agenda):
    return {i["pseudonym"]: [r["code"] for r in i["reasons"]] for i in agenda["items"]}


async def test_dram_window_edges_and_freezing(db, client, keys):
    coordinator, police = keys["coordinator"], keys["police_partner"]
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        before = await new_case(client, coordinator)
        after = await new_case(client, coordinator)
        late = await new_case(client, coordinator)
        quiet = await new_case(client, coordinator)

        # One second before the previous (Monday) cutoff: Monday's window, not Tuesday's.
        traveller.move_to(MONDAY_CUTOFF - SECOND)
        episode_before = await _ended_episode(client, police, before, london(2027, 3, 22, 6, 0))
        # One second after it: Tuesday's window.
        traveller.move_to(MONDAY_CUTOFF + SECOND)
        episode_after = await _ended_episode(client, police, after, london(2027, 3, 22, 6, 0))

        # Tuesday's cutoff passes; the catch-up publishes Monday's and Tuesday's agendas.
        traveller.move_to(TUESDAY_CUTOFF + dt.timedelta(minutes=1))
        assert await publish_due_agendas(db, TUESDAY_CUTOFF + dt.timedelta(minutes=1)) == 2

        monday = await _agenda(client, coordinator, "dram", "2027-03-22")
        assert "new_missing_episode" in _codes(monday)[before["pseudonym"]]
        assert "new_missing_episode" not in _codes(monday).get(after["pseudonym"], [])

        tuesday = await _agenda(client, coordinator, "dram", "2027-03-23")
        assert tuesday["status"] == "published"
        assert tuesday["as_of"] == TUESDAY_CUTOFF.astimezone(dt.UTC).isoformat().replace(
            "+00:00", "Z"
        )
        assert tuesday["window"] == {"start": "2027-03-22T08:30:00Z", "end": "2027-03-23T08:30:00Z"}
        codes = _codes(tuesday)
        assert set(codes) == {after["pseudonym"]}
        assert codes[after["pseudonym"]] == ["new_missing_episode"]
        (item,) = tuesday["items"]
        assert item["added_by"] == "rule" and item["case_id"] == after["id"]
        assert item["reasons"][0]["evidence"] == [episode_after["id"]]
        assert episode_before["id"] not in str(tuesday)

        # A record posted after publication does not change the frozen agenda...
        traveller.move_to(TUESDAY_CUTOFF + dt.timedelta(minutes=5))
        await _ended_episode(client, police, late, london(2027, 3, 23, 7, 0))
        assert await _agenda(client, coordinator, "dram", "2027-03-23") == tuesday
        # ...and appears on the next one.
        wednesday = await _agenda(client, coordinator, "dram", "2027-03-24")
        assert wednesday["status"] == "draft"
        assert set(_codes(wednesday)) == {late["pseudonym"]}
        assert quiet["pseudonym"] not in str(wednesday)

        traveller.move_to(london(2027, 3, 24, 8, 31))
        assert await publish_due_agendas(db, london(2027, 3, 24, 8, 31)) == 1
        frozen = await _agenda(client, coordinator, "dram", "2027-03-24")
        assert frozen["status"] == "published" and set(_codes(frozen)) == {late["pseudonym"]}


async def test_priority_puts_currently_missing_then_high_risk_first(db, client, keys):
    coordinator, police = keys["coordinator"], keys["police_partner"]
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        missing = await new_case(client, coordinator)
        high = await new_case(client, coordinator)
        medium = await new_case(client, coordinator)
        traveller.move_to(london(2027, 3, 22, 10, 0))
        r = await client.post(
            f"/api/v1/cases/{missing['id']}/missing-episodes",
            json={"started_at": london(2027, 3, 22, 9, 0).isoformat()},
            headers=auth(police),
        )
        assert r.status_code == 201, r.text
        for case, level in ((high, "high"), (medium, "medium")):
            r = await client.post(
                f"/api/v1/cases/{case['id']}/assessments",
                json={
                    "assessed_at": london(2027, 3, 22, 9, 30).isoformat(),
                    "judgement": {"level": level, "rationale": "Professional judgement."},
                },
                headers=auth(coordinator),
            )
            assert r.status_code == 201, r.text
        traveller.move_to(london(2027, 3, 23, 7, 0))
        agenda = await _agenda(client, coordinator, "dram", "2027-03-23")
        order = [i["pseudonym"] for i in agenda["items"]]
        assert order == [missing["pseudonym"], high["pseudonym"], medium["pseudonym"]]
        priorities = [i["priority"] for i in agenda["items"]]
        assert priorities == sorted(priorities, reverse=True)
        assert [i["risk_level"] for i in agenda["items"]] == [None, "high", "medium"]
        assert "currently_missing" in [r["code"] for r in agenda["items"][0]["reasons"]]


async def test_mace_agenda_criteria(db, client, keys):
    coordinator, chair = keys["coordinator"], keys["chair"]
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        high = await new_case(client, coordinator)
        escalated = await new_case(client, coordinator)
        medium = await new_case(client, coordinator)
        traveller.move_to(london(2027, 3, 22, 10, 0))
        for case, level in ((high, "high"), (medium, "medium"), (escalated, "medium")):
            r = await client.post(
                f"/api/v1/cases/{case['id']}/assessments",
                json={
                    "assessed_at": london(2027, 3, 22, 9, 30).isoformat(),
                    "judgement": {"level": level, "rationale": "Professional judgement."},
                },
                headers=auth(coordinator),
            )
            assert r.status_code == 201, r.text
        # Tuesday's DRAM discusses them all and escalates one to MACE.
        traveller.move_to(london(2027, 3, 23, 9, 0))
        assert await publish_due_agendas(db, london(2027, 3, 23, 9, 0)) >= 1
        dram = await meeting(db, "dram", D(2027, 3, 23))
        r = await client.post(
            f"/api/v1/meetings/{dram.id}/decisions",
            json={
                "case_id": escalated["id"],
                "progress": "worsening",
                "escalate_to_mace": True,
                "summary": "Escalate: new associates and going missing from school.",
                "actions": [],
            },
            headers=auth(coordinator),
        )
        assert r.status_code == 201, r.text

        # The MACE on Tuesday 13 April 2027 has its cutoff at 17:00 on Tuesday 6 April.
        mace = await _agenda(client, chair, "mace", "2027-04-13")
        codes = _codes(mace)
        assert set(codes) == {high["pseudonym"], escalated["pseudonym"]}
        assert codes[high["pseudonym"]][0] == "risk_high"
        assert codes[escalated["pseudonym"]][0] == "escalated_by_dram"
        assert mace["window"] is None


async def _late_and_publish(client, key, meeting_id, *cases):
    for case in cases:
        r = await client.post(
            f"/api/v1/meetings/{meeting_id}/agenda/items",
            json={"case_id": case["id"], "reason": "raised by a partner"},
            headers=auth(key),
        )
        assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/meetings/{meeting_id}/agenda/publish", headers=auth(key))
    assert r.status_code == 200, r.text


async def _decide(client, key, meeting_id, case, progress, actions=()):
    r = await client.post(
        f"/api/v1/meetings/{meeting_id}/decisions",
        json={
            "case_id": case["id"],
            "progress": progress,
            "summary": "Reviewed.",
            "actions": list(actions),
        },
        headers=auth(key),
    )
    assert r.status_code == 201, r.text


async def test_mace_takes_stalled_cases_and_overdue_mace_actions_only(db, client, keys):
    coordinator, chair = keys["coordinator"], keys["chair"]
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        stalled = await new_case(client, coordinator)
        dram_action = await new_case(client, coordinator)
        mace_action = await new_case(client, coordinator)
        monday = await meeting(db, "dram", D(2027, 3, 22))
        tuesday = await meeting(db, "dram", D(2027, 3, 23))
        first_mace = await meeting(db, "mace", D(2027, 4, 13))

        traveller.move_to(london(2027, 3, 22, 9, 0))
        await publish_due_agendas(db, london(2027, 3, 22, 9, 0))
        await _late_and_publish(client, coordinator, tuesday.id, stalled, dram_action)
        await _late_and_publish(client, coordinator, first_mace.id, mace_action)
        for case in (stalled, dram_action):
            r = await client.post(
                f"/api/v1/meetings/{monday.id}/agenda/items",
                json={"case_id": case["id"], "reason": "raised by a partner"},
                headers=auth(coordinator),
            )
            assert r.status_code in (201, 409), r.text  # already on it by rule (new referral)
        await _decide(client, coordinator, monday.id, stalled, "no_change")
        due = {"description": "Visit", "owner_agency": "police", "due_date": "2027-03-24"}
        await _decide(client, coordinator, monday.id, dram_action, "improving", [due])
        traveller.move_to(london(2027, 3, 23, 10, 0))
        await _decide(client, coordinator, tuesday.id, stalled, "worsening")
        traveller.move_to(london(2027, 4, 13, 11, 0))
        later = {**due, "due_date": "2027-04-20"}
        await _decide(client, chair, first_mace.id, mace_action, "improving", [later])

        traveller.move_to(london(2027, 5, 1, 12, 0))
        mace = await _agenda(client, chair, "mace", "2027-05-25")
        codes = _codes(mace)
        assert set(codes) == {stalled["pseudonym"], mace_action["pseudonym"]}
        assert codes[stalled["pseudonym"]] == ["stalled"]
        assert codes[mace_action["pseudonym"]] == ["actions_overdue"]
        # The DRAM-set overdue action keeps the case on the DRAM, not the MACE.
        dram = await _agenda(client, coordinator, "dram", "2027-05-04")
        assert "actions_overdue" in _codes(dram)[dram_action["pseudonym"]]
