"""The `riskreg` command line: serve, migrate, agencies and keys, demo, seed, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from alembic import command

from app.config import get_settings
from app.db import Database
from app.health import alembic_config
from app.models import AgencyKind, Role


def migrate(url: str | None = None) -> None:
    command.upgrade(alembic_config(url or get_settings().database_url), "head")


async def _add_agency(code: str, name: str, kind: str) -> None:
    from app.auth.agencies import create_agency
    from app.auth.schemas import AgencyCreate

    db = Database(get_settings().database_url)
    try:
        async with db.transaction() as session:
            agency = await create_agency(
                session, AgencyCreate(code=code, name=name, kind=AgencyKind(kind))
            )
        print(agency.id)
    finally:
        await db.dispose()


async def _create_key(agency: str, role: str, name: str) -> None:
    from app.auth.agencies import create_api_key
    from app.auth.schemas import ApiKeyCreate

    db = Database(get_settings().database_url)
    try:
        async with db.transaction() as session:
            created = await create_api_key(
                session, ApiKeyCreate(agency=agency, role=Role(role), name=name)
            )
        print(created.key)  # alone on stdout, so scripts can capture it
    finally:
        await db.dispose()


async def _audit_verify() -> int:
    from app.audit.service import verify

    db = Database(get_settings().database_url)
    try:
        async with db.transaction() as session:
            result = await verify(session)
    finally:
        await db.dispose()
    if result.ok:
        print(f"audit chain intact: {result.checked} entries")
        return 0
    print(
        f"audit chain BROKEN at entry {result.first_broken_id}: {result.problem} "
        f"({result.checked} entries verified before it)",
        file=sys.stderr,
    )
    return 1


async def _demo() -> None:
    from app.demo import load_demo

    db = Database(get_settings().database_url)
    try:
        key = await load_demo(db, get_settings())
    finally:
        await db.dispose()
    print(key)


async def _seed(cases: int, seed: int, as_of: str | None, batch: int, quiet: bool) -> None:
    import datetime as dt

    from app.seed import seed as load_seed

    settings = get_settings()
    moment = dt.datetime.fromisoformat(as_of) if as_of else None
    if moment is not None and moment.tzinfo is None:
        raise SystemExit("riskreg: --as-of needs an offset, e.g. 2025-06-02T08:00:00+00:00")
    db = Database(settings.database_url)
    try:
        report = await load_seed(
            db,
            cases=cases,
            seed=seed,
            secret=settings.subject_key_secret,
            as_of=moment,
            batch=batch,
            progress=not quiet,
        )
    finally:
        await db.dispose()
    print(report.summary())


async def _run_jobs(which: str) -> None:
    from app.meetings import jobs

    db = Database(get_settings().database_url)
    try:
        if which in ("materialise", "all"):
            planned = await jobs.materialise_meetings(db)
            print(f"meetings: {planned.created} created, {planned.moved} moved")
        if which in ("publish", "all"):
            print(f"agendas published: {await jobs.publish_due_agendas(db)}")
        if which in ("overdue", "all"):
            print(f"actions newly overdue: {await jobs.mark_overdue(db)}")
        if which in ("purge", "all"):
            from app.cases.retention import purge_closed_cases
            from app.db import utcnow

            purged = await purge_closed_cases(db, utcnow(), get_settings().retention_days)
            print(f"closed cases purged of identifiers and birth month: {purged}")
    finally:
        await db.dispose()


def serve(host: str, port: int) -> None:
    import uvicorn

    from app.logging import configure_logging
    from app.main import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    migrate()
    # No access log: query strings can carry identifiers (subject look-up), never log them.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="riskreg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate, then serve the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    sub.add_parser("migrate", help="upgrade the database schema to the latest revision")

    agencies = sub.add_parser("agencies", help="manage agencies").add_subparsers(
        dest="action", required=True
    )
    p = agencies.add_parser("add", help="add an agency")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--kind", required=True, choices=[k.value for k in AgencyKind])

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    p = keys.add_parser("create", help="issue a key; prints the key alone on standard output")
    p.add_argument("--agency", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--name", required=True)

    sub.add_parser("demo", help="load the demo partnership; prints a coordinator key")

    p = sub.add_parser(
        "seed", help="load a deterministic synthetic partnership for load tests (progress bar)"
    )
    p.add_argument("--cases", type=int, default=1000, help="how many cases (children)")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same data")
    p.add_argument("--as-of", default=None, help="end of the two years of history (default: now)")
    p.add_argument("--batch", type=int, default=2000, help="cases per transaction")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "jobs", help="run the meeting jobs once (safe beside a running scheduler: work is claimed)"
    )
    p.add_argument("which", choices=["materialise", "publish", "overdue", "purge", "all"])

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="action", required=True
    )
    audit.add_parser(
        "verify", help="check the hash chain; non-zero exit names the first broken entry"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.host, args.port)
        elif args.command == "migrate":
            migrate()
        elif args.command == "agencies":
            asyncio.run(_add_agency(args.code, args.name, args.kind))
        elif args.command == "keys":
            asyncio.run(_create_key(args.agency, args.role, args.name))
        elif args.command == "demo":
            asyncio.run(_demo())
        elif args.command == "seed":
            asyncio.run(_seed(args.cases, args.seed, args.as_of, args.batch, args.quiet))
        elif args.command == "jobs":
            asyncio.run(_run_jobs(args.which))
        elif args.command == "audit":
            return asyncio.run(_audit_verify())
    except Exception as exc:  # a clear one-line error for people at a terminal
        from app.errors import AppError

        if isinstance(exc, AppError):
            print(f"riskreg: {exc.detail}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
