"""Two real app processes against one PostgreSQL database: one leads, each agenda is published
exactly once, and when the leader dies the other takes over."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.meetings.jobs import materialise_meetings
from app.models import Meeting
from tests.conftest import TEST_SECRET
from tests.meetings.conftest import london

pytestmark = pytest.mark.skipif(
    os.environ.get("RISKREG_TEST_DB", "sqlite") != "postgresql",
    reason="leader election needs PostgreSQL advisory locks; SQLite runs a single process",
)

ROOT = Path(__file__).resolve().parents[2]
WAIT = 45.0  # seconds: an upper bound, not a timing under test


def _start(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RISKREG_DATABASE_URL": database_url,
        "RISKREG_SCHEDULER": "on",
        "RISKREG_SUBJECT_KEY_SECRET": TEST_SECRET,
        "RISKREG_SCHEDULER_LOCK_RETRY_SECONDS": "0.5",
        "RISKREG_SCHEDULER_PUBLISH_INTERVAL_SECONDS": "0.5",
        "RISKREG_LOG_LEVEL": "INFO",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def _messages(log: Path) -> list[str]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line)["message"])
        except (ValueError, KeyError):
            continue
    return out


def _published_ids(log: Path) -> list[str]:
    return [m.split()[2] for m in _messages(log) if m.startswith("published agenda ")]


def _leads(log: Path) -> bool:
    return any(m.startswith("scheduler leader") for m in _messages(log))


async def _count(db: Database, **where: object) -> int:
    async with db.transaction() as session:
        stmt = select(func.count()).select_from(Meeting)
        for column, value in where.items():
            stmt = stmt.where(getattr(Meeting, column) == value)
        return int(await session.scalar(stmt) or 0)


async def _wait(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    deadline = time.monotonic() + WAIT
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT}s: {what}")
        await asyncio.sleep(0.2)


async def test_two_replicas_publish_each_agenda_exactly_once_and_fail_over(
    db, database_url, tmp_path
):
    # Meetings from a past quarter: every cutoff has passed, all are due for publishing.
    await materialise_meetings(db, london(2026, 1, 5, 7, 0))
    due = await _count(db, agenda_status="draft")
    assert due > 50

    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start(database_url, logs[0]), _start(database_url, logs[1])]
    try:

        async def all_published() -> bool:
            now = dt.datetime.now(dt.UTC)
            async with db.transaction() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(Meeting)
                    .where(Meeting.agenda_status == "draft", Meeting.agenda_cutoff <= now)
                )
            return waiting == 0 and await _count(db, agenda_status="published") >= due

        await _wait(all_published, "every due agenda published")
        published = _published_ids(logs[0]) + _published_ids(logs[1])
        assert len(published) == len(set(published)), "an agenda was published twice"
        assert len(published) == await _count(db, agenda_status="published")
        leaders = [log for log in logs if _leads(log)]
        assert len(leaders) == 1, "exactly one replica leads"

        # The leader dies without a goodbye; the other takes over and publishes what comes due.
        leader = logs.index(leaders[0])
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(timeout=10)
        async with db.transaction() as session:
            session.add(
                Meeting(
                    kind="dram",
                    local_date=dt.date(2025, 6, 2),
                    timezone="Europe/London",
                    starts_at=london(2025, 6, 2, 9, 30),
                    ends_at=london(2025, 6, 2, 10, 30),
                    agenda_cutoff=london(2025, 6, 2, 8, 30),
                    agenda_status="draft",
                )
            )
        follower = logs[1 - leader]

        async def taken_over() -> bool:
            return (
                _leads(follower)
                and await _count(db, local_date=dt.date(2025, 6, 2), agenda_status="published") == 1
            )

        await _wait(taken_over, "the other replica takes over and publishes")
        published = _published_ids(logs[0]) + _published_ids(logs[1])
        assert len(published) == len(set(published))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
