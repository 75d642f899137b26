"""The risk trend chart: valid SVG with the expected points and episodes, readable only by
those who may read the case."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET

from app.risk.flags import AssessmentFacts, CaseFacts, CaseRecords, EpisodeFacts
from app.stats.chart import risk_history_svg
from app.stats.history import history_of
from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth

DAY = dt.timedelta(days=1)
NS = {"svg": "http://www.w3.org/2000/svg"}


async def _assess(client, key, case_id, ago, level):
    body = {
        "assessed_at": iso(now() - ago),
        "indicators": [],
        "judgement": {"level": level, "rationale": "multi-agency view"},
    }
    r = await post(client, key, f"/api/v1/cases/{case_id}/assessments", body)
    assert r.status_code == 201, r.text


async def test_chart_is_svg_with_the_steps_and_episodes(client, keys):
    key = keys["coordinator"]
    case = await new_case(client, key)
    for ago, level in ((30 * DAY, "low"), (20 * DAY, "high"), (10 * DAY, "medium")):
        await _assess(client, key, case["id"], ago, level)
    body = {"started_at": iso(now() - 15 * DAY), "ended_at": iso(now() - 14 * DAY)}
    r = await post(client, key, f"/api/v1/cases/{case['id']}/missing-episodes", body)
    assert r.status_code == 201
    body = {"started_at": iso(now() - 2 * DAY)}
    r = await post(client, key, f"/api/v1/cases/{case['id']}/missing-episodes", body)
    assert r.status_code == 201

    r = await client.get(f"/api/v1/cases/{case['id']}/risk-history.svg", headers=auth(key))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    root = ET.fromstring(r.text)  # well-formed XML or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert case["pseudonym"] in root.find("svg:title", NS).text
    desc = root.find("svg:desc", NS).text
    assert "current level medium" in desc and "2 missing episode(s), 1 still open" in desc

    points = root.findall(".//svg:g[@class='risk-point']", NS)
    assert [p.get("data-level") for p in points] == ["low", "high", "medium"]
    assert [p.find("svg:title", NS).text.split(": ")[1] for p in points] == [
        "low",
        "high",
        "medium",
    ]
    # One step up (low to high), one down (high to medium): higher levels sit higher (smaller y).
    line = root.find(".//svg:path[@class='risk-line']", NS).get("d")
    ys = [float(part.split()[0]) for part in line.split("V")[1:]]
    assert len(ys) == 2 and ys[0] < ys[1]
    episodes = root.findall(".//svg:g[@class='missing-episode']", NS)
    assert len(episodes) == 2
    assert episodes[0].get("data-end") and not episodes[1].get("data-end")
    # No colour is needed: everything is drawn in black, grey patterns and shapes.
    assert "#f00" not in r.text and "red" not in r.text


async def test_chart_follows_case_access(client, keys):
    case = await new_case(client, keys["coordinator"])
    path = f"/api/v1/cases/{case['id']}/risk-history.svg"
    r = await client.get(path, headers=auth(keys["police_practitioner"]))
    assert r.status_code == 404  # not involved: as if it did not exist
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.get(
        f"/api/v1/cases/{uuid.uuid4()}/risk-history.svg", headers=auth(keys["chair"])
    )
    assert r.status_code == 404
    assert (await client.get(path, headers=auth(keys["auditor"]))).status_code == 403
    r = await client.get(path, headers=auth(keys["chair"]))
    assert r.status_code == 200
    root = ET.fromstring(r.text)
    assert not root.findall(".//svg:g[@class='risk-point']", NS)
    assert "No risk assessment yet" in r.text


def test_history_is_as_known_at_the_moment_and_later_record_wins_a_tie():
    t0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    agency = uuid.uuid4()

    def assessment(assessed, recorded, level):
        return AssessmentFacts(uuid.uuid4(), agency, assessed, recorded, level, level)

    records = CaseRecords(
        case=CaseFacts(uuid.uuid4(), "open", t0),
        assessments=(
            assessment(t0 + DAY, t0 + DAY, "low"),
            assessment(t0 + DAY, t0 + 2 * DAY, "medium"),  # same moment, recorded later
            assessment(t0 + 3 * DAY, t0 + 9 * DAY, "high"),  # not known until day 9
        ),
        episodes=(EpisodeFacts(uuid.uuid4(), t0 + 2 * DAY, t0 + 2 * DAY),),
    )
    at = t0 + 5 * DAY
    h = history_of(records, "CE-TEST01", at)
    assert [(p.at, p.level) for p in h.points] == [(t0 + DAY, "medium")]
    assert h.end == at and h.start <= t0
    svg = risk_history_svg(h, element_id="c1")
    root = ET.fromstring(svg)
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert len(root.findall(".//svg:g[@class='missing-episode']", NS)) == 1
