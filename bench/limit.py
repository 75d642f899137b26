"""The limit for the DRAM agenda: one hand-written SQL query giving the same cases and reasons.

It answers what the builder answers, without the builder's Python: every open case (as of
the cutoff) with the codes of the DRAM flags it carries. Same schema, same indexes, the same
copy of each case's current assessment on `cases` (and the same search for the cases with
assessments after the cutoff); thresholds are bound parameters computed from the rules'
constants. It returns (case_id, code) rows, no wording and no evidence, so it is a lower
bound on the builder's work, timed in the same run. `same_answer` compares the two.

Portable SQL (PostgreSQL and SQLite): window functions, no LATERAL, no interval arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UTCDateTime
from app.risk import language
from app.risk.flags import (
    DISAGREEMENT_PERIOD,
    EDUCATION_PERIOD,
    LONDON,
    NO_ASSESSMENT_WORKING_DAYS,
    PLACEMENT_PERIOD,
    REFERRAL_PERIOD,
    REPEAT_MISSING_PERIOD,
    RETURN_INTERVIEW_DUE,
    STALLED_HIGH_PERIOD,
    Window,
    add_working_days,
    london_date,
)
from app.risk.tool import LEVEL_ORDER

RANK = "CASE {0} " + " ".join(f"WHEN '{lv}' THEN {n}" for n, lv in enumerate(LEVEL_ORDER)) + " END"

SEPARATORS = re.compile(r"[\s-]+")
KNOWN_A = "{0}.recorded_at <= :at AND {0}.assessed_at <= :at"
KNOWN_E = "{0}.recorded_at <= :at AND {0}.started_at <= :at"
KNOWN_V = "{0}.recorded_at <= :at AND {0}.occurred_at <= :at"
ENDED = (
    "(e.ended_at IS NOT NULL AND e.ended_at <= :at "
    "AND COALESCE(e.ended_recorded_at, e.recorded_at) <= :at)"
)
INTERVIEWED = (
    "(e.return_interview_at IS NOT NULL AND e.return_interview_at <= :at "
    "AND COALESCE(e.return_interview_recorded_at, e.recorded_at) <= :at)"
)


KNOWN_E_E = KNOWN_E.format("e")
KNOWN_V_V = KNOWN_V.format("v")
# Flag selections the DRAM and MACE queries share.
CURRENTLY_MISSING = f"""  SELECT DISTINCT e.case_id, 'currently_missing' FROM missing_episodes e
  WHERE {KNOWN_E_E} AND NOT {ENDED}"""
REPEAT_MISSING = f"""  SELECT e.case_id, 'repeat_missing' FROM missing_episodes e
  WHERE {KNOWN_E_E} AND e.started_at >= :missing_from
  GROUP BY e.case_id HAVING COUNT(*) >= 3"""
PLACEMENT = f"""  SELECT v.case_id, 'placement_instability' FROM case_events v
  WHERE {KNOWN_V_V} AND v.type = 'placement_move' AND v.occurred_at >= :placement_from
  GROUP BY v.case_id HAVING COUNT(*) >= 3"""
ACTIONS_OVERDUE = """  SELECT DISTINCT t.case_id, 'actions_overdue' FROM actions t
  WHERE t.created_at <= :at AND t.due_date < :today
    AND (t.status = 'open' OR t.status_changed_at > :at)"""
OPEN_AT_T = """COALESCE((SELECT st.status FROM case_status_changes st
          WHERE st.case_id = f.case_id AND st.recorded_at <= :at AND st.occurred_at <= :at
          ORDER BY st.occurred_at DESC, st.recorded_at DESC LIMIT 1), 'open') = 'open'"""


def _latest_id(case: str, moment: str) -> str:
    return (
        f"(SELECT a.id FROM assessments a WHERE a.case_id = {case} "
        f"AND a.recorded_at <= {moment} AND a.assessed_at <= {moment} "
        "ORDER BY a.assessed_at DESC, a.recorded_at DESC, a.id DESC LIMIT 1)"
    )


def _quoted(code: str) -> str:
    return '"' + code + '"'


def limit_sql(needs: dict[str, str], due_today_days: int) -> str:
    """The query; `needs` maps each referral-needing indicator to its service, and
    `due_today_days` is how many creation days reach 5 working days on the agenda's day."""
    due_today = "".join(
        f" OR (s.created_at >= :no_assessment_{n}_from AND s.created_at < :no_assessment_{n}_to)"
        for n in range(due_today_days)
    )
    unaddressed = " UNION ALL ".join(
        f"""
        SELECT f.case_id FROM (
          SELECT a.case_id, a.assessed_at,
                 ROW_NUMBER() OVER (PARTITION BY a.case_id
                                    ORDER BY a.assessed_at, a.recorded_at, a.id) AS n
          FROM assessments a JOIN cur ON cur.case_id = a.case_id
          WHERE {KNOWN_A.format("a")} AND CAST(a.indicators AS TEXT) LIKE '%"{code}"%'
            AND CAST(cur.indicators AS TEXT) LIKE '%"{code}"%'
        ) f
        WHERE f.n = 1 AND f.assessed_at < :referral_due
          AND NOT EXISTS (SELECT 1 FROM case_events v WHERE v.case_id = f.case_id
                          AND v.type = 'referral' AND v.service = '{service}'
                          AND {KNOWN_V.format("v")} AND v.occurred_at >= f.assessed_at)"""
        for code, service in sorted(needs.items())
    )
    phrases = sorted({p.lower() for entry in language.phrase_list().entries for p in entry.phrases})

    def blames(column: str) -> str:
        # The checker's phrases as substrings (spaces and hyphens as any run of characters):
        # no word boundaries in portable SQL, so a superset of what the checker finds.
        likes = " OR ".join(f"LOWER({column}) LIKE '%{SEPARATORS.sub('%', p)}%'" for p in phrases)
        return f"({column} IS NOT NULL AND ({likes}))"

    needs_on_case = " OR ".join(
        f"CAST(s.current_indicators AS TEXT) LIKE '%{_quoted(c)}%'" for c in sorted(needs)
    )
    return f"""
WITH scope AS (
  SELECT id, created_at, current_assessment_id, current_level
  FROM cases
  WHERE created_at <= :at AND (status = 'open' OR closed_at IS NULL OR closed_at > :at)
),
unsettled AS (
  SELECT DISTINCT case_id FROM assessments WHERE recorded_at > :at OR assessed_at > :at
),
cur_ids AS (
  SELECT s.id AS case_id, s.current_assessment_id AS aid FROM cases s
  WHERE s.id IN (SELECT id FROM scope) AND s.id NOT IN (SELECT case_id FROM unsettled)
    AND s.current_assessment_id IS NOT NULL
    AND (s.current_review_due < :at OR s.current_judgement_differs = :true
         OR {needs_on_case})
  UNION ALL
  SELECT s.id, {_latest_id("s.id", ":at")} FROM scope s
  WHERE s.id IN (SELECT case_id FROM unsettled)
),
cur AS (
  SELECT cur_ids.case_id, a.level, a.calculated_level, a.judgement_level, a.next_review_due,
         a.indicators
  FROM cur_ids JOIN assessments a ON a.id = cur_ids.aid
),
changed AS (
  SELECT DISTINCT a.case_id FROM assessments a
  WHERE {KNOWN_A.format("a")} AND (a.recorded_at > :ws OR a.assessed_at > :ws)
    AND a.case_id IN (SELECT id FROM scope)
),
levels AS (
  SELECT c.case_id, now_a.level AS now_level, now_a.recorded_at AS now_recorded,
         before_a.level AS before_level
  FROM (SELECT ch.case_id, {_latest_id("ch.case_id", ":at")} AS now_id,
               {_latest_id("ch.case_id", ":ws")} AS before_id FROM changed ch) c
  JOIN assessments now_a ON now_a.id = c.now_id
  LEFT JOIN assessments before_a ON before_a.id = c.before_id
),
flags AS (
  SELECT id AS case_id, 'new_referral' AS code FROM scope
  WHERE created_at > :ws AND created_at <= :we
  UNION ALL
  SELECT case_id, 'risk_escalated' FROM levels
  WHERE ({RANK.format("now_level")} > {RANK.format("before_level")})
     OR (before_level IS NULL AND now_level IN ('medium', 'high')
         AND now_recorded > :ws AND now_recorded <= :we)
  UNION ALL
  SELECT case_id, 'risk_reduced' FROM levels
  WHERE {RANK.format("now_level")} < {RANK.format("before_level")}
  UNION ALL
  SELECT DISTINCT e.case_id, 'new_missing_episode' FROM missing_episodes e
  WHERE {KNOWN_E.format("e")} AND ((e.started_at > :ws AND e.started_at <= :we)
                                  OR (e.recorded_at > :ws AND e.recorded_at <= :we))
  UNION ALL
{CURRENTLY_MISSING}
  UNION ALL
{REPEAT_MISSING}
  UNION ALL
  SELECT DISTINCT e.case_id, 'return_interview_overdue' FROM missing_episodes e
  WHERE {KNOWN_E.format("e")} AND {ENDED} AND e.ended_at < :interview_due AND NOT {INTERVIEWED}
  UNION ALL
  SELECT case_id, 'assessment_overdue' FROM cur WHERE next_review_due < :at
  UNION ALL
  SELECT s.id, 'no_assessment' FROM scope s
  WHERE (s.created_at < :no_assessment_before {due_today})
    AND ((s.current_assessment_id IS NULL AND s.id NOT IN (SELECT case_id FROM unsettled))
         OR (s.id IN (SELECT case_id FROM unsettled)
             AND NOT EXISTS (SELECT 1 FROM assessments a
                             WHERE a.case_id = s.id AND {KNOWN_A.format("a")})))
  UNION ALL
  SELECT case_id, 'judgement_below_tool' FROM cur
  WHERE judgement_level IS NOT NULL
    AND {RANK.format("judgement_level")} < {RANK.format("calculated_level")}
  UNION ALL
  SELECT l.case_id, 'assessor_disagreement' FROM (
    SELECT a.case_id, a.level,
           ROW_NUMBER() OVER (PARTITION BY a.case_id, a.agency_id
                              ORDER BY a.assessed_at DESC, a.recorded_at DESC, a.id DESC) AS n
    FROM assessments a
    WHERE {KNOWN_A.format("a")} AND a.assessed_at >= :disagreement_from
      AND a.case_id IN (SELECT id FROM scope)
  ) l
  WHERE l.n = 1 GROUP BY l.case_id
  HAVING COUNT(*) >= 2 AND MAX({RANK.format("l.level")}) - MIN({RANK.format("l.level")}) >= 2
  UNION ALL
  SELECT DISTINCT case_id, 'unaddressed_indicator' FROM ({unaddressed}) u
  UNION ALL
  SELECT DISTINCT v.case_id, 'criminalised_victim' FROM case_events v
  JOIN cases c ON c.id = v.case_id
  WHERE {KNOWN_V.format("v")} AND v.type IN ('arrest', 'charge', 'custody')
    AND ((v.occurred_at > :ws AND v.occurred_at <= :we)
         OR (v.recorded_at > :ws AND v.recorded_at <= :we))
    AND CASE WHEN c.id IN (SELECT case_id FROM unsettled)
             THEN (SELECT a.level FROM assessments a WHERE a.id = {_latest_id("c.id", ":at")})
             ELSE c.current_level END IN ('medium', 'high')
  UNION ALL
{PLACEMENT}
  UNION ALL
  SELECT DISTINCT v.case_id, 'missing_education' FROM case_events v
  WHERE {KNOWN_V.format("v")} AND v.type IN ('missing_education', 'education_exclusion')
    AND v.occurred_at >= :education_from
  UNION ALL
{ACTIONS_OVERDUE}
  UNION ALL
  SELECT DISTINCT a.case_id, 'language_concern' FROM assessments a
  WHERE {KNOWN_A.format("a")} AND a.recorded_at > :ws AND a.recorded_at <= :we
    AND ({blames("a.notes")} OR {blames("a.judgement_rationale")})
  UNION ALL
  SELECT DISTINCT e.case_id, 'language_concern' FROM missing_episodes e
  WHERE {KNOWN_E.format("e")} AND e.recorded_at > :ws AND e.recorded_at <= :we
    AND {blames("e.notes")}
  UNION ALL
  SELECT DISTINCT v.case_id, 'language_concern' FROM case_events v
  WHERE {KNOWN_V.format("v")} AND v.recorded_at > :ws AND v.recorded_at <= :we
    AND {blames("v.notes")}
)
SELECT DISTINCT f.case_id, f.code FROM flags f JOIN scope s ON s.id = f.case_id
WHERE {OPEN_AT_T}
"""


