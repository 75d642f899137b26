"""Statistics end to end on hand-built data: the overview's figures, the period filter, the
equality breakdown and its small-number suppression, and who may read them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from app.risk.flags import FLAG_CODES, london_date
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth
from tests.meetings.conftest import london, meeting, plan

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def today() -> dt.date:
    return london_date(now())


async def case(client: Any, key: str, referred_days_ago: int, **fields: Any) -> str:
    body = {"referral_date": (today() - dt.timedelta(days=referred_days_ago)).isoformat()}
    return str((await new_case(client, key, **{**body, **fields}))["id"])


async def assess(client: Any, key: str, case_id: str, ago: dt.timedelta, level: str) -> None:
    body = {
        "assessed_at": iso(now() - ago),
        "indicators": [],
        "judgement": {"level": level, "rationale": "agreed at the strategy meeting"},
    }
    r = await post(client, key, f"/api/v1/cases/{case_id}/assessments", body)
    assert r.status_code == 201, r.text


async def episode(
    client: Any,
    key: str,
    case_id: str,
    started: dt.timedelta,
    ended: dt.timedelta | None = None,
    interview: dt.timedelta | None = None,
) -> None:
    body: dict[str, Any] = {"started_at": iso(now() - started)}
    if ended is not None:
        body["ended_at"] = iso(now() - ended)
    if interview is not None:
        body["return_interview_at"] = iso(now() - interview)
    r = await post(client, key, f"/api/v1/cases/{case_id}/missing-episodes", body)
    assert r.status_code == 201, r.text


async def get(client: Any, key: str, path: str, **params: str) -> dict[str, Any]:
    r = await client.get(path, params=params, headers=auth(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def arrange_overview(client: Any, keys: dict[str, str]) -> None:
    key = keys["coordinator"]
    a = await case(client, key, 10, sex="female", ethnicity="WBRI")
    await assess(client, key, a, 8 * DAY, "high")  # 2 days after referral
    b = await case(client, key, 6, sex="male", ethnicity="BAFR", disability=True)
    await assess(client, key, b, 2 * DAY, "medium")  # 4 days
    await case(client, key, 3, sex="female")  # not yet assessed
    d = await case(client, key, 20, sex="female", looked_after=True)
    await assess(client, key, d, 17 * DAY, "low")  # 3 days, then closed
    r = await post(client, key, f"/api/v1/cases/{d}/close", {"reason": "risk reduced"})
    assert r.status_code == 200, r.text
    e = await case(client, key, 101, sex="male")
    await assess(client, key, e, 100 * DAY, "low")  # 1 day; low is reviewed every 84 days

    # A: one interview within 72 h; one return 1 day ago, interview not yet due.
    await episode(client, key, a, 5 * DAY, ended=4 * DAY, interview=3 * DAY)
    await episode(client, key, a, 2 * DAY, ended=1 * DAY)
    # B: returned 9 days ago, no interview: due and late. One more a year and a half ago.
    await episode(client, key, b, 10 * DAY, ended=9 * DAY)
    await episode(client, key, b, 540 * DAY, ended=539 * DAY)


async def test_overview_figures(client, keys):
    await arrange_overview(client, keys)
    body = await get(client, keys["coordinator"], "/api/v1/stats/overview")

    assert body["period"]["to"] == today().isoformat()
    assert body["period"]["from"] == (today() - 364 * DAY).isoformat()
    assert body["open_cases"] == 4
    assert body["open_cases_by_level"] == {
        "not_assessed": 1,
        "none": 0,
        "low": 1,
        "medium": 1,
        "high": 1,
    }
    assert body["assessments_overdue"] == 1
    assert body["referrals"] == 5  # the closed case was referred in the period too
    assert body["first_assessed"] == 4
    assert body["awaiting_first_assessment"] == 1
    assert body["median_days_referral_to_first_assessment"] == 2.5  # of 1, 2, 3 and 4
    assert body["missing_episodes"] == 3
    assert body["children_missing"] == 2
    assert body["return_interviews_due"] == 2
    assert body["return_interviews_within_72h"] == 1
    assert body["return_interviews_within_72h_rate"] == 0.5
    assert set(body["flags_by_code"]) == set(FLAG_CODES)
    assert body["flags_by_code"]["assessment_overdue"] == 1
    assert body["flags_by_code"]["new_referral"] == 4  # open cases created in the last 24 h
    assert body["flags_by_code"]["no_assessment"] == 0
    assert body["flags_cases_evaluated"] == 4 and body["flags_complete"] is True


async def test_overview_period_filter(client, keys):
    await arrange_overview(client, keys)
    key = keys["auditor"]
    recent = await get(
        client, key, "/api/v1/stats/overview", **{"from": (today() - 15 * DAY).isoformat()}
    )
    assert recent["referrals"] == 3  # referred 10, 6 and 3 days ago
    assert recent["first_assessed"] == 2
    assert recent["median_days_referral_to_first_assessment"] == 3.0
    assert recent["missing_episodes"] == 3

    # As the register knew it a month ago: none of these cases had been added yet.
    then = today() - 30 * DAY
    past = await get(
        client,
        key,
        "/api/v1/stats/overview",
        **{"from": (then - 200 * DAY).isoformat(), "to": then.isoformat()},
    )
    assert past["period"]["as_of"].startswith((then + DAY).isoformat()[:8])
    assert past["open_cases"] == 0
    assert past["referrals"] == 0
    assert past["missing_episodes"] == 0
    assert past["median_days_referral_to_first_assessment"] is None
    assert past["return_interviews_within_72h_rate"] is None


async def test_period_must_make_sense(client, keys):
    key = keys["coordinator"]
    for params in (
        {"from": today().isoformat(), "to": (today() - DAY).isoformat()},
        {"to": (today() + 2 * DAY).isoformat()},
        {"from": "1899-01-01"},
        {"from": "not-a-date"},
    ):
        r = await client.get("/api/v1/stats/equality", params=params, headers=auth(key))
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"


async def test_who_may_read_stats(client, keys):
    for role in ("admin", "auditor", "coordinator", "chair"):
        for path in ("/api/v1/stats/overview", "/api/v1/stats/equality"):
            r = await client.get(path, headers=auth(keys[role]))
            assert r.status_code == 200, (role, path)
    for role in ("practitioner", "partner"):
        r = await client.get("/api/v1/stats/overview", headers=auth(keys[role]))
        assert r.status_code == 403
    assert (await client.get("/api/v1/stats/equality")).status_code == 401


async def test_stats_reads_are_audited(client, keys):
    await get(client, keys["auditor"], "/api/v1/stats/equality")
    entries = await get(client, keys["auditor"], "/api/v1/audit")
    assert entries["items"][0]["action"] == "stats.equality"
    assert entries["items"][0]["case_id"] is None


def _group(body: dict[str, Any], dimension: str, group: str) -> dict[str, Any]:
    table = next(d for d in body["dimensions"] if d["dimension"] == dimension)
    if group == "total":
        return dict(table["total"])
    return dict(next(g for g in table["groups"] if g["group"] == group))


HIDDEN = {"value": None, "suppressed": True}


def shown(value: Any) -> dict[str, Any]:
    return {"value": value, "suppressed": False}


async def test_equality_suppresses_small_counts_and_what_would_reveal_them(client, keys):
    key = keys["coordinator"]
    # Six girls, none assessed; seven boys, two of them assessed medium.
    for _ in range(6):
        await case(client, key, 5, sex="female", ethnicity="WBRI")
    boys = [await case(client, key, 5, sex="male", ethnicity="WBRI") for _ in range(7)]
    for boy in boys[:2]:
        await assess(client, key, boy, 2 * DAY, "medium")

    body = await get(client, keys["auditor"], "/api/v1/stats/equality")
    assert body["suppression"]["threshold"] == 5
    girls, boys_row = _group(body, "sex", "female"), _group(body, "sex", "male")

    # Row totals of five or more are shown.
    assert girls["open_cases"] == shown(6) and boys_row["open_cases"] == shown(7)
    # Two boys at medium: primary suppression. Their five unassessed peers would give it
    # away (7 - 5), so that goes too; the girls' medium column and the cell that would give
    # that away follow, so neither column nor row can be solved.
    assert boys_row["levels"]["medium"] == HIDDEN
    assert boys_row["levels"]["not_assessed"] == HIDDEN
    assert girls["levels"]["medium"] == HIDDEN
    assert girls["levels"]["not_assessed"] == HIDDEN
    assert boys_row["levels"]["high"] == shown(0)
    # The same shape for first assessments, and the median that rests on two boys goes too.
    assert boys_row["first_assessed"] == HIDDEN
    assert boys_row["awaiting_first_assessment"] == HIDDEN
    assert boys_row["median_days_referral_to_first_assessment"] == HIDDEN
    assert girls["first_assessed"] == HIDDEN
    assert girls["awaiting_first_assessment"] == HIDDEN
    assert boys_row["referrals"] == shown(7)
    # Nobody overdue: zeros are shown, and "not overdue" equals the row total.
    assert boys_row["assessments_overdue"] == shown(0)
    assert boys_row["assessments_not_overdue"] == shown(7)

    # The partnership total repeats the overview, unsuppressed.
    total = _group(body, "sex", "total")
    assert total["levels"]["medium"] == shown(2)
    assert total["open_cases"] == shown(13)

    # Every line with a hidden cell hides at least two. (Not by ethnicity: every child here is
    # White British, so that row is the partnership total, published in the overview anyway.)
    for table in body["dimensions"][:1]:
        for row in table["groups"]:
            levels = [row["levels"][lv]["suppressed"] for lv in row["levels"]]
            hidden_in_row = sum(levels) + row["open_cases"]["suppressed"]
            assert hidden_in_row != 1, (table["dimension"], row["group"])
        for level in ("not_assessed", "none", "low", "medium", "high"):
            column = [row["levels"][level]["suppressed"] for row in table["groups"]]
            assert sum(column) != 1, (table["dimension"], level)
    # No published count is between 1 and 4.
    for table in body["dimensions"]:
        for row in table["groups"]:
            counts = [row["levels"][lv]["value"] for lv in row["levels"]] + [
                v["value"] for v in row.values() if isinstance(v, dict) and "suppressed" in v
            ]
            assert not any(type(v) is int and 0 < v < 5 for v in counts), row


async def test_equality_ethnicity_groups_and_interview_rates(client, keys):
    key = keys["coordinator"]
    # Five Black Caribbean/African children, each with an episode whose interview was in time;
    # one of them has a second episode with a late interview.
    children = [
        await case(client, key, 30, sex="male", ethnicity=code)
        for code in ("BCRB", "BAFR", "BAFR", "BOTH", "BCRB")
    ]
    for child in children:
        await episode(client, key, child, 10 * DAY, ended=9 * DAY, interview=8 * DAY)
    await episode(client, key, children[0], 20 * DAY, ended=19 * DAY, interview=10 * DAY)
    # Five children with no ethnicity recorded, every interview in time.
    for _ in range(5):
        child = await case(client, key, 30, sex="female")
        await episode(client, key, child, 6 * DAY, ended=5 * DAY, interview=5 * DAY - HOUR)

    body = await get(client, keys["chair"], "/api/v1/stats/equality")
    black = _group(body, "ethnicity", "black")
    assert black["return_interviews_due"] == shown(6)
    # One late interview: hidden, and so the in-time count and the rate that would give it.
    assert black["return_interviews_late"] == HIDDEN
    assert black["return_interviews_within_72h"] == HIDDEN
    assert black["return_interviews_within_72h_rate"] == HIDDEN
    assert _group(body, "ethnicity", "white")["open_cases"] == shown(0)
    total = _group(body, "ethnicity", "total")
    assert total["return_interviews_within_72h"] == shown(10)
    assert total["return_interviews_within_72h_rate"] == shown(round(10 / 11, 3))
    # By sex the boys' late interview is the whole column, so the girls' (none) goes too,
    # and with it their in-time count and rate.
    girls = _group(body, "sex", "female")
    assert girls["return_interviews_due"] == shown(5)
    assert girls["return_interviews_late"] == HIDDEN
    assert girls["return_interviews_within_72h_rate"] == HIDDEN
    assert [g["group"] for g in body["dimensions"][1]["groups"]] == [
        "white",
        "mixed",
        "asian",
        "black",
        "other",
        "not_known",
        "not_recorded",
    ]


async def test_overview_counts_actions_overdue(db, client, keys):
    h = auth(keys["coordinator"])
    with time_machine.travel(london(2027, 3, 22, 7, 0), tick=False) as traveller:
        await plan(db, london(2027, 3, 22, 7, 0))
        child = await new_case(client, keys["coordinator"])
        m = await meeting(db, "dram", dt.date(2027, 3, 23))
        r = await client.post(
            f"/api/v1/meetings/{m.id}/agenda/items",
            json={"case_id": child["id"], "reason": "police intelligence overnight"},
            headers=h,
        )
        assert r.status_code == 201, r.text
        assert (await client.post(f"/api/v1/meetings/{m.id}/agenda/publish", headers=h)).is_success
        traveller.move_to(london(2027, 3, 23, 10, 0))
        decision = {
            "case_id": child["id"],
            "progress": "no_change",
            "summary": "Joint visit agreed.",
            "actions": [
                {"description": "Joint visit", "owner_agency": "police", "due_date": "2027-03-25"},
                {"description": "Safety plan", "owner_agency": "council", "due_date": "2027-04-30"},
            ],
        }
        r = await client.post(f"/api/v1/meetings/{m.id}/decisions", json=decision, headers=h)
        assert r.status_code == 201, r.text
        assert (await get(client, keys["auditor"], "/api/v1/stats/overview"))[
            "actions_overdue"
        ] == 0

        traveller.move_to(london(2027, 3, 26, 9, 0))  # the joint visit was due yesterday
        body = await get(client, keys["auditor"], "/api/v1/stats/overview")
        assert body["actions_overdue"] == 1
        assert body["flags_by_code"]["actions_overdue"] == 1
        # Counted at the end of the 24th it was not yet overdue; at the end of the 25th, its
        # due day, it was.
        past = await get(client, keys["auditor"], "/api/v1/stats/overview", to="2027-03-24")
        assert past["actions_overdue"] == 0
        past = await get(client, keys["auditor"], "/api/v1/stats/overview", to="2027-03-25")
        assert past["actions_overdue"] == 1

        police_action = r.json()["actions"][0]["id"]
        r = await client.patch(
            f"/api/v1/actions/{police_action}", json={"status": "done"}, headers=h
        )
        assert r.status_code == 200, r.text
        assert (await get(client, keys["auditor"], "/api/v1/stats/overview"))[
            "actions_overdue"
        ] == 0
