"""The application factory and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import dashboard, health
from app.api.problems import install as install_problem_handlers
from app.api.router import api_router
from app.auth.keys import KeyCache
from app.config import Settings, get_settings
from app.db import Database
from app.health import head_revision
from app.metrics import ObservabilityMiddleware
from app.middleware import BodyGuardMiddleware, RequestIdMiddleware

DESCRIPTION = (
    "A pseudonymised multi-agency risk register for child exploitation safeguarding "
    "partnerships: cases, risk assessments, flags, DRAM and MACE agendas."
)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if settings.scheduler == "on":
            from app.cases.retention import purge_closed_cases
            from app.db import utcnow
            from app.meetings.jobs import MeetingScheduler
            from app.webhooks.delivery import deliver_due

            async def deliver_webhooks() -> int:
                return await deliver_due(
                    database,
                    allow_private=settings.webhook_allow_private,
                    require_https=settings.env == "production",
                )

            async def purge_closed() -> int:
                return await purge_closed_cases(database, utcnow(), settings.retention_days)

            scheduler = MeetingScheduler(
                database,
                lock_retry_seconds=settings.scheduler_lock_retry_seconds,
                publish_every_seconds=settings.scheduler_publish_interval_seconds,
                deliver_webhooks=deliver_webhooks,
                purge_closed_cases=purge_closed,
            )
            await scheduler.start()
        app.state.scheduler = scheduler
        # What start-up built (modules, routes, models, mappers) lives as long as the process:
        # take it out of the collector's full passes, which would otherwise walk all of it and
        # pause every request in flight each time.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if owns_db:
                await database.dispose()

    app = FastAPI(
        title="riskreg",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.key_cache = KeyCache(settings.auth_cache_seconds)
    app.state.schema_head = head_revision()
    install_problem_handlers(app)
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(ObservabilityMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.include_router(api_router)
    return app
