"""What reaches the logs: one JSON line per request with its id and route template, never a
case id, pseudonym, identifier or free text, not even inside an exception."""

from __future__ import annotations

import json
import logging

from app.logging import JsonFormatter
from tests.api.risk_helpers import new_case
from tests.conftest import auth


async def test_request_lines_carry_the_request_id_and_no_identifiers(client, keys, caplog):
    case = await new_case(
        client, keys["coordinator"], identifiers=[{"scheme": "agency_local", "value": "SW-4471"}]
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="riskreg"):
        r = await client.get(
            f"/api/v1/cases/{case['id']}/risk-history.svg",
            headers={**auth(keys["coordinator"]), "X-Request-ID": "req-chart-1"},
        )
        assert r.status_code == 200
        assert r.headers["X-Request-ID"] == "req-chart-1"
    lines = [JsonFormatter().format(rec) for rec in caplog.records]
    request_lines = [json.loads(line) for line in lines if '"message": "request"' in line]
    assert request_lines, lines
    line = request_lines[-1]
    assert line["request_id"] == "req-chart-1"
    assert line["route"] == "/api/v1/cases/{case_id}/risk-history.svg"
    everything = "\n".join(lines)
    for secret in (case["id"], case["pseudonym"], "SW-4471"):
        assert secret not in everything

    # The same request id is in the audit entry.
    audit = (await client.get("/api/v1/audit", headers=auth(keys["auditor"]))).json()
    entry = next(e for e in audit["items"] if e["action"] == "case.risk_history")
    assert entry["request_id"] == "req-chart-1"


def test_an_exception_is_logged_without_its_message():
    try:
        try:
            raise ValueError("Failing row contains (CE-7K4Q2M, went with her boyfriend)")
        except ValueError as inner:
            raise RuntimeError("wrapped: SW-4471") from inner
    except RuntimeError as exc:
        record = logging.LogRecord(
            "riskreg.errors",
            logging.ERROR,
            __file__,
            1,
            "unhandled error",
            None,
            (type(exc), exc, exc.__traceback__),
        )
    line = JsonFormatter().format(record)
    body = json.loads(line)
    assert body["exception"]["types"] == ["builtins.RuntimeError", "builtins.ValueError"]
    assert any("test_logs.py" in where for where in body["exception"]["where"])
    for secret in ("CE-7K4Q2M", "boyfriend", "SW-4471"):
        assert secret not in line
