"""Agenda build at scale: DRAM and MACE agendas for one date, SQLite and PostgreSQL.

Each database is seeded once (`riskreg seed`, history up to AS_OF) and kept for later runs
(PostgreSQL `riskreg_agenda<N>k`, SQLite `bench/out/agenda-<N>.db`). The agenda is built by
the app's own builder (`app.meetings.agenda.rule_items`) as of the meeting's cutoff; beside
it, in the same run, the limit: one hand-written SQL query per agenda giving the same cases
with the same reason codes (`bench/limit.py`; the run checks the answers are the same). Each
figure is the median of REPEATS runs (at 100,000 cases too).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.db import Database
from app.meetings.agenda import AgendaWindow, rule_items
from app.models import Case, Meeting
from app.risk.flags import Window
from app.risk.setbased import _all_referral_needs
from bench.limit import dram_limit, mace_limit

HERE = Path(__file__).resolve().parent
AS_OF = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)  # a Friday, before the DRAM cutoff
DRAM_CUTOFF = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)  # 08:30 Europe/London (GMT)
PREVIOUS_DRAM_CUTOFF = DRAM_CUTOFF - dt.timedelta(days=1)
MACE_CUTOFF = DRAM_CUTOFF
PREVIOUS_MACE_CUTOFF = MACE_CUTOFF - dt.timedelta(weeks=6)
REPEATS = 3


async def _needs(session: Any) -> dict[str, str]:
    """indicator -> referral service, over the stored tool versions (for the limit query)."""
    return {
        code: service
        for by_code in (await _all_referral_needs(session)).values()
        for code, service in by_code.items()
    }


async def _count(url: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(Case)) or 0)
    except Exception:
        return -1
    finally:
        await db.dispose()


def _prepare(backend: str, cases: int, args: argparse.Namespace) -> tuple[str, str | None]:
    from bench.run import database_exists, database_url, recreate_database, seed_database

    if backend == "postgresql":
        name = f"riskreg_agenda{cases // 1000}k"
        url = database_url(args.admin_url, name)
        if database_exists(args.admin_url, name) and asyncio.run(_count(url)) == cases:
            return url, None
        recreate_database(args.admin_url, name)
    else:
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        path = out / f"agenda-{cases}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if path.exists() and asyncio.run(_count(url)) == cases:
            return url, None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    seconds = seed_database(url, cases, AS_OF)
    return url, f"{seconds:.0f} s"


async def _time_agendas(url: str, repeats: int) -> dict[str, Any]:
    db = Database(url)
    out: dict[str, Any] = {}
    try:
        for kind, cutoff, previous in (
            ("dram", DRAM_CUTOFF, PREVIOUS_DRAM_CUTOFF),
            ("mace", MACE_CUTOFF, PREVIOUS_MACE_CUTOFF),
        ):
            meeting = Meeting(kind=kind)
            window = AgendaWindow(previous, cutoff)
            builds, limits = [], []
            items: list[Any] = []
            limit: Any = []
            for _ in range(repeats):
                async with db.transaction() as session:
                    started = time.perf_counter()
                    items = await rule_items(session, meeting, cutoff, window)
                    builds.append(time.perf_counter() - started)
                async with db.transaction() as session:
                    flag_window = Window(previous, cutoff)
                    if kind == "dram":
                        needs = await _needs(session)
                        started = time.perf_counter()
                        limit = await dram_limit(session, cutoff, flag_window, needs)
                    else:
                        started = time.perf_counter()
                        limit = await mace_limit(session, cutoff, flag_window)
                    limits.append(time.perf_counter() - started)
            built = {(i.case_id, r["code"]) for i in items for r in i.reasons}
            out[kind] = {
                "build": statistics.median(builds),
                "sql": statistics.median(limits),
                "items": len(items),
                "limit_cases": len({c for c, _ in limit}),
                "same": built == limit,
            }
    finally:
        await db.dispose()
    return out


def agenda_benchmarks(args: argparse.Namespace, work: Path) -> tuple[list[str], dict[str, str]]:
    rows: list[str] = []
    meta: dict[str, str] = {}
    sizes = [int(n) for n in args.agenda_cases.split(",") if n]
    for cases in sizes:
        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite" and cases > args.agenda_sqlite_max:
                meta[f"agenda SQLite {cases}"] = "not run (over --agenda-sqlite-max)"
                continue
            url, seeded = _prepare(backend, cases, args)
            if seeded:
                meta[f"seed {cases} cases ({backend})"] = seeded
            result = asyncio.run(_time_agendas(url, REPEATS))
            for kind in ("dram", "mace"):
                r = result[kind]
                ratio = r["build"] / r["sql"] if r["sql"] else float("nan")
                target = "< 1 s and <= 2x SQL" if kind == "dram" else ""
                met = ""
                if kind == "dram" and cases >= 100_000 and backend == "postgresql":
                    met = "yes" if r["build"] < 1 and ratio <= 2 else "NO"
                same = "same cases and codes" if r["same"] else "DIFFERENT answer"
                limit = f"{r['sql'] * 1000:,.0f} ms hand-written SQL ({same})"
                rows.append(
                    f"| Agenda {kind.upper()} {cases:,} cases, {backend} "
                    f"| {r['build'] * 1000:,.0f} ms ({r['items']} items) "
                    f"| {limit} | {ratio:.1f}x | {target} | {met} |"
                )
            meta[f"load average after agenda {cases} {backend}"] = _load()
    return rows, meta


def _load() -> str:
    import os

    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
