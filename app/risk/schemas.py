"""Request and response shapes for risk records, flags, chronology and the language check."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import Field

from app.cases.schemas import FlagRead
from app.risk.tool import Level, ReferralService
from app.schemas import PastTime, RequestModel, ResponseModel

FREE_TEXT = 8000


class LanguageFinding(ResponseModel):
    phrase: str = Field(description="the words as they appear in the text")
    start: int = Field(description="offset of the first character in the field's text")
    end: int = Field(description="offset just past the last character")
    suggestion: str
    reason: str
    field: str | None = Field(default=None, description="which free-text field, on a record")
    source: str | None = Field(default=None, description="the guidance the phrase comes from")


class LanguageCheckIn(RequestModel):
    text: str = Field(max_length=50_000)


class LanguageCheckOut(ResponseModel):
    findings: list[LanguageFinding]
    sources: dict[str, str]


class JudgementIn(RequestModel):
    level: Level
    rationale: str = Field(min_length=1, max_length=FREE_TEXT)


class AssessmentCreate(RequestModel):
    assessed_at: PastTime
    indicators: list[str] = Field(default_factory=list, max_length=200)
    judgement: JudgementIn | None = Field(
        default=None, description="professional judgement; sets the final level"
    )
    notes: str | None = Field(default=None, max_length=FREE_TEXT)
    corrects: uuid.UUID | None = Field(
        default=None, description="the id of an earlier assessment of this case this corrects"
    )


class JudgementRead(ResponseModel):
    level: str
    rationale: str


class AssessmentRead(ResponseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    assessed_at: dt.datetime
    agency: str
    indicators: list[str]
    score: int
    calculated_level: str
    judgement: JudgementRead | None
    level: str
    next_review_due: dt.datetime | None
    tool_version: str
    notes: str | None
    corrects: uuid.UUID | None
    recorded_at: dt.datetime
    language_warnings: list[LanguageFinding]


class EpisodeKind(StrEnum):
    missing = "missing"
    absent = "absent"


class MissingEpisodeCreate(RequestModel):
    started_at: PastTime
    ended_at: PastTime | None = None
    kind: EpisodeKind = EpisodeKind.missing
    return_interview_at: PastTime | None = None
    notes: str | None = Field(default=None, max_length=FREE_TEXT)


class MissingEpisodeEnd(RequestModel):
    ended_at: PastTime


class ReturnInterview(RequestModel):
    return_interview_at: PastTime


class MissingEpisodeRead(ResponseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    started_at: dt.datetime
    ended_at: dt.datetime | None
    kind: EpisodeKind
    agency: str
    return_interview_at: dt.datetime | None
    return_interview_due: dt.datetime | None = Field(
        description="72 hours after the return, while no interview is recorded"
    )
    notes: str | None
    recorded_at: dt.datetime
    language_warnings: list[LanguageFinding]


class EventType(StrEnum):
    placement_move = "placement_move"
    arrest = "arrest"
    charge = "charge"
    custody = "custody"
    education_exclusion = "education_exclusion"
    missing_education = "missing_education"
    referral = "referral"
    strategy_meeting = "strategy_meeting"
    disclosure = "disclosure"
    other = "other"


class EventCreate(RequestModel):
    type: EventType
    occurred_at: PastTime
    service: ReferralService | None = Field(
        default=None, description="required for a referral, and only there"
    )
    notes: str | None = Field(default=None, max_length=FREE_TEXT)
    corrects: uuid.UUID | None = None


class EventRead(ResponseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    type: EventType
    service: ReferralService | None
    occurred_at: dt.datetime
    agency: str
    notes: str | None
    corrects: uuid.UUID | None
    recorded_at: dt.datetime
    language_warnings: list[LanguageFinding]


class ChronologyEntry(ResponseModel):
    at: dt.datetime
    kind: str
    id: uuid.UUID
    summary: str
    agency: str | None
    recorded_at: dt.datetime


class CaseFlags(ResponseModel):
    case_id: uuid.UUID
    pseudonym: str
    risk_level: str | None
    flags: list[FlagRead]
