"""Declared error responses, so the OpenAPI contract lists every status a route can answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.api.problems import PROBLEM


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[ValidationIssue] | None = None
    case_id: str | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses, plus the ones every authenticated route has.

    400 is a body that is not UTF-8 JSON at all; 413 and 415 come from the body guard.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({400, 401, 413, 415, 422, *statuses}):
        out[status] = {"model": Problem, "content": {PROBLEM: {}}, "description": "problem+json"}
    return out
