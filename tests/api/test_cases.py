"""Cases: create, read, list with filters and cursors, change with If-Match, close, identifiers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.models import Case
from tests.conftest import auth

NHS = "943 476 5919"  # a valid Modulus 11 test number


async def _create(client, key, **body):
    r = await client.post("/api/v1/cases", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


async def test_created_case_has_the_spec_shape_and_a_pseudonym(client, keys):
    case = await _create(
        client,
        keys["coordinator"],
        birth_month="2011-05",
        sex="male",
        ethnicity="APKN",
        disability=True,
        looked_after=True,
        referral_source="police",
        identifiers=[{"scheme": "nhs_number", "value": NHS}],
    )
    assert case["pseudonym"].startswith("CE-") and len(case["pseudonym"]) == 9
    assert not set(case["pseudonym"][3:]) & set("01OIL")
    assert case["status"] == "open"
    assert case["lead_agency"] == "council"
    assert case["referral_source"] == "police"
    assert case["current_risk"] is None
    assert [f["code"] for f in case["flags"]] == ["new_referral"]
    assert case["agencies"] == ["council"]
    assert case["version"] == 1
    assert {
        "birth_month",
        "sex",
        "ethnicity",
        "disability",
        "looked_after",
        "referral_date",
    } <= set(case)


async def test_duplicate_nhs_number_answers_409_with_the_case_id(client, keys, db):
    first = await _create(
        client, keys["practitioner"], identifiers=[{"scheme": "nhs_number", "value": NHS}]
    )
    r = await client.post(
        "/api/v1/cases",
        json={"identifiers": [{"scheme": "nhs_number", "value": NHS.replace(" ", "")}]},
        headers=auth(keys["health_partner"]),
    )
    assert r.status_code == 409
    assert r.json()["case_id"] == first["id"]
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 1


async def test_the_same_local_reference_at_two_agencies_is_two_subjects(client, keys):
    await _create(
        client, keys["practitioner"], identifiers=[{"scheme": "agency_local", "value": "123"}]
    )
    await _create(
        client,
        keys["police_practitioner"],
        identifiers=[{"scheme": "agency_local", "value": "123"}],
    )


@pytest.mark.parametrize("value", ["9434765918", "12345", "943476591X", "0000000001"])
async def test_invalid_nhs_numbers_are_refused_without_echoing_them(client, keys, value):
    r = await client.post(
        "/api/v1/cases",
        json={"identifiers": [{"scheme": "nhs_number", "value": value}]},
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "identifiers", 0, "value"]
    assert value not in r.text


async def test_lookup_finds_the_case_by_nhs_number_from_another_agency(client, keys):
    case = await _create(
        client, keys["practitioner"], identifiers=[{"scheme": "nhs_number", "value": NHS}]
    )
    r = await client.get(
        "/api/v1/subjects/lookup",
        params={"scheme": "nhs_number", "value": "9434765919"},
        headers=auth(keys["police_partner"]),
    )
    assert r.status_code == 200
    assert r.json() == {
        "case_id": case["id"],
        "pseudonym": case["pseudonym"],
        "scheme": "nhs_number",
    }
    missing = await client.get(
        "/api/v1/subjects/lookup",
        params={"scheme": "agency_local", "value": "nobody"},
        headers=auth(keys["police_partner"]),
    )
    assert missing.status_code == 404


async def test_linking_an_identifier_of_another_case_is_409(client, keys):
    a = await _create(
        client, keys["coordinator"], identifiers=[{"scheme": "agency_local", "value": "A"}]
    )
    b = await _create(client, keys["coordinator"])
    r = await client.post(
        f"/api/v1/cases/{b['id']}/identifiers",
        json={"scheme": "agency_local", "value": "A"},
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 409
    assert r.json()["case_id"] == a["id"]


async def test_list_filters_and_cursor_pagination_visit_every_case_once(client, keys):
    made = [await _create(client, keys["coordinator"]) for _ in range(7)]
    await client.post(
        f"/api/v1/cases/{made[0]['id']}/close",
        json={"reason": "no longer at risk"},
        headers=auth(keys["coordinator"]),
    )
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/cases", params=params, headers=auth(keys["coordinator"]))
        ).json()
        assert len(page["items"]) <= 3
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(c["id"] for c in made)
    open_ = (
        await client.get(
            "/api/v1/cases", params={"status": "open"}, headers=auth(keys["coordinator"])
        )
    ).json()
    assert {c["id"] for c in open_["items"]} == {c["id"] for c in made[1:]}
    led = (
        await client.get(
            "/api/v1/cases", params={"lead_agency": "police"}, headers=auth(keys["coordinator"])
        )
    ).json()
    assert led["items"] == []


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"cursor": "not-a-cursor"}, {"status": "maybe"}]
)
async def test_bad_list_parameters_are_422(client, keys, params):
    r = await client.get("/api/v1/cases", params=params, headers=auth(keys["coordinator"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][0] == "query"


async def test_patch_needs_if_match_and_refuses_a_stale_version(client, keys):
    case = await _create(client, keys["coordinator"])
    url = f"/api/v1/cases/{case['id']}"
    no_tag = await client.patch(url, json={"looked_after": True}, headers=auth(keys["coordinator"]))
    assert no_tag.status_code == 428
    ok = await client.patch(
        url,
        json={"looked_after": True, "sex": "female"},
        headers={**auth(keys["coordinator"]), "If-Match": '"v1"'},
    )
    assert ok.status_code == 200
    assert ok.json()["looked_after"] is True and ok.json()["version"] == 2
    assert ok.headers["etag"] == '"v2"'
    stale = await client.patch(
        url, json={"looked_after": False}, headers={**auth(keys["coordinator"]), "If-Match": '"v1"'}
    )
    assert stale.status_code == 412
    assert (await client.get(url, headers=auth(keys["coordinator"]))).json()["looked_after"] is True


async def test_concurrent_patches_with_one_if_match_have_exactly_one_winner(client, keys):
    case = await _create(client, keys["coordinator"])
    url = f"/api/v1/cases/{case['id']}"

    # Each request makes a different real change: a PATCH that changes nothing keeps the
    # version (its ETag stays valid), which would let a second request win honestly.
    async def patch(n: int):
        return await client.patch(
            url,
            json={"referral_date": f"2026-01-0{n + 1}"},
            headers={**auth(keys["coordinator"]), "If-Match": '"v1"'},
        )

    results = await asyncio.gather(*(patch(i) for i in range(6)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 412, 412, 412, 412, 412]
    final = (await client.get(url, headers=auth(keys["coordinator"]))).json()
    assert final["version"] == 2


async def test_close_and_reopen_with_reasons(client, keys):
    case = await _create(client, keys["coordinator"])
    url = f"/api/v1/cases/{case['id']}"
    closed = await client.post(
        f"{url}/close", json={"reason": "risk reduced"}, headers=auth(keys["coordinator"])
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = await client.post(
        f"{url}/close", json={"reason": "twice"}, headers=auth(keys["coordinator"])
    )
    assert again.status_code == 409
    no_reason = await client.post(f"{url}/reopen", json={}, headers=auth(keys["coordinator"]))
    assert no_reason.status_code == 422
    reopened = await client.post(
        f"{url}/reopen", json={"reason": "new concern"}, headers=auth(keys["coordinator"])
    )
    assert reopened.json()["status"] == "open"


async def test_a_patch_that_changes_nothing_keeps_the_version(client, keys):
    case = await _create(client, keys["coordinator"])
    url = f"/api/v1/cases/{case['id']}"
    same = await client.patch(
        url,
        json={"looked_after": case["looked_after"]},
        headers={**auth(keys["coordinator"]), "If-Match": '"v1"'},
    )
    assert same.status_code == 200 and same.json()["version"] == 1
    assert same.headers["etag"] == '"v1"'
