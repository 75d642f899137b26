"""Scheduled jobs (materialise meetings, publish due agendas, mark overdue actions) and the
leader election that makes exactly one replica run them.

APScheduler 3 with the in-memory job store and jobs defined here with stable ids. Its defaults
drop missed runs, so catch-up comes from the database: each job looks at what is due *now* and
claims it with a conditional UPDATE or a unique constraint, so running twice, concurrently or
late does nothing twice. With PostgreSQL the replica holding `pg_try_advisory_lock(LOCK_KEY)`
on a dedicated connection leads; the others retry every `lock_retry_seconds` and take over
when the leader's connection goes (it stops, crashes or loses the network).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db import Database, utcnow
from app.meetings.decisions import mark_overdue_actions
from app.meetings.planning import PlanResult, materialise
from app.meetings.publishing import process_name, publish_due
from app.metrics import JOB_RUNS

log = logging.getLogger("riskreg.scheduler")

# Distinct from the migration lock (7283001): "riskreg scheduler".
LOCK_KEY = 7283004
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


async def materialise_meetings(db: Database, now: dt.datetime | None = None) -> PlanResult:
    """Job: every series has its meetings planned to its horizon (12 weeks or more)."""
    async with db.transaction() as session:
        return await materialise(session, now or utcnow())


async def publish_due_agendas(db: Database, now: dt.datetime | None = None) -> int:
    """Job: publish every draft agenda whose cutoff has passed, as of its cutoff."""
    return await publish_due(db, now or utcnow())


async def mark_overdue(db: Database, now: dt.datetime | None = None) -> int:
    """Job: mark actions that became overdue (once each)."""
    return await mark_overdue_actions(db, now or utcnow())


def counted(job_id: str, job: Callable[..., Awaitable[object]]) -> Callable[..., Awaitable[object]]:
    """The job, counted in `riskreg_scheduler_job_runs_total` by outcome; failures logged."""

    async def run(*args: Any) -> object:
        try:
            result = await job(*args)
        except Exception:
            JOB_RUNS.labels(job_id, "failure").inc()
            log.exception("scheduler job failed: %s", job_id)
            raise
        JOB_RUNS.labels(job_id, "success").inc()
        return result

    return run


async def run_all(db: Database, now: dt.datetime | None = None) -> None:
    """Every job once, in order: what a leader does on taking over, and what the CLI runs."""
    now = now or utcnow()
    await materialise_meetings(db, now)
    await publish_due_agendas(db, now)
    await mark_overdue(db, now)


class _Leadership:
    """SQLite: one process runs the service, so it always leads."""

    async def acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class _AdvisoryLock(_Leadership):
    """PostgreSQL: a session-level advisory lock held on a connection of its own."""

    def __init__(self, url: str) -> None:
        # NullPool: the lock's connection is never handed to a request, and closing it is
        # what lets another replica take over.
        self._engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self._conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = await self._engine.connect()
            got = await self._conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            await self._conn.commit()  # the lock is the session's; do not sit in a transaction
        except Exception:
            log.warning("scheduler lock: database not reachable, will retry", exc_info=True)
            await self._drop()
            return False
        if not got:
            await self._drop()
        return bool(got)

    async def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception:
            log.warning("scheduler lock: lost the lock's connection", exc_info=True)
            await self._drop()
            return False

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                await self._conn.commit()
        await self._drop()
        await self._engine.dispose()


class MeetingScheduler:
    """Runs the jobs while this process leads; started and stopped by the app's lifespan."""

    def __init__(
        self,
        db: Database,
        *,
        lock_retry_seconds: float = 15.0,
        publish_every_seconds: float = 30.0,
        materialise_every_seconds: float = 3600.0,
        overdue_every_seconds: float = 900.0,
        deliver_webhooks: Callable[[], Awaitable[int]] | None = None,
        deliver_every_seconds: float = 10.0,
        purge_closed_cases: Callable[[], Awaitable[int]] | None = None,
        purge_every_seconds: float = 86400.0,
    ) -> None:
        self.db = db
        self.lock_retry_seconds = lock_retry_seconds
        self.intervals = {
            "publish-due-agendas": publish_every_seconds,
            "materialise-meetings": materialise_every_seconds,
            "mark-overdue-actions": overdue_every_seconds,
            "deliver-webhooks": deliver_every_seconds,
            "purge-closed-cases": purge_every_seconds,
        }
        # The outbox's deliveries are claimed with a lease, so delivering from the leader is
        # safe beside any other sender; the app passes it in (the meetings package does not
        # know the webhook settings).
        # Retention is the cases package's rule; the app passes it in with its settings.
        self.extra_jobs = {
            job_id: job
            for job_id, job in (
                ("deliver-webhooks", deliver_webhooks),
                ("purge-closed-cases", purge_closed_cases),
            )
            if job is not None
        }
        self._leadership = _AdvisoryLock(db.url) if db.dialect == "postgresql" else _Leadership()
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False
        self.caught_up = asyncio.Event()

    async def start(self) -> None:
        self.caught_up = asyncio.Event()
        self._task = asyncio.create_task(self._lead(), name="riskreg-scheduler-leader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._stop_jobs()
        await self._leadership.release()
        self.is_leader = False

    async def _lead(self) -> None:
        while True:
            try:
                await self._lead_once()
            except Exception:  # keep electing: a failed round must not end leadership checks
                log.exception("scheduler leader election failed; retrying")
            await asyncio.sleep(self.lock_retry_seconds)

    async def _lead_once(self) -> None:
        if not self.is_leader:
            if await self._leadership.acquire():
                self.is_leader = True
                log.info("scheduler leader: %s runs the jobs", process_name())
                self._start_jobs()
        elif not await self._leadership.still_held():
            self.is_leader = False
            log.warning("scheduler leadership lost: %s stops running jobs", process_name())
            self._stop_jobs()

    def _start_jobs(self) -> None:
        scheduler = AsyncIOScheduler(timezone=dt.UTC, job_defaults=JOB_DEFAULTS)
        jobs: dict[str, Any] = {
            "materialise-meetings": materialise_meetings,
            "publish-due-agendas": publish_due_agendas,
            "mark-overdue-actions": mark_overdue,
        }
        for job_id, func in jobs.items():
            scheduler.add_job(
                counted(job_id, func),
                IntervalTrigger(seconds=self.intervals[job_id], timezone=dt.UTC),
                args=[self.db],
                id=job_id,
                name=job_id,
                replace_existing=True,
            )
        for job_id, job in self.extra_jobs.items():
            scheduler.add_job(
                counted(job_id, job),
                IntervalTrigger(seconds=self.intervals[job_id], timezone=dt.UTC),
                id=job_id,
                name=job_id,
                replace_existing=True,
            )
        # Catch up at once: plan, then publish whatever cutoff passed while no one led.
        scheduler.add_job(
            self._catch_up,
            id="catch-up",
            name="catch-up",
            next_run_time=dt.datetime.now(dt.UTC),
            replace_existing=True,
        )
        scheduler.start()
        self._scheduler = scheduler

    async def _catch_up(self) -> None:
        try:
            await run_all(self.db)
            # What waited while no one led: the outbox's deliveries, overdue purges.
            for job in self.extra_jobs.values():
                await job()
        finally:
            self.caught_up.set()

    def _stop_jobs(self) -> None:
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
