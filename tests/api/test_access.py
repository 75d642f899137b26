"""Every role against every foundation endpoint: allowed, 403, or 404 for an unseen case."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import auth

ALL = ["admin", "coordinator", "chair", "practitioner", "partner", "auditor"]


@pytest.fixture
async def council_case(client, keys) -> str:
    r = await client.post(
        "/api/v1/cases",
        json={"sex": "female", "identifiers": [{"scheme": "agency_local", "value": "C-1"}]},
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 201
    return r.json()["id"]


async def _status(client, method: str, path: str, key: str | None, **kw) -> int:
    headers = auth(key) if key else {}
    headers.update(kw.pop("headers", {}))
    r = await client.request(method, path, headers=headers, **kw)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return r.status_code


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 201),
        ("coordinator", 201),
        ("practitioner", 201),
        ("partner", 201),
        ("chair", 403),
        ("auditor", 403),
    ],
)
async def test_create_case_by_role(client, keys, role, expected):
    assert await _status(client, "POST", "/api/v1/cases", keys[role], json={}) == expected


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 200),
        ("coordinator", 200),
        ("chair", 200),
        ("practitioner", 200),
        ("partner", 200),
        ("auditor", 403),
        ("police_practitioner", 404),
        ("police_partner", 404),
    ],
)
async def test_read_case_by_role(client, keys, council_case, role, expected):
    assert await _status(client, "GET", f"/api/v1/cases/{council_case}", keys[role]) == expected


async def test_unseen_case_answers_exactly_like_a_missing_one(client, keys, council_case):
    unseen = await client.get(
        f"/api/v1/cases/{council_case}", headers=auth(keys["police_practitioner"])
    )
    missing = await client.get(
        f"/api/v1/cases/{uuid.uuid4()}", headers=auth(keys["police_practitioner"])
    )
    assert unseen.status_code == missing.status_code == 404
    assert unseen.json() == missing.json()


@pytest.mark.parametrize(
    "role,visible",
    [
        ("admin", 1),
        ("coordinator", 1),
        ("chair", 1),
        ("practitioner", 1),
        ("partner", 1),
        ("police_practitioner", 0),
        ("police_partner", 0),
    ],
)
async def test_list_shows_only_readable_cases(client, keys, council_case, role, visible):
    r = await client.get("/api/v1/cases", headers=auth(keys[role]))
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["items"]] == [council_case][:visible]


async def test_auditor_may_not_list_cases(client, keys):
    assert await _status(client, "GET", "/api/v1/cases", keys["auditor"]) == 403


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 200),
        ("coordinator", 200),
        ("practitioner", 200),
        ("partner", 200),
        ("chair", 403),
        ("auditor", 403),
        ("police_practitioner", 404),
    ],
)
async def test_patch_case_by_role(client, keys, council_case, role, expected):
    status = await _status(
        client,
        "PATCH",
        f"/api/v1/cases/{council_case}",
        keys[role],
        json={"looked_after": True},
        headers={"If-Match": '"v1"'},
    )
    assert status == expected


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 200),
        ("coordinator", 200),
        ("chair", 403),
        ("practitioner", 403),
        ("partner", 403),
        ("auditor", 403),
    ],
)
async def test_close_case_by_role(client, keys, council_case, role, expected):
    status = await _status(
        client, "POST", f"/api/v1/cases/{council_case}/close", keys[role], json={"reason": "safe"}
    )
    assert status == expected


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 201),
        ("coordinator", 201),
        ("practitioner", 201),
        ("partner", 201),
        ("police_partner", 201),
        ("chair", 403),
        ("auditor", 403),
    ],
)
async def test_link_identifier_by_role(client, keys, council_case, role, expected):
    status = await _status(
        client,
        "POST",
        f"/api/v1/cases/{council_case}/identifiers",
        keys[role],
        json={"scheme": "agency_local", "value": f"REF-{role}"},
    )
    assert status == expected


async def test_linking_an_identifier_makes_the_agency_involved(client, keys, council_case):
    key = keys["police_partner"]
    assert (await client.get(f"/api/v1/cases/{council_case}", headers=auth(key))).status_code == 404
    r = await client.post(
        f"/api/v1/cases/{council_case}/identifiers",
        json={"scheme": "agency_local", "value": "WYP-99"},
        headers=auth(key),
    )
    assert r.status_code == 201
    got = await client.get(f"/api/v1/cases/{council_case}", headers=auth(key))
    assert got.status_code == 200
    assert "police" in got.json()["agencies"]


@pytest.mark.parametrize(
    "role,expected",
    [
        ("admin", 200),
        ("coordinator", 200),
        ("practitioner", 200),
        ("partner", 200),
        ("chair", 403),
        ("auditor", 403),
    ],
)
async def test_subject_lookup_by_role(client, keys, council_case, partnership, role, expected):
    # agency_local identifiers are scoped to the agency that holds them: the council's own
    # reference finds the case for every council role allowed to look up.
    status = await _status(
        client,
        "GET",
        "/api/v1/subjects/lookup",
        keys[role],
        params={"scheme": "agency_local", "value": "C-1"},
    )
    assert status == expected


async def test_agency_local_reference_is_scoped_to_its_agency(client, keys, council_case):
    r = await client.get(
        "/api/v1/subjects/lookup",
        params={"scheme": "agency_local", "value": "C-1"},
        headers=auth(keys["police_partner"]),
    )
    assert r.status_code == 404


@pytest.mark.parametrize("role", ALL)
async def test_agencies_listed_for_every_role_created_by_admin_only(client, keys, role):
    assert await _status(client, "GET", "/api/v1/agencies", keys[role]) == 200
    status = await _status(
        client,
        "POST",
        "/api/v1/agencies",
        keys[role],
        json={"code": f"new-{role}", "name": "New", "kind": "voluntary"},
    )
    assert status == (201 if role == "admin" else 403)


@pytest.mark.parametrize("role", ALL)
async def test_keys_managed_by_admin_only(client, keys, role):
    status = await _status(
        client,
        "POST",
        "/api/v1/api-keys",
        keys[role],
        json={"agency": "police", "role": "partner", "name": "records system"},
    )
    assert status == (201 if role == "admin" else 403)
    status = await _status(client, "DELETE", f"/api/v1/api-keys/{uuid.uuid4()}", keys[role])
    assert status == (404 if role == "admin" else 403)


@pytest.mark.parametrize("role", ALL)
async def test_audit_log_for_auditor_and_admin_only(client, keys, role):
    status = await _status(client, "GET", "/api/v1/audit", keys[role])
    assert status == (200 if role in ("admin", "auditor") else 403)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/v1/cases"),
        ("POST", "/api/v1/cases"),
        ("GET", f"/api/v1/cases/{uuid.uuid4()}"),
        ("GET", "/api/v1/agencies"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/api-keys"),
    ],
)
@pytest.mark.parametrize("key", [None, "rr_not-a-real-key"])
async def test_missing_or_unknown_key_is_401(client, keys, method, path, key):
    r = await client.request(method, path, headers=auth(key) if key else {}, json={})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_revoked_key_is_refused(client, keys):
    created = await client.post(
        "/api/v1/api-keys",
        json={"agency": "police", "role": "partner", "name": "old system"},
        headers=auth(keys["admin"]),
    )
    body = created.json()
    assert (await client.get("/api/v1/agencies", headers=auth(body["key"]))).status_code == 200
    revoked = await client.delete(f"/api/v1/api-keys/{body['id']}", headers=auth(keys["admin"]))
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/agencies", headers=auth(body["key"]))).status_code == 401
