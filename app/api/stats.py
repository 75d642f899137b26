"""Statistics for coordinators, chairs, auditors and admins: figures, never case detail."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.stats import history, service
from app.stats.chart import risk_history_svg
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


SVG = "image/svg+xml"
_SVG_RESPONSES = {
    **problems(403, 404),
    200: {
        "description": "the chart: level over time, missing episodes marked",
        "content": {SVG: {"schema": {"type": "string"}}},
    },
}


@router.get(
    "/cases/{case_id}/risk-history.svg",
    response_class=Response,
    responses=_SVG_RESPONSES,
    tags=["risk"],
)
async def risk_history_chart(
    case_id: uuid.UUID, ctx: Ctx = context("case.read", audit="case.risk_history")
) -> Response:
    """A small SVG of the case's risk level over time with its missing episodes."""
    chart = risk_history_svg(await history.risk_history(ctx.session, ctx.principal, case_id))
    return Response(
        chart,
        media_type=SVG,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )
