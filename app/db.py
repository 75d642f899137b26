"""Database engine, sessions and the column types both SQLite and PostgreSQL share."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import DateTime, TextClause, bindparam, event, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeDecorator

from app.config import async_database_url


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored in UTC; SQLite gets it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every timestamp carries an offset")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # asyncpg already returns timestamptz as aware datetimes in UTC: no per-value work (it
        # was a tenth of the agenda build's Python time at 100,000 cases).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# PostgreSQL SQL with `:name` parameters and no casts, the form `text()` reads back.
_TEXT_DIALECT = PGDialect(paramstyle="named")
_TEXT_DIALECT.bind_typing = BindTyping.NONE
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


def precompiled(statement: ClauseElement) -> TextClause:
    """A PostgreSQL statement compiled once to its SQL text, its parameters typed as before.

    For the statements every request runs: SQLAlchemy's compiled cache spares the compilation
    but still walks the whole statement on each execution to work out its cache key (a
    quarter of a millisecond for the larger ones), where a text clause's key is its string.
    Rows come back as the driver decodes them (no result types), which callers must expect.
    """
    compiled = statement.compile(dialect=_TEXT_DIALECT)
    sql = str(compiled)
    names = set(_NAMED_PARAMETER.findall(sql))
    return text(sql).bindparams(
        *(
            bindparam(name, value=param.value, type_=param.type)
            for name, param in compiled.binds.items()
            if name in names
        )
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers locks; take it over:
    # every transaction is BEGIN IMMEDIATE so writers queue on busy_timeout instead of
    # failing with SQLITE_BUSY when a read transaction tries to upgrade.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = async_database_url(url)
    # Bound values (notes, rationales, digests) never appear in an error message or a log.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    # PostgreSQL's JIT compiles a plan's expressions when its cost estimate is high: that adds
    # 100-300 ms to the agenda's set-based queries (measured with EXPLAIN ANALYZE at 100,000
    # cases) and never paid it back on this workload, so the service's sessions turn it off.
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    return create_async_engine(url, connect_args=connect_args, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class Database:
    """One engine and its session factory; the app holds one, the CLI and jobs make their own."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = async_database_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessionmaker = make_sessionmaker(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A short unit of work: commits when the block ends, rolls back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
