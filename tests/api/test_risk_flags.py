"""Each flag once end to end: records posted through the API, flags read back three ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import time_machine

from tests.api.risk_helpers import iso, new_case, now, post
from tests.conftest import auth

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


class Arrange:
    """Posts records for one case, optionally as if the register received them in the past."""

    def __init__(self, client: Any, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys
        self.case_id = ""

    async def case(self, ago: dt.timedelta | None = None, **fields: Any) -> None:
        if ago is None:
            self.case_id = (await new_case(self.client, self.keys["coordinator"], **fields))["id"]
            return
        with time_machine.travel(now() - ago, tick=True):
            self.case_id = (await new_case(self.client, self.keys["coordinator"], **fields))["id"]

    async def record(
        self, path: str, body: dict[str, Any], *, key: str = "coordinator", recorded_ago=None
    ) -> dict[str, Any]:
        async def send() -> dict[str, Any]:
            r = await post(
                self.client, self.keys[key], f"/api/v1/cases/{self.case_id}/{path}", body
            )
            assert r.status_code == 201, r.text
            return r.json()

        if recorded_ago is None:
            return await send()
        with time_machine.travel(now() - recorded_ago, tick=True):
            return await send()

    async def assess(self, ago: dt.timedelta, indicators: list[str], **more: Any) -> dict:
        body = {"assessed_at": iso(now() - ago), "indicators": indicators}
        key = more.pop("key", "coordinator")
        recorded_ago = more.pop("recorded_ago", None)
        return await self.record(
            "assessments", {**body, **more}, key=key, recorded_ago=recorded_ago
        )

    async def episode(self, started_ago: dt.timedelta, ended_ago: dt.timedelta | None = None):
        body: dict[str, Any] = {"started_at": iso(now() - started_ago)}
        if ended_ago is not None:
            body["ended_at"] = iso(now() - ended_ago)
        return await self.record("missing-episodes", body)

    async def event(self, type_: str, ago: dt.timedelta, key: str = "coordinator", **more: Any):
        body = {"type": type_, "occurred_at": iso(now() - ago), **more}
        return await self.record("events", body, key=key)


HIGH = ["older_partner", "sexual_assault_disclosed"]  # 17: high
LOW = ["persistent_absence"]  # 2: low
MEDIUM = ["older_partner", "persistent_absence"]  # 7: medium


async def _new_referral(a: Arrange) -> None:
    await a.case()


async def _risk_escalated(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.assess(5 * DAY, LOW, recorded_ago=5 * DAY)
    await a.assess(HOUR, HIGH)


async def _risk_reduced(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.assess(5 * DAY, HIGH, recorded_ago=5 * DAY)
    await a.assess(HOUR, LOW)


async def _new_missing_episode(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.episode(3 * HOUR, HOUR)


async def _currently_missing(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.episode(3 * HOUR)


async def _repeat_missing(a: Arrange) -> None:
    await a.case(ago=100 * DAY)
    for days in (80, 40, 10):
        await a.episode(days * DAY, days * DAY - HOUR)


async def _return_interview_overdue(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.episode(5 * DAY, 4 * DAY)


async def _assessment_overdue(a: Arrange) -> None:
    await a.case(ago=30 * DAY)
    await a.assess(20 * DAY, HIGH)


async def _no_assessment(a: Arrange) -> None:
    await a.case(ago=10 * DAY)


async def _judgement_below_tool(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.assess(HOUR, HIGH, judgement={"level": "low", "rationale": "Safety plan in place."})


async def _assessor_disagreement(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.assess(2 * DAY, HIGH, key="police_partner")
    await a.assess(DAY, LOW)


async def _unaddressed_indicator(a: Arrange) -> None:
    await a.case(ago=40 * DAY)
    await a.assess(30 * DAY, ["substance_use"])


async def _criminalised_victim(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.assess(5 * DAY, MEDIUM)
    await a.event("arrest", HOUR, key="police_partner")


async def _placement_instability(a: Arrange) -> None:
    await a.case(ago=400 * DAY)
    for days in (300, 100, 5):
        await a.event("placement_move", days * DAY)


async def _missing_education(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.event("education_exclusion", 3 * DAY)


async def _stalled(a: Arrange) -> None:
    await a.case(ago=100 * DAY)
    await a.assess(90 * DAY, HIGH, recorded_ago=90 * DAY)
    await a.assess(40 * DAY, HIGH, recorded_ago=40 * DAY)


async def _language_concern(a: Arrange) -> None:
    await a.case(ago=10 * DAY)
    await a.event("other", HOUR, notes="Staff feel he is choosing to put himself at risk.")


SCENARIOS: dict[str, Callable[[Arrange], Awaitable[None]]] = {
    "new_referral": _new_referral,
    "risk_escalated": _risk_escalated,
    "risk_reduced": _risk_reduced,
    "new_missing_episode": _new_missing_episode,
    "currently_missing": _currently_missing,
    "repeat_missing": _repeat_missing,
    "return_interview_overdue": _return_interview_overdue,
    "assessment_overdue": _assessment_overdue,
    "no_assessment": _no_assessment,
    "judgement_below_tool": _judgement_below_tool,
    "assessor_disagreement": _assessor_disagreement,
    "unaddressed_indicator": _unaddressed_indicator,
    "criminalised_victim": _criminalised_victim,
    "placement_instability": _placement_instability,
    "missing_education": _missing_education,
    "stalled": _stalled,
    "language_concern": _language_concern,
}


@pytest.mark.parametrize("code", list(SCENARIOS))
async def test_flag_end_to_end(client, keys, code):
    arrange = Arrange(client, keys)
    other = await new_case(client, keys["coordinator"])  # a case that must not carry it
    await SCENARIOS[code](arrange)
    headers = auth(keys["coordinator"])

    flags = (await client.get(f"/api/v1/cases/{arrange.case_id}/flags", headers=headers)).json()
    [flag] = [f for f in flags if f["code"] == code]
    assert flag["severity"] in {"info", "warning", "urgent"}
    assert flag["detail"] and flag["evidence"]

    case = (await client.get(f"/api/v1/cases/{arrange.case_id}", headers=headers)).json()
    assert flag in case["flags"]

    listed = await client.get(f"/api/v1/flags?code={code}", headers=headers)
    assert listed.status_code == 200
    items = {item["case_id"]: item for item in listed.json()["items"]}
    assert arrange.case_id in items
    assert [f["code"] for f in items[arrange.case_id]["flags"]] == [code]

    filtered = await client.get(f"/api/v1/cases?flag={code}", headers=headers)
    ids = [c["id"] for c in filtered.json()["items"]]
    assert arrange.case_id in ids
    if code not in {"new_referral"}:
        assert other["id"] not in ids


async def test_unknown_flag_code_is_422(client, keys):
    headers = auth(keys["coordinator"])
    r = await client.get("/api/v1/cases?flag=made_up", headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "flag"]
    r = await client.get("/api/v1/flags?code=made_up", headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "code"]


async def test_flag_filter_paginates_over_matching_cases(client, keys):
    headers = auth(keys["coordinator"])
    arrange = Arrange(client, keys)
    missing = []
    for i in range(5):
        await arrange.case()
        if i % 2 == 0:
            await arrange.episode(HOUR)
            missing.append(arrange.case_id)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/cases?flag=currently_missing&limit=2" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = (await client.get(url, headers=headers)).json()
        assert len(page["items"]) <= 2
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(missing))  # newest case first, each once

    page1 = (
        await client.get("/api/v1/flags?code=currently_missing&limit=2", headers=headers)
    ).json()
    page2 = (
        await client.get(
            f"/api/v1/flags?code=currently_missing&limit=2&cursor={page1['next_cursor']}",
            headers=headers,
        )
    ).json()
    assert [i["case_id"] for i in page1["items"] + page2["items"]] == list(reversed(missing))
    assert page2["next_cursor"] is None


async def test_flags_are_scoped_to_readable_cases(client, keys):
    arrange = Arrange(client, keys)
    await arrange.case()
    await arrange.episode(HOUR)
    police = auth(keys["police_practitioner"])
    assert (await client.get("/api/v1/flags", headers=police)).json()["items"] == []
    assert (await client.get("/api/v1/cases?flag=currently_missing", headers=police)).json()[
        "items"
    ] == []
