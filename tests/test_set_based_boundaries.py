"""The set-based selections keep each rule's boundaries: records placed exactly on them.

The equality test on seeded data rarely lands a record on the exact second of a threshold;
here every threshold gets a record just on it and one just off it, and both paths (per case
and set-based) must agree, and agree with the rule's stated boundary (app/risk/flags.py).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from app.db import Database
from app.models import Agency, CaseEvent, MissingEpisode
from app.risk.evaluation import flags_for_cases
from app.risk.flags import FLAG_CODES, Window
from app.risk.setbased import flags_set_based
from tests.api.risk_helpers import new_case

DAY, HOUR, SECOND = dt.timedelta(days=1), dt.timedelta(hours=1), dt.timedelta(seconds=1)


async def test_both_paths_agree_on_every_boundary(client, keys, db: Database) -> None:
    at = (dt.datetime.now(dt.UTC) + HOUR).replace(microsecond=0)
    window = Window(at - DAY, at)
    recorded = at - 2 * HOUR  # known at `at`, whatever happened when
    cases = {
        name: uuid.UUID((await new_case(client, keys["coordinator"]))["id"])
        for name in (
            "repeat_on",
            "repeat_off",
            "interview_on",
            "interview_off",
            "placement_on",
            "placement_off",
            "education_on",
            "education_off",
            "window_start",
            "window_end",
        )
    }
    async with db.transaction() as session:
        agency = await session.scalar(select(Agency.id).limit(1))

        def episode(case: str, started: dt.datetime, **fields: object) -> MissingEpisode:
            return MissingEpisode(
                case_id=cases[case],
                agency_id=agency,
                kind="missing",
                started_at=started,
                recorded_at=min(recorded, at),
                **fields,
            )

        def event(case: str, type_: str, occurred: dt.datetime) -> CaseEvent:
            return CaseEvent(
                case_id=cases[case],
                agency_id=agency,
                type=type_,
                occurred_at=occurred,
                recorded_at=recorded,
            )

        ended = {"ended_at": at - 3 * DAY, "ended_recorded_at": recorded}
        session.add_all(
            [
                # 3 or more started in the 90 days before T: the 90th day counts, a second
                # earlier does not.
                episode("repeat_on", at - 90 * DAY, **ended),
                episode("repeat_on", at - 60 * DAY, **ended),
                episode("repeat_on", at - 30 * DAY, **ended),
                episode("repeat_off", at - 90 * DAY - SECOND, **ended),
                episode("repeat_off", at - 60 * DAY, **ended),
                episode("repeat_off", at - 30 * DAY, **ended),
                # Return interview overdue only after more than 72 hours.
                episode(
                    "interview_on",
                    at - 10 * DAY,
                    ended_at=at - 72 * HOUR - SECOND,
                    ended_recorded_at=recorded,
                ),
                episode(
                    "interview_off",
                    at - 10 * DAY,
                    ended_at=at - 72 * HOUR,
                    ended_recorded_at=recorded,
                ),
                # New in the window: start exclusive, end inclusive (recorded before it).
                MissingEpisode(
                    case_id=cases["window_start"],
                    agency_id=agency,
                    kind="missing",
                    started_at=window.start,
                    recorded_at=window.start,
                    ended_at=window.start + HOUR,
                    ended_recorded_at=window.start + HOUR,
                ),
                MissingEpisode(
                    case_id=cases["window_end"],
                    agency_id=agency,
                    kind="missing",
                    started_at=window.start - HOUR,
                    recorded_at=window.end,
                    ended_at=window.start,
                    ended_recorded_at=window.end,
                ),
                # 3 placement moves in the 365 days before T; exactly 365 days counts.
                event("placement_on", "placement_move", at - 365 * DAY),
                event("placement_on", "placement_move", at - 100 * DAY),
                event("placement_on", "placement_move", at - 10 * DAY),
                event("placement_off", "placement_move", at - 365 * DAY - SECOND),
                event("placement_off", "placement_move", at - 100 * DAY),
                event("placement_off", "placement_move", at - 10 * DAY),
                # Out of education in the 28 days before T; exactly 28 days counts.
                event("education_on", "missing_education", at - 28 * DAY),
                event("education_off", "education_exclusion", at - 28 * DAY - SECOND),
            ]
        )
    async with db.transaction() as session:
        per_case = await flags_for_cases(session, list(cases.values()), at, window)
        set_based = await flags_set_based(session, FLAG_CODES, at, window)
    codes = {name: {f.code for f in per_case[case_id]} for name, case_id in cases.items()}
    for name, case_id in cases.items():
        assert set_based.get(case_id, []) == per_case[case_id], name
    assert "repeat_missing" in codes["repeat_on"] and "repeat_missing" not in codes["repeat_off"]
    assert "return_interview_overdue" in codes["interview_on"]
    assert "return_interview_overdue" not in codes["interview_off"]
    assert "placement_instability" in codes["placement_on"]
    assert "placement_instability" not in codes["placement_off"]
    assert "missing_education" in codes["education_on"]
    assert "missing_education" not in codes["education_off"]
    assert "new_missing_episode" not in codes["window_start"]
    assert "new_missing_episode" in codes["window_end"]
