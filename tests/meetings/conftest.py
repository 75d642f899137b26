"""Helpers for the meetings tests: plan meetings for a fixed moment, make cases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.db import Database
from app.meetings.jobs import materialise_meetings
from app.models import Meeting
from tests.conftest import auth

LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


async def plan(db: Database, now: dt.datetime) -> None:
    await materialise_meetings(db, now)


async def meeting(db: Database, kind: str, day: dt.date) -> Meeting:
    async with db.transaction() as session:
        found = await session.scalar(
            select(Meeting).where(Meeting.kind == kind, Meeting.local_date == day)
        )
    assert found is not None, f"no {kind} on {day}"
    return found


async def new_case(client, key: str, **fields) -> dict:
    r = await client.post("/api/v1/cases", json={"sex": "female", **fields}, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def coordinator(keys):
    return auth(keys["coordinator"])
