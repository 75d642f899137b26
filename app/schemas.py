"""Shared schema pieces: strict request bodies, pages, and time rules every record obeys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    model_validator,
)

from app.db import utcnow

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MAX_PAGE = 500
DEFAULT_PAGE = 50


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class RequestModel(BaseModel):
    """Every request body: unknown fields are refused, so a stray `name` is never stored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: object) -> object:
        # PostgreSQL text cannot hold U+0000: refuse it here (422), not at the INSERT (500).
        if _has_nul(data):
            raise ValueError("text may not contain the NUL character (U+0000)")
        return data


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _not_future(value: dt.datetime) -> dt.datetime:
    if value - utcnow() > FUTURE_TOLERANCE:
        raise ValueError("is more than 5 minutes in the future")
    return value.astimezone(dt.UTC)


def _not_future_date(value: dt.date) -> dt.date:
    # A date is compared with the latest date anywhere on Earth right now.
    if value > (utcnow() + dt.timedelta(hours=14)).date():
        raise ValueError("is in the future")
    return value


def _iso_text(value: object) -> object:
    # FastAPI validates bodies in Python mode, which would read 0 as 1970-01-01: in JSON a
    # time or date is an RFC 3339 string, nothing else.
    if not isinstance(value, str | dt.date):
        raise ValueError("must be an RFC 3339 date or time string")
    return value


PastTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_not_future)]
PastDate = Annotated[dt.date, BeforeValidator(_iso_text), AfterValidator(_not_future_date)]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
