"""The printable agenda: per item the pseudonym, level, reasons in plain words and the trend
chart inline; a print stylesheet; nothing fetched from anywhere; charts frozen with the agenda."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import time_machine

from tests.conftest import auth
from tests.meetings.conftest import london, meeting, new_case, plan

NOW = london(2027, 3, 22, 7, 0)  # Monday, before the 08:30 cutoff


def _charts(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S)]


async def test_printable_agenda_has_plain_reasons_and_inline_charts(db, client, keys):
    h = auth(keys["coordinator"])
    with time_machine.travel(NOW, tick=False):
        await plan(db, NOW)
        m = await meeting(db, "dram", dt.date(2027, 3, 22))
        case = await new_case(client, keys["coordinator"], sex="male")
        for days, level in ((30, "medium"), (1, "high")):
            r = await client.post(
                f"/api/v1/cases/{case['id']}/assessments",
                json={
                    "assessed_at": (NOW - dt.timedelta(days=days)).isoformat(),
                    "indicators": [],
                    "judgement": {"level": level, "rationale": "multi-agency view"},
                },
                headers=h,
            )
            assert r.status_code == 201, r.text
        r = await client.post(
            f"/api/v1/cases/{case['id']}/missing-episodes",
            json={"started_at": (NOW - dt.timedelta(hours=5)).isoformat()},
            headers=h,
        )
        assert r.status_code == 201
        url = f"/api/v1/meetings/{m.id}/agenda"
        r = await client.post(f"{url}/publish", headers=h)
        assert r.status_code == 200, r.text

        r = await client.get(url, params={"format": "html"}, headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text

    assert case["pseudonym"] in page
    assert "Risk: HIGH (significant)" in page
    assert "Missing now." in page and "Urgent:" in page  # plain words, not flag codes
    assert "currently_missing" not in re.sub(r'data-code="[^"]*"', "", page)
    assert "@media print" in page and "break-inside: avoid" in page and "@page" in page
    for external in ("http://", "https://", "<script", "<link", "<img", "url(http", "@import"):
        assert external not in page, external

    charts = _charts(page)
    assert len(charts) == 1
    chart = charts[0]
    assert chart.get("role") == "img" and chart.find("title") is not None
    assert case["pseudonym"] in chart.find("title").text
    assert [g.get("data-level") for g in chart.iter("g") if g.get("class") == "risk-point"] == [
        "medium",
        "high",
    ]
    assert len([g for g in chart.iter("g") if g.get("class") == "missing-episode"]) == 1

    # Published means frozen: a later assessment changes neither the items nor the chart.
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        r = await client.post(
            f"/api/v1/cases/{case['id']}/assessments",
            json={
                "assessed_at": (NOW + dt.timedelta(hours=2)).isoformat(),
                "indicators": [],
                "judgement": {"level": "low", "rationale": "returned home, engaging"},
            },
            headers=h,
        )
        assert r.status_code == 201
        again = (await client.get(url, params={"format": "html"}, headers=h)).text
    levels = [
        g.get("data-level") for g in _charts(again)[0].iter("g") if g.get("class") == "risk-point"
    ]
    assert levels == ["medium", "high"]
