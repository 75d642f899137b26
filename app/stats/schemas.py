"""Response shapes for the statistics: the overview and the equality breakdown."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from app.schemas import ResponseModel


class PeriodRead(ResponseModel):
    from_: dt.date = Field(serialization_alias="from", description="first day (Europe/London)")
    to: dt.date = Field(description="last day, inclusive (Europe/London)")
    as_of: dt.datetime = Field(description="the moment open cases and flags are counted at")


class LevelCounts(ResponseModel):
    not_assessed: int = 0
    none: int = 0
    low: int = 0
    medium: int = 0
    high: int = 0


class Overview(ResponseModel):
    period: PeriodRead
    open_cases: int = Field(description="open as of the end of the period")
    open_cases_by_level: LevelCounts
    flags_by_code: dict[str, int] = Field(
        description="open cases carrying each flag as of the end of the period (window: the "
        "24 hours before it)"
    )
    flags_cases_evaluated: int
    flags_complete: bool = Field(
        description="false when there were more open cases than the evaluation limit"
    )
    assessments_overdue: int = Field(description="open cases whose review date has passed")
    referrals: int = Field(description="cases with a referral date in the period")
    first_assessed: int = Field(description="of those, assessed by the end of the period")
    awaiting_first_assessment: int
    median_days_referral_to_first_assessment: float | None
    missing_episodes: int = Field(description="episodes that started in the period")
    children_missing: int
    return_interviews_due: int = Field(
        description="episodes in the period whose 72 hours had run (or that had an interview)"
    )
    return_interviews_within_72h: int
    return_interviews_within_72h_rate: float | None
    actions_overdue: int = Field(
        description="actions open at the end of the period and due before its last day"
    )


class Count(ResponseModel):
    value: int | None = Field(description="null when suppressed")
    suppressed: bool = False


class Measure(ResponseModel):
    value: float | None = Field(description="null when suppressed or when there is no data")
    suppressed: bool = False


class LevelFigures(ResponseModel):
    not_assessed: Count
    none: Count
    low: Count
    medium: Count
    high: Count


class GroupFigures(ResponseModel):
    group: str
    open_cases: Count
    levels: LevelFigures
    assessments_overdue: Count
    assessments_not_overdue: Count
    referrals: Count
    first_assessed: Count
    awaiting_first_assessment: Count
    median_days_referral_to_first_assessment: Measure
    return_interviews_due: Count
    return_interviews_within_72h: Count
    return_interviews_late: Count
    return_interviews_within_72h_rate: Measure


class DimensionTable(ResponseModel):
    dimension: str
    groups: list[GroupFigures]
    total: GroupFigures = Field(description="the whole partnership, as in the overview")


class SuppressionRule(ResponseModel):
    threshold: int
    rule: str


class Equality(ResponseModel):
    period: PeriodRead
    suppression: SuppressionRule
    dimensions: list[DimensionTable]