def _no_assessment_intervals(at: dt.datetime) -> tuple[dt.datetime, list[tuple[Any, Any]]]:
    """When a case must have been created to be open more than 5 working days at `at`.

    The deadline is the same London wall-clock time on the 5th working day after the day the
    case was created (`add_working_days`). So every case created on a day whose deadline day
    is before `at`'s day qualifies, and on a day whose deadline day is `at`'s day, only those
    created earlier in the day than `at`'s time. Returns the first moment of the first day
    that does not wholly qualify, and the qualifying part of each day due on `at`'s day.
    """
    local = at.astimezone(LONDON)
    today = local.date()

    def due(day: dt.date) -> dt.date:
        noon = dt.datetime.combine(day, dt.time(12), LONDON)
        return add_working_days(noon, NO_ASSESSMENT_WORKING_DAYS).astimezone(LONDON).date()

    def moment(day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, LONDON).astimezone(dt.UTC)

    day = today
    while due(day) >= today:
        day -= dt.timedelta(days=1)
    before = moment(day + dt.timedelta(days=1), dt.time())
    on_the_day = [
        (moment(d, dt.time()), moment(d, local.time().replace(tzinfo=None)))
        for d in (day + dt.timedelta(days=n) for n in range(1, 15))
        if due(d) == today
    ]
    return before, on_the_day


