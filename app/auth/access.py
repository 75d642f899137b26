"""Loading a case through the caller's access rules: unreadable answers 404, never 403."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, readable_case_clause
from app.errors import NotFound
from app.models import Case, CaseAgency


async def readable_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False
) -> Case:
    """The case if this principal may read it; otherwise 404, exactly as if it did not exist."""
    stmt = select(Case).where(Case.id == case_id, readable_case_clause(principal, Case.id))
    if for_update:
        stmt = stmt.with_for_update()
    case = await session.scalar(stmt)
    if case is None:
        raise NotFound("no such case")
    return case


async def postable_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False
) -> Case:
    """A case a record may be posted to; `for_update` locks its row (PostgreSQL).

    Posting does not require prior involvement: a partner that learned the case id from its
    own identifier (409 on create, or a lookup) may post, and posting makes it involved.
    """
    principal.require("record.create")
    case = await session.get(Case, case_id, with_for_update=for_update or None)
    if case is None:
        raise NotFound("no such case")
    return case


async def involve(session: AsyncSession, case_id: uuid.UUID, agency_id: uuid.UUID) -> None:
    """Record that an agency is involved in a case (idempotent)."""
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(CaseAgency)
        .values(case_id=case_id, agency_id=agency_id)
        .on_conflict_do_nothing(index_elements=["case_id", "agency_id"])
    )
