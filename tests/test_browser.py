"""What a person sees, in a real browser: Playwright drives Debian's Chromium against a live
server. Skipped (with the reason printed) where Chromium is missing, unless
RISKREG_REQUIRE_BROWSER=1, as CI sets, in which case a missing browser fails the test."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.risk.flags import london_date
from tests.live import LiveServer

CHROMIUM = Path(os.environ.get("RISKREG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> Any:
    reason = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[dev]')"
        sync_playwright = None
    if not reason and not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if reason:
        if os.environ.get("RISKREG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RISKREG_REQUIRE_BROWSER=1 but {reason}")
        print(f"browser test skipped: {reason}")
        pytest.skip(reason)
    return sync_playwright


def _iso(delta: dt.timedelta) -> str:
    return (dt.datetime.now(dt.UTC) - delta).isoformat()


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def case(self, **fields: Any) -> dict[str, Any]:
        return self.post("/api/v1/cases", fields)

    def assess(self, case_id: str, days_ago: int, level: str) -> None:
        self.post(
            f"/api/v1/cases/{case_id}/assessments",
            {
                "assessed_at": _iso(dt.timedelta(days=days_ago)),
                "indicators": [],
                "judgement": {"level": level, "rationale": "agreed by the partnership"},
            },
        )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(database_url, tmp_path / "server.log").start()
    try:
        yield live
    finally:
        live.stop()


def demo_partnership(api: Api) -> dict[str, str]:
    """A few children as a partnership might hold them; returns pseudonyms by role in the test."""
    day = dt.timedelta(days=1)
    girl = api.case(sex="female", ethnicity="WBRI", looked_after=True)
    api.assess(girl["id"], 40, "medium")
    api.assess(girl["id"], 10, "high")
    api.post(
        f"/api/v1/cases/{girl['id']}/missing-episodes",
        {"started_at": _iso(20 * day), "ended_at": _iso(19 * day)},
    )
    api.post(f"/api/v1/cases/{girl['id']}/missing-episodes", {"started_at": _iso(day / 2)})
    boy = api.case(sex="male", ethnicity="BCRB", disability=True)
    api.assess(boy["id"], 5, "high")
    other = api.case(sex="female")
    api.assess(other["id"], 3, "low")
    for _ in range(5):
        api.case(sex="female", ethnicity="WBRI")
    return {"girl": girl["pseudonym"], "boy": boy["pseudonym"], "other": other["pseudonym"]}


def meetings_for(server: LiveServer, api: Api, pseudonyms: dict[str, str]) -> tuple[str, str]:
    """Plan the meetings (the scheduler is off), publish the next MACE and record a decision on
    it with an action that fell due yesterday. Returns the MACE's id and the action's text."""
    subprocess.run(
        [sys.executable, "-m", "app.cli", "jobs", "materialise"],
        env=server.env,
        check=True,
        capture_output=True,
    )
    today = london_date(dt.datetime.now(dt.UTC))
    maces = api.http.get(
        "/api/v1/meetings", params={"kind": "mace", "from": today.isoformat(), "limit": 1}
    ).json()["items"]
    mace = maces[0]
    agenda = api.post(f"/api/v1/meetings/{mace['id']}/agenda/publish", {})
    girl = next(i for i in agenda["items"] if i["pseudonym"] == pseudonyms["girl"])
    action = "Joint visit with the police exploitation team"
    api.post(
        f"/api/v1/meetings/{mace['id']}/decisions",
        {
            "case_id": girl["case_id"],
            "progress": "worsening",
            "summary": "Disruption plan agreed.",
            "actions": [
                {
                    "description": action,
                    "owner_agency": "police",
                    "due_date": (today - dt.timedelta(days=1)).isoformat(),
                }
            ],
        },
    )
    return str(mace["id"]), action


def test_dashboard_as_a_coordinator_sees_it(server: LiveServer, keys, tmp_path: Path):
    sync_playwright = _browser_or_skip()
    api = Api(server.url, keys["coordinator"])
    pseudonyms = demo_partnership(api)
    mace_id, action = meetings_for(server, api, pseudonyms)
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "request",
                lambda r: (
                    problems.append(f"external request: {r.url}")
                    if not r.url.startswith((server.url, "blob:", "data:"))
                    else None
                ),
            )

            page.goto(server.url + "/")
            assert page.title() == "riskreg dashboard"
            assert page.locator("#key-form").is_visible()
            assert not page.locator("#dashboard").is_visible()

            page.fill("#key", keys["coordinator"])
            page.click("#key-form button[type=submit]")
            page.wait_for_selector("body[data-ready=true]", timeout=20_000)

            # The overview tiles.
            tiles = page.locator("#overview .tile")
            texts = [t.inner_text() for t in tiles.all()]
            assert any(t.startswith("8\n") and "open cases" in t for t in texts), texts
            assert any(t.startswith("2\n") and "open at high risk" in t for t in texts), texts

            # The open high-risk cases, each with its level, its flags and its chart.
            items = page.locator("#high article.item")
            assert items.count() == 2
            shown = {items.nth(i).locator(".pseudonym").inner_text() for i in range(2)}
            assert shown == {pseudonyms["girl"], pseudonyms["boy"]}
            girl = page.locator(f"#high article.item:has-text('{pseudonyms['girl']}')")
            assert girl.locator(".level").inner_text().lower() == "high"
            assert "Missing now" in girl.locator("ul").inner_text()
            chart = girl.locator("img.chart")
            chart.wait_for(state="visible")
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
            )
            assert "Risk level over time for " + pseudonyms["girl"] in chart.get_attribute("alt")
            assert "current level high" in chart.get_attribute("alt")

            # Meetings: today's DRAM (none at weekends), the next MACE with its cases and
            # charts, and the overdue action under the case's pseudonym.
            dram = page.locator("#dram")
            assert dram.locator("article.item").count() > 0 or "No DRAM meeting today" in (
                dram.inner_text()
            )
            mace = page.locator("#mace")
            assert "MACE" in mace.locator("p.note").first.inner_text()
            assert mace.locator("article.item").count() == 2
            assert mace.locator("article.item img.chart").count() == 2
            actions = page.locator("#actions-table tbody tr")
            assert actions.count() == 1
            assert pseudonyms["girl"] in actions.first.inner_text()
            assert action in actions.first.inner_text()

            # The equality table: one row per sex and the total; small counts show as "c".
            rows = page.locator("#equality-table tbody tr")
            assert rows.count() == 5
            assert rows.nth(4).locator("td").first.inner_text() == "All children"
            assert rows.nth(4).locator("td").nth(1).inner_text() == "8"
            male = rows.nth(1).locator("td")
            assert male.first.inner_text() == "Male"
            assert male.nth(1).inner_text() == "c"  # one boy
            page.select_option("#dimension", "ethnicity")
            assert page.locator("#equality-table tbody tr").count() == 8
            assert "Black" in page.locator("#equality-table").inner_text()

            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            # The key stays for the tab: a reload shows the dashboard without asking again.
            page.reload()
            page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            assert page.locator("#high article.item").count() == 2
            page.click("#forget")
            assert page.locator("#key-form").is_visible()
            assert page.evaluate("sessionStorage.getItem('riskreg.key')") is None
        finally:
            browser.close()

    assert problems == []


def test_printable_agenda_as_a_chair_prints_it(server: LiveServer, keys, tmp_path: Path):
    sync_playwright = _browser_or_skip()
    api = Api(server.url, keys["coordinator"])
    pseudonyms = demo_partnership(api)
    mace_id, _ = meetings_for(server, api, pseudonyms)
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                extra_http_headers={"Authorization": f"Bearer {keys['chair']}"}
            )
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "request",
                lambda r: (
                    problems.append(f"request: {r.url}")
                    if not r.url.startswith(server.url)
                    else None
                ),
            )
            response = page.goto(f"{server.url}/api/v1/meetings/{mace_id}/agenda?format=html")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text().startswith("MACE agenda")
            items = page.locator("li.item")
            assert items.count() == 2
            girl = page.locator(f"li.item:has-text('{pseudonyms['girl']}')")
            assert "Risk: HIGH" in girl.locator(".level").inner_text()
            assert "Missing now." in girl.locator("ul.reasons").inner_text()
            # The chart is inline SVG, drawn (it has a size), with its title.
            chart = girl.locator("svg.risk-history")
            assert chart.count() == 1
            box = chart.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
            assert pseudonyms["girl"] in chart.locator("title").first.text_content()
            assert chart.locator("g.risk-point").count() == 2
            # Printing keeps each item on one page and needs nothing from the network.
            page.emulate_media(media="print")
            assert girl.evaluate("e => getComputedStyle(e).breakInside") == "avoid"
            page.pdf(path=str(tmp_path / "agenda.pdf"), format="A4")
            assert (tmp_path / "agenda.pdf").stat().st_size > 1000
            page.emulate_media(media="screen")
            page.screenshot(path=str(tmp_path / "agenda.png"), full_page=True)
        finally:
            browser.close()

    assert problems == []
