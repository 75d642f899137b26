"""The demo partnership shows flags; the risk routes are in the OpenAPI contract."""

from app.demo import load_demo
from tests.conftest import auth


async def test_demo_cases_carry_risk_and_flags(client, db, settings):
    key = await load_demo(db, settings)
    cases = (await client.get("/api/v1/cases", headers=auth(key))).json()["items"]
    levels = sorted(c["current_risk"]["level"] for c in cases if c["current_risk"])
    assert "high" in levels
    codes = {f["code"] for c in cases for f in c["flags"]}
    assert {
        "assessment_overdue",
        "return_interview_overdue",
        "judgement_below_tool",
        "currently_missing",
        "placement_instability",
        "unaddressed_indicator",
    } <= codes
    again = await load_demo(db, settings)  # a second run adds no records
    assert len((await client.get("/api/v1/cases", headers=auth(again))).json()["items"]) == 5


async def test_risk_routes_declare_their_errors(client):
    spec = (await client.get("/openapi.json")).json()
    post_assessment = spec["paths"]["/api/v1/cases/{case_id}/assessments"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(post_assessment["responses"])
    for path in (
        "/api/v1/risk/tool",
        "/api/v1/cases/{case_id}/missing-episodes",
        "/api/v1/missing-episodes/{episode_id}",
        "/api/v1/missing-episodes/{episode_id}/return-interview",
        "/api/v1/cases/{case_id}/events",
        "/api/v1/cases/{case_id}/flags",
        "/api/v1/flags",
        "/api/v1/cases/{case_id}/chronology",
        "/api/v1/language/check",
    ):
        assert path in spec["paths"], path