def limit_params(at: dt.datetime, window: Window) -> dict[str, Any]:
    before, on_the_day = _no_assessment_intervals(at)
    return {
        "at": at,
        "ws": window.start,
        "we": window.end,
        "true": True,
        "today": london_date(at),
        "missing_from": at - REPEAT_MISSING_PERIOD,
        "interview_due": at - RETURN_INTERVIEW_DUE,
        "no_assessment_before": before,
        **{
            f"no_assessment_{n}_{edge}": v
            for n, pair in enumerate(on_the_day)
            for edge, v in zip(("from", "to"), pair, strict=True)
        },
        "disagreement_from": at - DISAGREEMENT_PERIOD,
        "referral_due": at - REFERRAL_PERIOD,
        "placement_from": at - PLACEMENT_PERIOD,
        "education_from": at - EDUCATION_PERIOD,
        "stalled_from": at - STALLED_HIGH_PERIOD,
    }


async def dram_limit(
    session: AsyncSession, at: dt.datetime, window: Window, needs: dict[str, str]
) -> set[tuple[uuid.UUID, str]]:
    """The DRAM agenda's cases with their flag codes."""
    params = limit_params(at, window)
    days = sum(1 for name in params if name.endswith("_from") and "no_assessment" in name)
    return await _pairs(session, limit_sql(needs, days), params)


