"""All versioned API routers under /api/v1."""

from fastapi import APIRouter

from app.api import agencies, audit, cases, meetings, risk, webhooks

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(agencies.router)
api_router.include_router(cases.router)
api_router.include_router(risk.router)
api_router.include_router(audit.router)
api_router.include_router(meetings.router)
api_router.include_router(webhooks.router)
