"""The synthetic partnership: deterministic for a seed, consistent, and in the intended mix."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.errors import Conflict
from app.models import (
    Action,
    Agency,
    Assessment,
    Case,
    CaseAgency,
    CaseEvent,
    CaseStatusChange,
    Decision,
    Meeting,
    MissingEpisode,
    SubjectIdentifier,
)
from app.risk.schemas import EventType
from app.risk.tool import default_tool
from app.seed import AGENCIES, Plan, generate, indicator_pools, seed, seed_agency_id
from tests.conftest import TEST_SECRET, Partnership, auth

AS_OF = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
CASES = 200


def _plan(seed_value: int) -> Plan:
    tool = default_tool()
    agencies = {kind: seed_agency_id(code) for code, _, kind in AGENCIES}
    return Plan(seed_value, AS_OF, TEST_SECRET, agencies, tool, indicator_pools(tool, seed_value))


def test_generation_is_deterministic_for_a_seed_and_independent_of_batching() -> None:
    whole = generate(_plan(7), 0, 60, set(), set())
    again = generate(_plan(7), 0, 60, set(), set())
    taken: set[str] = set()
    nhs: set[str] = set()
    halves = generate(_plan(7), 0, 30, taken, nhs)
    halves.extend(generate(_plan(7), 30, 30, taken, nhs))
    other = generate(_plan(8), 0, 60, set(), set())
    for (_, a), (_, b), (_, c) in zip(whole.tables(), again.tables(), halves.tables(), strict=True):
        assert a == b == c
    assert whole.cases != other.cases


async def test_seed_loads_a_consistent_partnership(db: Database) -> None:
    report = await seed(db, cases=CASES, seed=7, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    assert report.cases == CASES
    async with db.transaction() as session:
        cases = {c.id: c for c in await session.scalars(select(Case))}
        assessments = list(await session.scalars(select(Assessment)))
        episodes = list(await session.scalars(select(MissingEpisode)))
        events = list(await session.scalars(select(CaseEvent)))
        identifiers = list(await session.scalars(select(SubjectIdentifier)))
        involvement = {(r.case_id, r.agency_id) for r in await session.scalars(select(CaseAgency))}
        closures = {r.case_id: r for r in await session.scalars(select(CaseStatusChange))}
        kinds = set(await session.scalars(select(Agency.kind)))
        decisions = list(await session.scalars(select(Decision)))
        actions = list(await session.scalars(select(Action)))
        meetings = {m.id: m for m in await session.scalars(select(Meeting))}
    assert len(cases) == CASES
    assert kinds == {
        "local_authority",
        "police",
        "health",
        "education",
        "youth_justice",
        "voluntary",
    }

    # The same rows the generator makes: what was loaded is what the seed promises.
    expected = generate(_plan(7), 0, CASES, set(), set())
    assert {c["pseudonym"] for c in expected.cases} == {c.pseudonym for c in cases.values()}

    # current_level is the latest assessment's level (by assessed_at), for every case.
    latest: dict = {}
    for a in assessments:
        key = (a.assessed_at, a.recorded_at, str(a.id))
        if a.case_id not in latest or key > latest[a.case_id][0]:
            latest[a.case_id] = (key, a.level)
    for case_id, case in cases.items():
        assert case.current_level == (latest[case_id][1] if case_id in latest else None)

    # Involvement: the lead agency and every agency that posted or holds an identifier.
    for case in cases.values():
        assert (case.id, case.lead_agency_id) in involvement
    for record in [*assessments, *episodes, *events, *identifiers]:
        assert (record.case_id, record.agency_id) in involvement
    for action in actions:
        assert (action.case_id, action.owner_agency_id) in involvement

    # Past meetings with decisions and actions, each decision after its meeting started.
    assert decisions and actions
    assert {m.kind for m in meetings.values()} == {"dram", "mace"}
    for d in decisions:
        assert meetings[d.meeting_id].kind == d.meeting_kind
        assert meetings[d.meeting_id].starts_at <= d.recorded_at <= AS_OF
        assert cases[d.case_id].created_at <= meetings[d.meeting_id].starts_at

    # Records fall within the case's life; closed cases were closed with a reason.
    for record, moment in [
        *((a, a.assessed_at) for a in assessments),
        *((e, e.started_at) for e in episodes),
        *((e, e.occurred_at) for e in events),
    ]:
        case = cases[record.case_id]
        assert case.created_at <= moment <= AS_OF
        assert record.recorded_at <= AS_OF
        if case.status == "closed":
            assert moment <= case.closed_at
    for case in cases.values():
        assert (case.status == "closed") == (case.id in closures) == (case.closed_at is not None)
    for e in episodes:
        assert e.ended_at is None or e.ended_at >= e.started_at
        assert e.return_interview_at is None or e.ended_at <= e.return_interview_at

    # The intended mix: most children none or low, a minority high; every event type.
    levels = Counter(c.current_level for c in cases.values())
    assert levels["none"] + levels["low"] + levels[None] >= 0.55 * CASES
    assert 0 < levels["high"] <= 0.15 * CASES
    assert levels["medium"] > levels["high"]
    assert 0.2 * CASES <= sum(c.status == "open" for c in cases.values()) <= 0.8 * CASES
    assert {e.type for e in events} == {t.value for t in EventType}
    assert {e.service for e in events if e.type == "referral"} >= {
        "substance_misuse",
        "online_safety",
    }
    missing_per_child = Counter(e.case_id for e in episodes)
    assert 0.05 * CASES <= len(missing_per_child) <= 0.5 * CASES  # clustered in some children
    assert max(missing_per_child.values()) >= 3

    with pytest.raises(Conflict):  # a second load of the same seed is refused, not duplicated
        await seed(db, cases=10, seed=7, secret=TEST_SECRET, as_of=AS_OF, progress=False)


async def test_seeded_identifiers_and_flags_work_through_the_api(
    db: Database, client: httpx.AsyncClient, partnership: Partnership
) -> None:
    await seed(db, cases=40, seed=11, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    key = await partnership.key("seed-council", "coordinator")
    async with db.transaction() as session:
        case = await session.scalar(select(Case).order_by(Case.created_at).limit(1))
    assert case is not None
    # Identifiers are hashed with the configured secret exactly as the app hashes them.
    expected = generate(_plan(11), 0, 40, set(), set())
    number = next(i for i, c in enumerate(expected.cases) if c["id"] == case.id)
    r = await client.get(
        "/api/v1/subjects/lookup",
        params={"scheme": "agency_local", "value": f"SYN-11-{number:07d}"},
        headers=auth(key),
    )
    assert r.status_code == 200, r.text
    assert r.json()["case_id"] == str(case.id)
    r = await client.get(f"/api/v1/cases/{case.id}", headers=auth(key))
    assert r.status_code == 200, r.text
    assert (
        r.json()["current_risk"] is None or r.json()["current_risk"]["level"] == case.current_level
    )
    r = await client.get("/api/v1/flags", params={"limit": 500}, headers=auth(key))
    assert r.status_code == 200, r.text
