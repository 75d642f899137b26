"""Agencies and API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.auth import agencies
from app.auth.schemas import AgencyCreate, AgencyRead, ApiKeyCreate, ApiKeyCreated

router = APIRouter(tags=["agencies and keys"])


@router.get("/agencies", response_model=list[AgencyRead], responses=problems(403))
async def list_agencies(ctx: Ctx = context("agency.read")) -> list[AgencyRead]:
    return await agencies.list_agencies(ctx.session, ctx.principal)


@router.post("/agencies", status_code=201, response_model=AgencyRead, responses=problems(403, 409))
async def create_agency(
    body: AgencyCreate, ctx: Ctx = context("agency.create", creates=True)
) -> Response:
    return await ctx.create(lambda: agencies.add_agency(ctx.session, ctx.principal, body))


@router.post(
    "/api-keys", status_code=201, response_model=ApiKeyCreated, responses=problems(403, 409)
)
async def create_api_key(
    body: ApiKeyCreate, ctx: Ctx = context("key.manage", creates=True)
) -> Response:
    return await ctx.create(lambda: agencies.add_api_key(ctx.session, ctx.principal, body))


@router.delete("/api-keys/{key_id}", status_code=204, responses=problems(403, 404))
async def revoke_api_key(key_id: uuid.UUID, ctx: Ctx = context("key.manage")) -> Response:
    await agencies.remove_api_key(ctx.session, ctx.principal, key_id)
    return Response(status_code=204)
