"""Retention: closed cases lose identifiers and birth month after the period; counts stay."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update

from app.cases.retention import purge_closed_cases
from app.models import Case, SubjectIdentifier
from tests.conftest import auth


async def test_closed_cases_past_retention_are_purged_once(client, keys, db):
    key = auth(keys["coordinator"])
    made = []
    for ref in ("OLD", "RECENT", "OPEN"):
        body = {"birth_month": "2011-04", "identifiers": [{"scheme": "agency_local", "value": ref}]}
        made.append((await client.post("/api/v1/cases", json=body, headers=key)).json()["id"])
    ids = [uuid.UUID(m) for m in made]
    for case_id in made[:2]:
        await client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "safe"}, headers=key)
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as s:
        await s.execute(
            update(Case).where(Case.id == ids[0]).values(closed_at=now - dt.timedelta(days=31))
        )
        await s.execute(
            update(Case).where(Case.id == ids[1]).values(closed_at=now - dt.timedelta(days=29))
        )

    assert await purge_closed_cases(db, now, retention_days=30) == 1
    assert await purge_closed_cases(db, now, retention_days=30) == 0

    async with db.transaction() as s:
        cases = {str(c.id): c for c in await s.scalars(select(Case))}
        held = set(map(str, await s.scalars(select(SubjectIdentifier.case_id))))
        total = await s.scalar(select(func.count()).select_from(Case))
    assert total == 3  # statistics keep their counts
    assert cases[made[0]].birth_month is None and cases[made[0]].purged_at is not None
    assert made[0] not in held
    for kept in made[1:]:
        assert cases[kept].birth_month == "2011-04" and kept in held
    lookup = await client.get(
        "/api/v1/subjects/lookup", params={"scheme": "agency_local", "value": "OLD"}, headers=key
    )
    assert lookup.status_code == 404
