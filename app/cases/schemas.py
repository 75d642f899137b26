"""Request and response shapes for cases and subject identifiers (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field, StrictBool, field_validator

from app.cases.subjects import IdentifierScheme, normalise
from app.schemas import PastDate, RequestModel, ResponseModel

# Children in Need census ethnicity codes (DfE), grouped by census major group.
ETHNICITY_GROUPS: dict[str, str] = {
    **{c: "white" for c in ("WBRI", "WIRI", "WIRT", "WOTH", "WROM")},
    **{c: "mixed" for c in ("MWBC", "MWBA", "MWAS", "MOTH")},
    **{c: "asian" for c in ("AIND", "APKN", "ABAN", "CHNE", "AOTH")},
    **{c: "black" for c in ("BCRB", "BAFR", "BOTH")},
    **{c: "other" for c in ("OOTH",)},
    **{c: "not_known" for c in ("REFU", "NOBT")},
}

_BIRTH_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class IdentifierIn(RequestModel):
    scheme: IdentifierScheme
    value: str = Field(min_length=1, max_length=100)

    @field_validator("value")
    @classmethod
    def _valid_for_scheme(cls, value: str, info: Any) -> str:
        scheme = info.data.get("scheme")
        if scheme is not None:
            normalise(scheme, value)  # raises ValueError with a message that never echoes it
        return value


def _check_birth_month(value: str | None) -> str | None:
    if value is None:
        return None
    m = _BIRTH_MONTH.match(value)
    if not m:
        raise ValueError("is YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    today = dt.date.today()
    if (year, month) > (today.year, today.month):
        raise ValueError("is in the future")
    if today.year - year > 25:
        raise ValueError("is more than 25 years ago: the register holds children and young people")
    return value


def _check_ethnicity(value: str | None) -> str | None:
    if value is not None and value not in ETHNICITY_GROUPS:
        raise ValueError("is not a Children in Need census ethnicity code (e.g. WBRI)")
    return value


class CaseFields(RequestModel):
    birth_month: str | None = None
    sex: Sex = Sex.unknown
    ethnicity: str | None = None
    disability: StrictBool | None = None
    looked_after: StrictBool = False

    _birth = field_validator("birth_month")(classmethod(lambda cls, v: _check_birth_month(v)))
    _eth = field_validator("ethnicity")(classmethod(lambda cls, v: _check_ethnicity(v)))


class CaseCreate(CaseFields):
    lead_agency: str | None = Field(
        default=None, description="agency code; the caller's agency when omitted"
    )
    referral_date: PastDate | None = Field(default=None, description="today when omitted")
    referral_source: str | None = Field(default=None, description="agency code")
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=10)


class CaseUpdate(RequestModel):
    birth_month: str | None = None
    sex: Sex | None = None
    ethnicity: str | None = None
    disability: StrictBool | None = None
    looked_after: StrictBool | None = None
    lead_agency: str | None = None
    referral_date: PastDate | None = None
    referral_source: str | None = None

    _birth = field_validator("birth_month")(classmethod(lambda cls, v: _check_birth_month(v)))
    _eth = field_validator("ethnicity")(classmethod(lambda cls, v: _check_ethnicity(v)))


class StatusChange(RequestModel):
    reason: str = Field(min_length=1, max_length=2000)


class CurrentRisk(ResponseModel):
    level: str
    score: int
    assessed_at: dt.datetime
    next_review_due: dt.datetime | None
    assessment_id: uuid.UUID


class FlagRead(ResponseModel):
    code: str
    severity: str
    since: dt.datetime | None
    detail: str
    evidence: list[uuid.UUID]


class CaseRead(ResponseModel):
    id: uuid.UUID
    pseudonym: str
    status: CaseStatus
    birth_month: str | None
    sex: Sex
    ethnicity: str | None
    disability: bool | None
    looked_after: bool
    lead_agency: str
    referral_date: dt.date
    referral_source: str | None
    current_risk: CurrentRisk | None
    flags: list[FlagRead]
    agencies: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class IdentifierRead(ResponseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    scheme: IdentifierScheme
    agency: str
    created_at: dt.datetime


class SubjectMatch(ResponseModel):
    case_id: uuid.UUID
    pseudonym: str
    scheme: IdentifierScheme
