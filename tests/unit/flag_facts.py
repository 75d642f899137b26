"""Builders for flag-rule facts: a fixed moment T and records placed relative to it."""

from __future__ import annotations

import datetime as dt
import uuid

from app.risk.flags import (
    AssessmentFacts,
    CaseFacts,
    CaseRecords,
    EpisodeFacts,
    EventFacts,
    Window,
)

T = dt.datetime(2025, 3, 12, 9, 0, tzinfo=dt.UTC)  # a Wednesday, GMT
CASE_ID = uuid.UUID(int=1)
POLICE = uuid.UUID(int=100)
COUNCIL = uuid.UUID(int=101)
HEALTH = uuid.UUID(int=102)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)


def window(start: dt.datetime | None = None, end: dt.datetime = T) -> Window:
    return Window(start if start is not None else end - dt.timedelta(hours=24), end)


def records(
    *,
    created_at: dt.datetime = T - 400 * DAY,
    status: str = "open",
    assessments: tuple[AssessmentFacts, ...] = (),
    episodes: tuple[EpisodeFacts, ...] = (),
    events: tuple[EventFacts, ...] = (),
    **more: object,
) -> CaseRecords:
    return CaseRecords(
        case=CaseFacts(id=CASE_ID, status=status, created_at=created_at),
        assessments=assessments,
        episodes=episodes,
        events=events,
        **more,  # type: ignore[arg-type]
    )


def assessment(
    level: str,
    assessed_at: dt.datetime,
    *,
    recorded_at: dt.datetime | None = None,
    agency: uuid.UUID = COUNCIL,
    calculated: str | None = None,
    judgement: str | None = None,
    review_days: int | None = None,
    indicators: tuple[str, ...] = (),
    needs: tuple[tuple[str, str], ...] = (),
    text: tuple[str, ...] = (),
) -> AssessmentFacts:
    return AssessmentFacts(
        id=uuid.uuid4(),
        agency_id=agency,
        assessed_at=assessed_at,
        recorded_at=recorded_at or assessed_at,
        level=level,
        calculated_level=calculated or level,
        judgement_level=judgement,
        next_review_due=assessed_at + dt.timedelta(days=review_days) if review_days else None,
        indicators=indicators,
        referral_needs=needs,
        free_text=text,
    )


def episode(
    started_at: dt.datetime,
    *,
    ended_at: dt.datetime | None = None,
    interview_at: dt.datetime | None = None,
    recorded_at: dt.datetime | None = None,
    text: tuple[str, ...] = (),
) -> EpisodeFacts:
    return EpisodeFacts(
        id=uuid.uuid4(),
        started_at=started_at,
        recorded_at=recorded_at or started_at,
        ended_at=ended_at,
        return_interview_at=interview_at,
        free_text=text,
    )


def event(
    type_: str,
    occurred_at: dt.datetime,
    *,
    service: str | None = None,
    recorded_at: dt.datetime | None = None,
    text: tuple[str, ...] = (),
) -> EventFacts:
    return EventFacts(
        id=uuid.uuid4(),
        type=type_,
        occurred_at=occurred_at,
        recorded_at=recorded_at or occurred_at,
        service=service,
        free_text=text,
    )
