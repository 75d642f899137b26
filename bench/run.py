"""`make bench`: ingestion, read, memory (and agenda build) against the stack's own ceiling.

Seeds a dedicated PostgreSQL database (`riskreg_bench`, dropped and recreated unless
`--reuse`), starts `riskreg serve` (one uvicorn worker) and the bare ceiling app
(`bench/ceiling.py`) on 127.0.0.1, drives each with wrk and the same Lua script and
settings, one after the other in the same run, reads the server's peak RSS (VmHWM), prints
one table and writes `bench/RESULTS.md`. Every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import sync_database_url
from app.db import Database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "bench-subject-secret-0123456789abcdef0123456789"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def database_url(admin_url: str, name: str) -> str:
    url = make_url(sync_database_url(admin_url)).set(database=name)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def recreate_database(admin_url: str, name: str) -> None:
    admin = create_engine(sync_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def database_exists(admin_url: str, name: str) -> bool:
    admin = create_engine(sync_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        exists = found.first() is not None
    admin.dispose()
    return exists


def run_cli(url: str, *args: str, timeout: float = 1800) -> str:
    env = {**os.environ, "RISKREG_DATABASE_URL": url, "RISKREG_SUBJECT_KEY_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout.strip()


def seed_database(url: str, cases: int, as_of: dt.datetime) -> float:
    run_cli(url, "migrate")
    started = time.monotonic()
    run_cli(
        url, "seed", "--cases", str(cases), "--seed", "1", "--as-of", as_of.isoformat(), "--quiet"
    )
    return time.monotonic() - started


async def _prepare(url: str) -> tuple[str, str, list[str]]:
    """Keys for the run, the ceiling's table, and a file of open case ids."""
    from app.auth.agencies import create_api_key
    from app.auth.schemas import ApiKeyCreate
    from app.models import Role

    db = Database(url)
    try:
        async with db.transaction() as session:
            partner = await create_api_key(
                session, ApiKeyCreate(agency="seed-police", role=Role.partner, name="bench partner")
            )
            coordinator = await create_api_key(
                session,
                ApiKeyCreate(
                    agency="seed-council", role=Role.coordinator, name="bench coordinator"
                ),
            )
            await session.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS bench_ceiling_assessments "
                    "(LIKE assessments INCLUDING ALL)"
                )
            )
            await session.execute(text("TRUNCATE bench_ceiling_assessments"))
            rows = await session.execute(
                text("SELECT id FROM cases WHERE status = 'open' ORDER BY id LIMIT 5000")
            )
            ids = [str(r[0]) for r in rows]
    finally:
        await db.dispose()
    return partner.key, coordinator.key, ids


