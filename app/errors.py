"""Application errors and their RFC 9457 problem+json rendering."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    title = "Bad request"
    type_suffix = "bad-request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def type(self) -> str:
        return f"https://riskreg.example/problems/{self.type_suffix}"


class NotAuthenticated(AppError):
    status, title, type_suffix = 401, "Not authenticated", "not-authenticated"


class Forbidden(AppError):
    status, title, type_suffix = 403, "Forbidden", "forbidden"


class NotFound(AppError):
    status, title, type_suffix = 404, "Not found", "not-found"


class Conflict(AppError):
    status, title, type_suffix = 409, "Conflict", "conflict"


class PreconditionFailed(AppError):
    status, title, type_suffix = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(AppError):
    status, title, type_suffix = 428, "Precondition required", "precondition-required"


class Unprocessable(AppError):
    """A request that parsed but breaks a rule; `errors` names the fields."""

    status, title, type_suffix = 422, "Unprocessable content", "validation"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, extra={"errors": errors or []})


def field_error(loc: list[str | int], msg: str) -> Unprocessable:
    return Unprocessable(
        f"{'.'.join(str(p) for p in loc)}: {msg}", errors=[{"loc": loc, "msg": msg}]
    )


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return body
