"""The one-statement case read (PostgreSQL through asyncpg) equals the general path.

`GET /cases/{id}` on asyncpg reads the case, its agencies and every record its flags need in
one statement (`record_arrays`); elsewhere it loads them with `load_case_records`. Both must
give the same view, for every seeded case, at moments that exercise every flag rule.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.auth.access import readable_case
from app.auth.principal import Principal
from app.cases.service import case_read, get_case
from app.db import Database
from app.errors import NotFound
from app.models import Agency, Case, CaseAgency, Role
from app.risk.flags import FLAG_CODES
from app.seed import seed
from tests.conftest import TEST_SECRET

AS_OF = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _involving(agency_id):  # type: ignore[no-untyped-def]
    return select(CaseAgency.case_id).where(CaseAgency.agency_id == agency_id)


async def test_the_one_statement_case_read_equals_the_general_path(db: Database) -> None:
    await seed(db, cases=120, seed=5, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    async with db.transaction() as session:
        agency = (await session.execute(select(Agency.id, Agency.code).limit(1))).one()
        ids = list(await session.scalars(select(Case.id).order_by(Case.id)))
        involved = set(
            await session.scalars(
                select(CaseAgency.case_id).where(CaseAgency.agency_id == agency.id)
            )
        )
    everyone = Principal(agency.id, agency.id, agency.code, Role.coordinator)
    own_agency = Principal(agency.id, agency.id, agency.code, Role.practitioner)
    seen: set[str] = set()
    for at in (AS_OF, AS_OF - 3 * DAY - dt.timedelta(hours=5), AS_OF - 200 * DAY):
        with time_machine.travel(at, tick=False):
            async with db.transaction() as session:
                for case_id in ids:
                    case = await session.get(Case, case_id)
                    assert case is not None
                    expected = await case_read(session, case)
                    session.expunge_all()
                    got = await get_case(session, everyone, case_id)
                    assert got == expected, (at, case_id)
                    seen.update(f.code for f in got.flags)
                    if case_id in involved:
                        assert await get_case(session, own_agency, case_id) == expected
    # The seeded cases carry a good share of the rules, so the comparison means something.
    assert len(seen) >= len(FLAG_CODES) // 2, seen


async def test_the_one_statement_case_read_keeps_the_access_rule(db: Database) -> None:
    """A practitioner sees only cases their agency is involved in: 404 otherwise, as before."""
    await seed(db, cases=30, seed=6, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    async with db.transaction() as session:
        agency = (await session.execute(select(Agency.id, Agency.code).limit(1))).one()
        ids = list(await session.scalars(select(Case.id)))
        involved = set(
            await session.scalars(
                select(CaseAgency.case_id).where(CaseAgency.agency_id == agency.id)
            )
        )
        practitioner = Principal(agency.id, agency.id, agency.code, Role.practitioner)
        assert involved and set(ids) - involved
        for case_id in ids:
            if case_id in involved:
                assert (await get_case(session, practitioner, case_id)).id == case_id
                await readable_case(session, practitioner, case_id)
            else:
                with pytest.raises(NotFound):
                    await get_case(session, practitioner, case_id)
                with pytest.raises(NotFound):
                    await readable_case(session, practitioner, case_id)
