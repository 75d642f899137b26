"""Bad input gets a clear problem naming the field, and nothing is stored."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from app.models import Base, Case
from tests.conftest import auth

NHS = "9434765919"


async def _count_cases(db) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Case)))


@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "Jane Doe"),
        ("date_of_birth", "2011-05-04"),
        ("address", "1 High St"),
        ("nhs_number", NHS),
    ],
)
async def test_unknown_fields_are_refused_by_name_and_nothing_is_stored(
    client, keys, db, field, value
):
    r = await client.post(
        "/api/v1/cases", json={"sex": "female", field: value}, headers=auth(keys["coordinator"])
    )
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["errors"] == [
        {"loc": ["body", field], "msg": "unknown field: not accepted (nothing was stored)"}
    ]
    assert field in body["detail"]
    assert await _count_cases(db) == 0


async def test_unknown_field_inside_an_identifier_is_refused(client, keys, db):
    r = await client.post(
        "/api/v1/cases",
        json={"identifiers": [{"scheme": "nhs_number", "value": NHS, "surname": "Doe"}]},
        headers=auth(keys["coordinator"]),
    )
    assert r.status_code == 422
    assert ["body", "identifiers", 0, "surname"] in [e["loc"] for e in r.json()["errors"]]
    assert await _count_cases(db) == 0


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"birth_month": "2011-13"}, ["body", "birth_month"]),
        ({"birth_month": "1980-01"}, ["body", "birth_month"]),
        ({"ethnicity": "XXXX"}, ["body", "ethnicity"]),
        ({"sex": "f"}, ["body", "sex"]),
        (
            {"referral_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
            ["body", "referral_date"],
        ),
        ({"lead_agency": "nobody"}, ["body", "lead_agency"]),
        (
            {"identifiers": [{"scheme": "passport", "value": "X"}]},
            ["body", "identifiers", 0, "scheme"],
        ),
    ],
)
async def test_invalid_values_name_their_field(client, keys, db, body, loc):
    r = await client.post("/api/v1/cases", json=body, headers=auth(keys["coordinator"]))
    assert r.status_code == 422, r.text
    assert loc in [e["loc"] for e in r.json()["errors"]]
    assert await _count_cases(db) == 0


async def test_malformed_json_is_a_problem_not_a_500(client, keys):
    r = await client.post(
        "/api/v1/cases",
        content=b'{"sex": ',
        headers={**auth(keys["coordinator"]), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_raw_identifier_never_reaches_the_database(client, keys, db):
    local_ref = "WYP-CASE-77123"
    for key, ident in [
        ("coordinator", {"scheme": "nhs_number", "value": NHS}),
        ("police_partner", {"scheme": "agency_local", "value": local_ref}),
    ]:
        r = await client.post(
            "/api/v1/cases", json={"identifiers": [ident]}, headers=auth(keys[key])
        )
        assert r.status_code == 201
    await client.get(
        "/api/v1/subjects/lookup",
        params={"scheme": "nhs_number", "value": NHS},
        headers=auth(keys["coordinator"]),
    )
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(text(f"SELECT * FROM {table.name}"))).all():
                flat = " ".join(str(v) for v in row)
                assert NHS not in flat and local_ref not in flat, f"raw identifier in {table.name}"
                assert "943 476 5919" not in flat
