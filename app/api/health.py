"""Probes for orchestrators: no authentication, no case data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.health import readiness
from app.metrics import render

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> JSONResponse:
    ok, detail = await readiness(request.app.state.db, request.app.state.schema_head)
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "detail": detail}, status_code=200 if ok else 503
    )


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus text format. Scrape it from inside your network only."""
    body, content_type = render()
    return Response(body, media_type=content_type)
