"""Operator signals: agenda build duration and scheduler job runs reach /metrics."""

from __future__ import annotations

import pytest

from app.meetings.jobs import counted, materialise_meetings
from app.metrics import AGENDA_BUILD, JOB_RUNS
from tests.conftest import auth


def _sample(metric, suffix: str, **labels: str) -> float:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(suffix) and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_building_an_agenda_is_timed(db, client, keys):
    await materialise_meetings(db)
    before = _sample(AGENDA_BUILD, "_count", kind="mace")
    r = await client.get("/api/v1/agendas/mace/next", headers=auth(keys["coordinator"]))
    assert r.status_code == 200, r.text
    assert _sample(AGENDA_BUILD, "_count", kind="mace") == before + 1
    metrics = (await client.get("/metrics")).text
    assert 'riskreg_agenda_build_seconds_count{kind="mace"}' in metrics


async def test_job_runs_are_counted_by_outcome(db):
    async def fine(_db):
        return 3

    async def broken(_db):
        raise RuntimeError("database gone")

    ok = _sample(JOB_RUNS, "_total", job="test-job", outcome="success")
    failed = _sample(JOB_RUNS, "_total", job="test-job", outcome="failure")
    assert await counted("test-job", fine)(db) == 3
    with pytest.raises(RuntimeError):
        await counted("test-job", broken)(db)
    assert _sample(JOB_RUNS, "_total", job="test-job", outcome="success") == ok + 1
    assert _sample(JOB_RUNS, "_total", job="test-job", outcome="failure") == failed + 1
