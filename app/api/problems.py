"""Every error leaves as application/problem+json (RFC 9457); no stack trace ever does."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, problem

log = logging.getLogger("riskreg.errors")
PROBLEM = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
}


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem(status, title or _TITLES.get(status, "Error"), detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def _msg(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "is not valid"))
    if error.get("type") == "extra_forbidden":
        return "unknown field: not accepted (nothing was stored)"
    return msg.removeprefix("Value error, ")


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        exc.status, exc.detail, title=exc.title, headers=headers, type_=exc.type, **exc.extra
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": _loc(e.get("loc", ())), "msg": _msg(e)} for e in exc.errors()]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors) or "the request"
    return problem_response(
        422,
        f"invalid: {fields}",
        type_="https://riskreg.example/problems/validation",
        errors=errors,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("integrity error turned into 409: %s", type(exc).__name__)
    return problem_response(409, "the change conflicts with a record that already exists")


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem_response(500, "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected)
