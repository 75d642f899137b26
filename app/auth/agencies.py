"""Agency and API key administration."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import issue_key, revoke_key
from app.auth.principal import Principal
from app.auth.schemas import AgencyCreate, AgencyRead, ApiKeyCreate, ApiKeyCreated
from app.errors import Conflict
from app.models import Agency, Role

# An agency's code never changes and agencies are never deleted, so id -> code is read once
# per process: a request showing agency codes skips this query once they are known.
_code_by_id: dict[uuid.UUID, str] = {}


async def agency_codes(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Agency id -> code for the given ids, in at most one query."""
    wanted = set(ids)
    found = {i: code for i in wanted if (code := _code_by_id.get(i)) is not None}
    missing = wanted - set(found)
    if missing:
        rows = await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(missing)))
        for agency_id, code in rows:
            _code_by_id[agency_id] = code
            found[agency_id] = code
    return found


async def create_agency(session: AsyncSession, body: AgencyCreate) -> Agency:
    if await session.scalar(select(Agency.id).where(Agency.code == body.code)):
        raise Conflict(f"an agency with code {body.code!r} exists")
    agency = Agency(id=uuid.uuid4(), code=body.code, name=body.name, kind=body.kind.value)
    session.add(agency)
    await session.flush()
    return agency


async def add_agency(session: AsyncSession, principal: Principal, body: AgencyCreate) -> AgencyRead:
    principal.require("agency.create")
    return AgencyRead.model_validate(await create_agency(session, body))


async def list_agencies(session: AsyncSession, principal: Principal) -> list[AgencyRead]:
    principal.require("agency.read")
    rows = await session.scalars(select(Agency).order_by(Agency.code))
    return [AgencyRead.model_validate(a) for a in rows]


async def create_api_key(session: AsyncSession, body: ApiKeyCreate) -> ApiKeyCreated:
    key, agency, secret = await issue_key(
        session, agency_code=body.agency, role=body.role, name=body.name
    )
    return ApiKeyCreated(
        id=key.id,
        key=secret,
        agency=agency.code,
        role=Role(key.role),
        name=key.name,
        created_at=key.created_at,
    )


async def add_api_key(
    session: AsyncSession, principal: Principal, body: ApiKeyCreate
) -> ApiKeyCreated:
    principal.require("key.manage")
    return await create_api_key(session, body)


async def remove_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    principal.require("key.manage")
    await revoke_key(session, key_id)