class Server:
    def __init__(self, name: str, argv: list[str], url: str, health: str, log: Path) -> None:
        self.name = name
        self.argv = argv
        self.url = url
        self.health = health
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str], timeout: float = 60) -> Server:
        out = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(self.argv, env=env, cwd=ROOT, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log}")
            try:
                if httpx.get(self.url + self.health, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout}s; see {self.log}")

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def wrk(
    base: str,
    *,
    mode: str,
    key: str,
    prefix: str,
    ids: Path,
    seconds: int,
    connections: int,
    threads: int,
) -> WrkResult:
    env = {
        **os.environ,
        "BENCH_MODE": mode,
        "BENCH_KEY": key,
        "BENCH_PREFIX": prefix,
        "BENCH_IDS": str(ids),
        "BENCH_ASSESSED_AT": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(
            timespec="seconds"
        ),
    }
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "load.lua"),
            base,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def http_benchmarks(args: argparse.Namespace, url: str, work: Path) -> dict[str, object]:
    ids = work / "case_ids.txt"
    partner_key, coordinator_key, case_ids = asyncio.run(_prepare(url))
    ids.write_text("\n".join(case_ids) + "\n")
    env = {
        **os.environ,
        "RISKREG_DATABASE_URL": url,
        "RISKREG_SUBJECT_KEY_SECRET": SECRET,
        "RISKREG_ENV": "production",
        "RISKREG_SCHEDULER": "off",
        "PYTHONPATH": str(ROOT),
    }
    app_port, ceiling_port = free_port(), free_port()
    app = Server(
        "riskreg",
        [sys.executable, "-m", "app.cli", "serve", "--port", str(app_port)],
        f"http://127.0.0.1:{app_port}",
        "/readyz",
        work / "riskreg.log",
    )
    ceiling = Server(
        "ceiling",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(ceiling_port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        f"http://127.0.0.1:{ceiling_port}",
        "/docs",
        work / "ceiling.log",
    )
    results: dict[str, object] = {}
    try:
        app.start(env)
        ceiling.start(env)
        common = dict(
            ids=ids, connections=args.connections, threads=args.threads, seconds=args.seconds
        )
        for scenario, mode, key in (
            ("ingest", "post", partner_key),
            ("read", "get", coordinator_key),
        ):
            for target, base, prefix, k in (
                ("app", app.url, "/api/v1", key),
                ("ceiling", ceiling.url, "", ""),
            ):
                # A short warm-up, then the measured run with the same settings for both.
                wrk(base, mode=mode, key=k, prefix=prefix, **{**common, "seconds": 3})  # type: ignore[arg-type]
                results[f"{scenario}.{target}"] = wrk(
                    base,
                    mode=mode,
                    key=k,
                    prefix=prefix,
                    **common,  # type: ignore[arg-type]
                )
                results[f"{scenario}.{target}.load"] = load_average()
        results["rss.app"] = app.peak_rss_mb()
        results["rss.ceiling"] = ceiling.peak_rss_mb()
    finally:
        app.stop()
        ceiling.stop()
    return results


def report(args: argparse.Namespace, results: dict[str, object], meta: dict[str, str]) -> str:
    lines = [
        "| benchmark | riskreg | ceiling / limit | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def http_row(name: str, scenario: str, target_ratio: float) -> None:
        a = results.get(f"{scenario}.app")
        c = results.get(f"{scenario}.ceiling")
        if not isinstance(a, WrkResult) or not isinstance(c, WrkResult):
            return
        ratio = a.rps / c.rps if c.rps else 0.0
        met = ratio >= target_ratio and (scenario != "ingest" or a.p99_ms < 100)
        target = f">= {target_ratio:.0%} of ceiling" + (
            ", p99 < 100 ms" if scenario == "ingest" else ""
        )
        lines.append(
            f"| {name} | {a.rps:,.0f} req/s, p50 {a.p50_ms:.1f} ms, p99 {a.p99_ms:.1f} ms"
            f"{f', {a.errors} errors' if a.errors else ''} "
            f"| {c.rps:,.0f} req/s, p50 {c.p50_ms:.1f} ms, p99 {c.p99_ms:.1f} ms "
            f"| {ratio:.0%} | {target} | {'yes' if met else 'NO'} |"
        )

    http_row("Ingestion: POST /cases/{id}/assessments", "ingest", 0.5)
    http_row("Read: GET /cases/{id} (with flags)", "read", 0.4)
    if "rss.app" in results:
        rss = float(results["rss.app"])  # type: ignore[arg-type]
        lines.append(
            f"| Memory: server peak RSS (VmHWM) | {rss:.0f} MB "
            f"| {float(results['rss.ceiling']):.0f} MB (ceiling app) | | < 300 MB "  # type: ignore[arg-type]
            f"| {'yes' if rss < 300 else 'NO'} |"
        )
    for row in results.get("agenda", []):  # type: ignore[union-attr]
        lines.append(row)
    table = "\n".join(lines)
    detail = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    return f"{table}\n\n{detail}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--database", default="riskreg_bench")
    parser.add_argument("--cases", type=int, default=10_000, help="cases seeded for HTTP runs")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database")
    parser.add_argument("--seconds", type=int, default=15, help="measured wrk run, per target")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--agenda-cases", default="10000,100000")
    parser.add_argument("--skip-agenda", action="store_true")
    parser.add_argument(
        "--agenda-sqlite-max", type=int, default=100_000, help="largest agenda size on SQLite"
    )
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    if not shutil.which("wrk") and not args.skip_http:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    meta: dict[str, str] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load average at start (1/5/15 min)": load_average(),
        "wrk": f"-t{args.threads} -c{args.connections} -d{args.seconds}s, 3 s warm-up each",
    }
    results: dict[str, object] = {}
    as_of = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
    with tempfile.TemporaryDirectory(prefix="riskreg-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_http:
            url = database_url(args.admin_url, args.database)
            if not (args.reuse and database_exists(args.admin_url, args.database)):
                recreate_database(args.admin_url, args.database)
                seconds = seed_database(url, args.cases, as_of)
                meta[f"seed {args.cases} cases (PostgreSQL)"] = f"{seconds:.1f} s"
            meta["HTTP database"] = f"PostgreSQL {args.database}, {args.cases} cases seeded"
            results.update(http_benchmarks(args, url, work))
            for key in ("ingest.app", "ingest.ceiling", "read.app", "read.ceiling"):
                meta[f"load average after {key}"] = str(results.get(f"{key}.load"))
        if not args.skip_agenda:
            from bench.agenda import agenda_benchmarks

            rows, agenda_meta = agenda_benchmarks(args, work)
            results["agenda"] = rows
            meta.update(agenda_meta)
    meta["load average at end"] = load_average()
    out = report(args, results, meta)
    print(out)
    Path(args.output).write_text(
        "# riskreg benchmark results\n\nWritten by `make bench` (bench/run.py).\n\n"
        + out
        + "\nNotes: for each agenda the right-hand column is one hand-written SQL query "
        "(bench/limit.py) selecting the same cases with the same reason codes, timed in the same "
        "run, and the run checks both answers are the same; it returns codes only (no wording "
        "or evidence), so it is a lower bound on the builder's work. The machine has 2 cores: "
        "see the load averages for what else was running.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
