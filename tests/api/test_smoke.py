from tests.conftest import auth


async def test_coordinator_creates_and_reads_a_case(client, keys):
    r = await client.post(
        "/api/v1/cases", json={"sex": "female"}, headers=auth(keys["coordinator"])
    )
    assert r.status_code == 201, r.text
    case = r.json()
    got = await client.get(f"/api/v1/cases/{case['id']}", headers=auth(keys["coordinator"]))
    assert got.status_code == 200
    assert got.json()["pseudonym"] == case["pseudonym"]
    assert got.headers["etag"] == '"v1"'
