"""Settings read from the environment (prefix RISKREG_), one object for the whole process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SUBJECT_SECRET = "development-only-subject-secret-change-me"


def async_database_url(url: str) -> str:
    """Give a plain `sqlite:///` or `postgresql://` URL its async driver."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith("postgresql:") or url.startswith("postgres:"):
        return "postgresql+asyncpg:" + url.split(":", 1)[1]
    return url


def sync_database_url(url: str) -> str:
    """The same database through a synchronous driver, for Alembic and admin tools."""
    url = async_database_url(url)
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url[len("sqlite+aiosqlite:") :]
    if url.startswith("postgresql+asyncpg:"):
        return "postgresql+psycopg:" + url[len("postgresql+asyncpg:") :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKREG_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./riskreg.db"
    env: Literal["development", "production"] = "development"
    subject_key_secret: str = DEVELOPMENT_SUBJECT_SECRET
    scheduler: Literal["on", "off"] = "on"
    # How often a replica that does not lead retries the scheduler lock (SPEC §7: take over
    # within a minute), and how often the leader publishes agendas whose cutoff has passed.
    scheduler_lock_retry_seconds: float = Field(default=15.0, gt=0, le=60)
    scheduler_publish_interval_seconds: float = Field(default=30.0, gt=0, le=300)
    timezone: str = "Europe/London"
    retention_days: int = Field(default=2555, ge=1)
    log_level: str = "INFO"
    # How long a successful API key look-up is reused in this process (0: every request reads
    # the database). A key revoked through another replica stops working within this time.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Webhook targets on private, loopback or link-local addresses are refused unless allowed.
    webhook_allow_private: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        self.database_url = async_database_url(self.database_url)
        if self.env == "production":
            if self.subject_key_secret == DEVELOPMENT_SUBJECT_SECRET:
                raise ValueError("RISKREG_SUBJECT_KEY_SECRET must be set in production")
            if len(self.subject_key_secret) < 32:
                raise ValueError("RISKREG_SUBJECT_KEY_SECRET must be at least 32 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
