import datetime as dt

from sqlalchemy import func, select

from app.models import Assessment, Case
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth


async def test_assessment_scores_levels_and_schedules_review(client, keys):
    case = await new_case(client, keys["coordinator"], birth_month="2009-01")
    at = now() - dt.timedelta(hours=1)
    r = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {
            "assessed_at": iso(at),
            "indicators": ["older_partner", "missing_repeat", "unexplained_money_gifts"],
            "notes": "She is making choices about who she sees.",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["score"] == 5 + 4 + 3
    assert body["calculated_level"] == "high"
    assert body["level"] == "high"
    assert body["judgement"] is None
    assert body["tool_version"] == "2025.1"
    assert body["agency"] == "council"
    assert dt.datetime.fromisoformat(body["next_review_due"]) == at + dt.timedelta(days=14)
    [warning] = body["language_warnings"]
    assert warning["phrase"] == "making choices"
    assert warning["field"] == "notes"
    assert body["notes"][warning["start"] : warning["end"]] == "making choices"

    got = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(keys["coordinator"]))
    risk = got.json()["current_risk"]
    assert risk == {
        "level": "high",
        "score": 12,
        "assessed_at": body["assessed_at"],
        "next_review_due": body["next_review_due"],
        "assessment_id": body["id"],
    }
    assert got.json()["version"] == 1  # recording risk does not change the case's ETag
    listed = await client.get(
        f"/api/v1/cases/{case['id']}/assessments", headers=auth(keys["coordinator"])
    )
    assert [a["id"] for a in listed.json()["items"]] == [body["id"]]


async def test_judgement_sets_final_level_and_needs_rationale(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    at = iso(now() - dt.timedelta(minutes=5))
    missing = await post(
        client,
        keys["coordinator"],
        path,
        {"assessed_at": at, "indicators": ["substance_use"], "judgement": {"level": "high"}},
    )
    assert missing.status_code == 422
    assert ["body", "judgement", "rationale"] in [e["loc"] for e in missing.json()["errors"]]
    blank = await post(
        client,
        keys["coordinator"],
        path,
        {"assessed_at": at, "judgement": {"level": "high", "rationale": "   "}},
    )
    assert blank.status_code == 422
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Assessment)) == 0

    ok = await post(
        client,
        keys["coordinator"],
        path,
        {
            "assessed_at": at,
            "indicators": ["substance_use"],
            "judgement": {"level": "medium", "rationale": "Police intelligence links to a line."},
        },
    )
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert (body["calculated_level"], body["level"]) == ("low", "medium")
    assert body["judgement"] == {
        "level": "medium",
        "rationale": "Police intelligence links to a line.",
    }
    due = dt.datetime.fromisoformat(body["next_review_due"])
    assert due - dt.datetime.fromisoformat(body["assessed_at"]) == dt.timedelta(days=28)


async def test_unknown_indicators_are_listed(client, keys):
    case = await new_case(client, keys["coordinator"])
    r = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {"assessed_at": iso(now()), "indicators": ["substance_use", "made_up", "also_unknown"]},
    )
    assert r.status_code == 422
    body = r.json()
    assert "made_up" in body["detail"] and "also_unknown" in body["detail"]
    assert body["errors"] == [
        {"loc": ["body", "indicators", 1], "msg": "unknown indicator code 'made_up'"},
        {"loc": ["body", "indicators", 2], "msg": "unknown indicator code 'also_unknown'"},
    ]


async def test_future_time_and_unknown_field_are_refused_and_nothing_stored(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    future = await post(
        client,
        keys["coordinator"],
        path,
        {"assessed_at": iso(now() + dt.timedelta(minutes=6))},
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["loc"] == ["body", "assessed_at"]
    assert "future" in future.json()["errors"][0]["msg"]
    stray = await post(
        client, keys["coordinator"], path, {"assessed_at": iso(now()), "name": "A Child"}
    )
    assert stray.status_code == 422
    assert stray.json()["errors"][0]["loc"] == ["body", "name"]
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Assessment)) == 0
    # Within the 5-minute tolerance is accepted (clocks differ).
    near = await post(
        client, keys["coordinator"], path, {"assessed_at": iso(now() + dt.timedelta(minutes=4))}
    )
    assert near.status_code == 201, near.text