async def _pairs(
    session: AsyncSession, sql: str, params: dict[str, Any]
) -> set[tuple[uuid.UUID, str]]:
    """Run a limit query with the parameters it names, typed as the app binds them."""
    used = {name: v for name, v in params.items() if re.search(rf":{name}\b", sql)}
    typed = [
        bindparam(name, type_=UTCDateTime())
        for name, v in used.items()
        if isinstance(v, dt.datetime)
    ]
    if "today" in used:
        typed.append(bindparam("today", type_=Date()))
    if "true" in used:
        typed.append(bindparam("true", type_=Boolean()))
    rows = await session.execute(text(sql).bindparams(*typed), used)
    return {(_as_uuid(r[0]), r[1]) for r in rows}


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


MACE_SQL = f"""
WITH scope AS (
  SELECT id, current_level, current_review_due FROM cases
  WHERE created_at <= :at AND (status = 'open' OR closed_at IS NULL OR closed_at > :at)
),
unsettled AS (
  SELECT DISTINCT case_id FROM assessments WHERE recorded_at > :at OR assessed_at > :at
),
cur AS (  -- level and review due at T: the copy on cases, or the latest known at T by search
  SELECT s.id AS case_id, s.current_level AS level, s.current_review_due AS review_due
  FROM scope s WHERE s.id NOT IN (SELECT case_id FROM unsettled)
  UNION ALL
  SELECT s.id, a.level, a.next_review_due FROM scope s
  JOIN assessments a ON a.id = {_latest_id("s.id", ":at")}
  WHERE s.id IN (SELECT case_id FROM unsettled)
),
runs AS (  -- the trailing run of high assessments of each case high at T
  SELECT r.case_id, MIN(r.assessed_at) AS started FROM (
    SELECT a.case_id, a.assessed_at,
           SUM(CASE WHEN a.level <> 'high' THEN 1 ELSE 0 END) OVER (
             PARTITION BY a.case_id ORDER BY a.assessed_at DESC, a.recorded_at DESC, a.id DESC
             ROWS UNBOUNDED PRECEDING) AS lower
    FROM assessments a JOIN cur ON cur.case_id = a.case_id AND cur.level = 'high'
    WHERE {KNOWN_A.format("a")}
  ) r WHERE r.lower = 0 GROUP BY r.case_id
),
last_decisions AS (
  SELECT d.case_id, d.progress, d.stalled,
         ROW_NUMBER() OVER (PARTITION BY d.case_id ORDER BY d.recorded_at DESC, d.id DESC) AS n
  FROM decisions d WHERE d.recorded_at <= :at AND d.case_id IN (SELECT id FROM scope)
),
flags AS (
  SELECT case_id, 'risk_high' AS code FROM cur WHERE level = 'high'
  UNION ALL
  SELECT DISTINCT d.case_id, 'escalated_by_dram' FROM decisions d
  WHERE d.meeting_kind = 'dram' AND d.escalate_to_mace = :true
    AND d.recorded_at > :ws AND d.recorded_at <= :we AND d.recorded_at <= :at
    AND d.case_id IN (SELECT id FROM scope)
  UNION ALL
{CURRENTLY_MISSING}
  UNION ALL
{REPEAT_MISSING}
  UNION ALL
  SELECT case_id, 'assessment_overdue' FROM cur WHERE review_due < :at
  UNION ALL
{PLACEMENT}
  UNION ALL
{ACTIONS_OVERDUE}
  UNION ALL
  SELECT case_id, 'stalled' FROM runs WHERE started <= :stalled_from
  UNION ALL
  SELECT case_id, 'stalled' FROM last_decisions GROUP BY case_id
  HAVING SUM(CASE WHEN n <= 2 AND progress IN ('no_change', 'worsening') THEN 1 ELSE 0 END) = 2
      OR MAX(CASE WHEN n = 1 AND stalled = :true THEN 1 ELSE 0 END) = 1
  UNION ALL
  SELECT DISTINCT t.case_id, 'mace_action_overdue' FROM actions t
  WHERE t.set_at_meeting_kind = 'mace' AND t.created_at <= :at AND t.due_date < :today
    AND (t.status = 'open' OR t.status_changed_at > :at)
),
qualifying AS (
  SELECT DISTINCT case_id FROM flags
  WHERE code IN ('risk_high', 'escalated_by_dram', 'stalled', 'mace_action_overdue')
)
SELECT DISTINCT f.case_id, f.code FROM flags f
JOIN qualifying q ON q.case_id = f.case_id JOIN scope s ON s.id = f.case_id
WHERE f.code <> 'mace_action_overdue'
  AND {OPEN_AT_T}
"""


async def mace_limit(
    session: AsyncSession, at: dt.datetime, window: Window
) -> set[tuple[uuid.UUID, str]]:
    """The MACE agenda's cases with their reason codes (criteria and MACE flags)."""
    return await _pairs(session, MACE_SQL, limit_params(at, window))
