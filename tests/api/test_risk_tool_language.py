"""The risk tool in force, loading another version, and the language check."""

import copy
import datetime as dt

from app.risk.tool import default_tool
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth


async def test_default_tool_shape_and_sources(client, keys):
    r = await client.get("/api/v1/risk/tool", headers=auth(keys["auditor"]))
    assert r.status_code == 200
    tool = r.json()
    assert tool["version"] == "2025.1"
    assert [(lv["code"], lv["review_interval_days"]) for lv in tool["levels"]] == [
        ("none", None),
        ("low", 84),
        ("medium", 28),
        ("high", 14),
    ]
    assert [t["level"] for t in tool["thresholds"]] == ["none", "low", "medium", "high"]
    categories = {c["code"] for c in tool["categories"]}
    assert categories == {
        "missing",
        "relationships",
        "sexual_health",
        "substances",
        "online",
        "money",
        "education",
        "wellbeing",
        "location",
        "offending",
    }
    indicators = {i["code"]: i for c in tool["categories"] for i in c["indicators"]}
    assert indicators["substance_use"]["needs_referral"] == "substance_misuse"
    assert indicators["online_exploitation"]["needs_referral"] == "online_safety"
    assert indicators["radicalisation_concern"]["needs_referral"] == "prevent"
    assert all({"code", "name", "weight", "needs_referral"} <= set(i) for i in indicators.values())
    sources = " ".join(s["source"] for s in tool["sources"])
    assert "Leeds" in sources and "West Yorkshire" in sources and "own calibration" in sources
    assert tool["floors"][0]["under_age_years"] == 13


def _new_version() -> dict:
    tool = copy.deepcopy(default_tool().model_dump(mode="json"))
    tool["version"] = "2026.1-test"
    tool["categories"][0]["indicators"].append(
        {"code": "new_indicator", "name": "A new indicator", "weight": 20, "needs_referral": None}
    )
    return tool


async def test_admin_loads_a_version_and_old_assessments_keep_theirs(client, keys):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/assessments"
    old = await post(client, keys["coordinator"], path, {"assessed_at": iso(now())})
    assert old.json()["tool_version"] == "2025.1"

    refused = await post(client, keys["coordinator"], "/api/v1/risk/tool", _new_version())
    assert refused.status_code == 403
    loaded = await post(client, keys["admin"], "/api/v1/risk/tool", _new_version())
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["version"] == "2026.1-test"
    current = await client.get("/api/v1/risk/tool", headers=auth(keys["coordinator"]))
    assert current.json()["version"] == "2026.1-test"

    new = await post(
        client,
        keys["coordinator"],
        path,
        {"assessed_at": iso(now()), "indicators": ["new_indicator"]},
    )
    assert new.status_code == 201, new.text
    assert (new.json()["tool_version"], new.json()["level"]) == ("2026.1-test", "high")
    listed = await client.get(path, headers=auth(keys["coordinator"]))
    assert {a["id"]: a["tool_version"] for a in listed.json()["items"]} == {
        old.json()["id"]: "2025.1",
        new.json()["id"]: "2026.1-test",
    }
    earlier = await client.get(
        "/api/v1/risk/tool?version=2025.1", headers=auth(keys["coordinator"])
    )
    assert earlier.status_code == 200 and earlier.json()["version"] == "2025.1"

    changed = _new_version()
    changed["name"] = "something else"
    clash = await post(client, keys["admin"], "/api/v1/risk/tool", changed)
    assert clash.status_code == 409
    back = await post(
        client, keys["admin"], "/api/v1/risk/tool", default_tool().model_dump(mode="json")
    )
    assert back.status_code == 201
    current = await client.get("/api/v1/risk/tool", headers=auth(keys["coordinator"]))
    assert current.json()["version"] == "2025.1"


async def test_invalid_tool_is_refused(client, keys):
    tool = _new_version()
    tool["categories"][1]["indicators"].append(dict(tool["categories"][0]["indicators"][0]))
    r = await post(client, keys["admin"], "/api/v1/risk/tool", tool)
    assert r.status_code == 422 and "appears twice" in r.text
    tool = _new_version()
    tool["thresholds"][2]["min_score"] = 0
    r = await post(client, keys["admin"], "/api/v1/risk/tool", tool)
    assert r.status_code == 422
    tool = _new_version()
    tool["surprise"] = True
    r = await post(client, keys["admin"], "/api/v1/risk/tool", tool)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "surprise"]
    current = await client.get("/api/v1/risk/tool", headers=auth(keys["admin"]))
    assert current.json()["version"] == "2025.1"


async def test_language_check_finds_phrases_on_word_boundaries(client, keys):
    text = (
        "Child Prostitute is an old term. She was Putting   Herself at risk; "
        "the boyfriends and the 'boyfriend' are adults. Consented? Unconsented is not a word."
    )
    r = await post(client, keys["partner"], "/api/v1/language/check", {"text": text})
    assert r.status_code == 200
    findings = r.json()["findings"]
    got = [(f["phrase"], text[f["start"] : f["end"]]) for f in findings]
    assert got == [
        ("Child Prostitute", "Child Prostitute"),
        ("Putting   Herself at risk", "Putting   Herself at risk"),
        ("boyfriend", "boyfriend"),
        ("Consented", "Consented"),
    ]
    assert all(f["suggestion"] and f["reason"] for f in findings)
    assert "Children's Society" in " ".join(r.json()["sources"].values())


async def test_language_check_refuses_unknown_fields(client, keys):
    r = await post(client, keys["partner"], "/api/v1/language/check", {"text": "ok", "name": "x"})
    assert r.status_code == 422


async def test_assessment_rationale_warnings_name_their_field(client, keys):
    case = await new_case(client, keys["coordinator"])
    r = await post(
        client,
        keys["coordinator"],
        f"/api/v1/cases/{case['id']}/assessments",
        {
            "assessed_at": iso(now() - dt.timedelta(hours=1)),
            "indicators": ["older_partner"],
            "judgement": {"level": "low", "rationale": "It is a lifestyle choice."},
        },
    )
    assert r.status_code == 201
    [w] = r.json()["language_warnings"]
    assert (w["field"], w["phrase"]) == ("judgement.rationale", "lifestyle choice")