async def test_under_13_floor_lifts_any_indicator_to_medium(client, keys):
    today = dt.date.today()
    young = await new_case(client, keys["coordinator"], birth_month=f"{today.year - 11}-01")
    older = await new_case(client, keys["coordinator"], birth_month=f"{today.year - 15}-01")
    body = {"assessed_at": iso(now()), "indicators": ["persistent_absence"]}
    r_young = await post(
        client, keys["coordinator"], f"/api/v1/cases/{young['id']}/assessments", body
    )
    r_older = await post(
        client, keys["coordinator"], f"/api/v1/cases/{older['id']}/assessments", body
    )
    assert (r_young.json()["score"], r_young.json()["calculated_level"]) == (2, "medium")
    assert (r_older.json()["score"], r_older.json()["calculated_level"]) == (2, "low")
    none = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{young['id']}/assessments",
        {"assessed_at": iso(now()), "indicators": []},
    )
    assert none.json()["calculated_level"] == "none"
    assert none.json()["next_review_due"] is None


async def test_late_posted_older_assessment_does_not_change_current_risk(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    newer = await post(
        client,
        keys["police_partner"],
        path,
        {"assessed_at": iso(now() - dt.timedelta(days=1)), "indicators": ["substance_use"]},
    )
    older = await post(
        client,
        keys["health_partner"],
        path,
        {
            "assessed_at": iso(now() - dt.timedelta(days=3)),
            "indicators": ["older_partner", "sexual_assault_disclosed"],
        },
    )
    assert older.status_code == 201 and older.json()["level"] == "high"
    got = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(keys["coordinator"]))
    assert got.json()["current_risk"]["assessment_id"] == newer.json()["id"]
    assert got.json()["current_risk"]["level"] == "low"
    async with db.transaction() as session:
        case_row = await session.get(Case, __import__("uuid").UUID(case["id"]))
        assert case_row.current_level == "low"
        assert case_row.version == 1
    by_level = await client.get("/api/v1/cases?risk_level=low", headers=auth(keys["coordinator"]))
    assert [c["id"] for c in by_level.json()["items"]] == [case["id"]]
    # History lists both, newest assessed first.
    listed = await client.get(path, headers=auth(keys["coordinator"]))
    assert [a["id"] for a in listed.json()["items"]] == [newer.json()["id"], older.json()["id"]]


async def test_idempotency_key_returns_first_response_and_creates_one(client, keys, db):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    body = {"assessed_at": iso(now()), "indicators": ["weapons"]}
    first = await post(client, keys["police_partner"], path, body, **{"Idempotency-Key": "k-1"})
    again = await post(client, keys["police_partner"], path, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Assessment)) == 1


async def test_case_keeps_a_copy_of_its_current_assessment_for_the_set_based_flags(
    client, keys, db
):
    """cases.current_* follow the latest assessment by assessed_at, whatever the posting order:
    the set-based flags (app/risk/setbased.py) filter on them."""
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    first = await post(
        client,
        keys["police_partner"],
        path,
        {
            "assessed_at": iso(now() - dt.timedelta(days=2)),
            "indicators": ["substance_use", "older_partner"],
            "judgement": {"level": "low", "rationale": "Seen with family; plan in place."},
        },
    )
    late_older = await post(
        client,
        keys["health_partner"],
        path,
        {"assessed_at": iso(now() - dt.timedelta(days=5)), "indicators": ["missing_once"]},
    )
    assert first.status_code == late_older.status_code == 201

    async def copy() -> tuple:
        async with db.transaction() as session:
            row = await session.get(Case, __import__("uuid").UUID(case["id"]))
            return (
                row.current_assessment_id,
                row.current_review_due,
                row.current_judgement_differs,
                row.current_indicators,
                row.current_level,
            )

    first_row = first.json()
    assert await copy() == (
        __import__("uuid").UUID(first_row["id"]),
        dt.datetime.fromisoformat(first_row["next_review_due"]),
        True,
        ["substance_use", "older_partner"],
        "low",
    )
    newest = await post(
        client,
        keys["police_partner"],
        path,
        {"assessed_at": iso(now() - dt.timedelta(hours=1)), "indicators": []},
    )
    newest_row = newest.json()
    got = await copy()
    assert got[0] == __import__("uuid").UUID(newest_row["id"])
    assert got[2] is False and got[3] == [] and got[4] == newest_row["level"]
