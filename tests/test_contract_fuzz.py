"""Schemathesis against a live server: no 5xx, responses match the OpenAPI schema, errors are
problem+json, and schema-violating input is refused. Bounded here; `make fuzz` runs it long."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.live import LiveServer

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
    ]
)


def test_every_operation_honours_its_contract(database_url, keys, tmp_path: Path):
    examples = os.environ.get("RISKREG_FUZZ_EXAMPLES", "8")
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    server = LiveServer(database_url, tmp_path / "server.log").start()
    try:
        result = subprocess.run(
            [
                st,
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {keys['admin']}",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                examples,
                "--seed",
                "20261129",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.stop()
    summary = result.stdout[-3000:]
    print(summary[-1200:])  # operations and test cases covered (shown with -s, e.g. make fuzz)
    assert result.returncode == 0, summary
    assert "passed" in summary and "failures" not in summary.split("====")[-1], summary
