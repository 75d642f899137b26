"""Structured JSON logs on stderr; never identifiers or free text."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from types import TracebackType


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "route", "status", "duration_ms"):
            if hasattr(record, key):
                body[key] = getattr(record, key)
        if record.exc_info:
            body["exception"] = describe_exception(record.exc_info)
        return json.dumps(body)


def describe_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None],
) -> dict[str, object]:
    """An exception's types and where it was raised, without its message.

    Messages can carry data: a database error quotes the failing row ("Failing row contains
    ...", bound parameters), a validation error the value it refused. So the log keeps the
    exception chain's type names and the code locations, which is enough to find the fault.
    """
    _, exc, _ = exc_info
    chain: list[str] = []
    frames: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(f"{type(exc).__module__}.{type(exc).__qualname__}")
        if not frames:
            frames = [
                f"{f.filename}:{f.lineno} in {f.name}"
                for f in traceback.extract_tb(exc.__traceback__)
            ]
        exc = exc.__cause__ or exc.__context__
    return {"types": chain, "where": frames[-12:]}


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
