"""Prometheus metrics and the per-request log line: route templates only, never raw paths."""

from __future__ import annotations

import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("riskreg_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "riskreg_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AGENDA_BUILD = Histogram(
    "riskreg_agenda_build_seconds",
    "Time to build an agenda",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
JOB_RUNS = Counter("riskreg_scheduler_job_runs_total", "Scheduler job runs", ["job", "outcome"])
WEBHOOK_DELIVERIES = Counter(
    "riskreg_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"]
)

log = logging.getLogger("riskreg.request")


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The matched route's path template, e.g. /api/v1/cases/{case_id}."""
    # FastAPI keeps the full (prefixed) template of a route from an included router here;
    # the plain Starlette route's own path is the fallback.
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    """Counts and times each request by route template and logs one JSON line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "request_id": scope.get("state", {}).get("request_id"),
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
