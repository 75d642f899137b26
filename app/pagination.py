"""Opaque keyset cursors: (moment, id) of the last item of a page, base64url JSON."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

from app.errors import field_error


def encode_cursor(moment: dt.datetime, record_id: uuid.UUID) -> str:
    raw = json.dumps([moment.isoformat(), str(record_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, record_id = json.loads(raw)
        return dt.datetime.fromisoformat(moment), uuid.UUID(record_id)
    except (ValueError, TypeError) as exc:
        raise field_error(["query", "cursor"], "is not a cursor this service gave out") from exc
