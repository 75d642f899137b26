"""Liveness and readiness: is the database reachable and its schema at the Alembic head."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.db import Database


def _project_root() -> Path:
    # A checkout (or editable install) keeps alembic.ini beside app/; an installed package
    # (the Docker image) runs from the folder holding alembic.ini and migrations/.
    beside_package = Path(__file__).resolve().parent.parent
    return beside_package if (beside_package / "alembic.ini").exists() else Path.cwd()


ROOT = _project_root()


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def readiness(db: Database, expected_head: str | None) -> tuple[bool, str]:
    try:
        async with db.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any failure here means "not ready", never a 500
        return False, f"database not reachable or not migrated ({type(exc).__name__})"
    if current != expected_head:
        return False, f"schema at {current}, code expects {expected_head}"
    return True, f"schema at {current}"
