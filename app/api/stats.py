"""Statistics for coordinators, chairs, auditors and admins: figures, never case detail."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.stats import service
from app.stats.schemas import Equality, Overview

router = APIRouter(tags=["stats"])

From = Annotated[
    dt.date | None,
    Query(alias="from", description="first day of the period (default: 365 days before 'to')"),
]
To = Annotated[dt.date | None, Query(description="last day of the period (default: today)")]


@router.get("/stats/overview", response_model=Overview, responses=problems(403))
async def stats_overview(
    from_: From = None, to: To = None, ctx: Ctx = context("stats.read", audit="stats.overview")
) -> Overview:
    return await service.overview(ctx.session, ctx.principal, service.period(from_, to))


@router.get("/stats/equality", response_model=Equality, responses=problems(403))
async def stats_equality(
    from_: From = None, to: To = None, ctx: Ctx = context("stats.read", audit="stats.equality")
) -> Equality:
    return await service.equality(ctx.session, ctx.principal, service.period(from_, to))
