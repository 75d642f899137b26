"""The set-based flag path (SQL narrows, rules decide) equals the per-case path on seeded data."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Collection

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.meetings.agenda import (
    AgendaWindow,
    ProposedItem,
    dram_reasons,
    mace_reasons,
    ordered,
    reason,
    rule_items,
)
from app.models import Case, Meeting
from app.risk.evaluation import load_case_records
from app.risk.flags import (
    DRAM_FLAGS,
    FLAG_CODES,
    MACE_FLAGS,
    Flag,
    Window,
    evaluate,
    latest_assessment,
)
from app.risk.setbased import flags_set_based
from app.seed import seed
from tests.conftest import TEST_SECRET

AS_OF = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


async def flagged_per_case(
    session: AsyncSession,
    codes: Collection[str],
    at: dt.datetime,
    window: Window,
    *,
    open_only: bool,
) -> dict[uuid.UUID, list[Flag]]:
    """The reference: every case's records loaded and every rule run on them, one by one."""
    ids = list(await session.scalars(select(Case.id).order_by(Case.id)))
    records = await load_case_records(session, ids, at)
    out = {}
    for case_id, r in records.items():
        if open_only and r.case.status != "open":
            continue
        flags = [f for f in evaluate(r, at, window) if f.code in codes]
        if flags:
            out[case_id] = flags
    return out


async def test_set_based_flags_match_the_per_case_rules_on_seeded_data(db: Database) -> None:
    await seed(db, cases=300, seed=21, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    seen: Counter[str] = Counter()
    moments = [
        (AS_OF, Window.ending(AS_OF)),
        (AS_OF, Window(AS_OF - 14 * DAY, AS_OF)),
        (AS_OF - 3 * DAY - dt.timedelta(hours=5), Window.ending(AS_OF - 3 * DAY)),
        (AS_OF - 200 * DAY, Window(AS_OF - 230 * DAY, AS_OF - 200 * DAY)),
    ]
    async with db.transaction() as session:
        for at, window in moments:
            for open_only in (False, True):
                reference = await flagged_per_case(
                    session, FLAG_CODES, at, window, open_only=open_only
                )
                for flags in reference.values():
                    seen.update(f.code for f in flags)
                # All codes at once, the DRAM and MACE sets, and every code on its own (so no
                # code's SQL condition hides behind another's).
                for codes in (FLAG_CODES, DRAM_FLAGS, MACE_FLAGS, *((c,) for c in FLAG_CODES)):
                    expected = {
                        case_id: [f for f in flags if f.code in codes]
                        for case_id, flags in reference.items()
                    }
                    expected = {k: v for k, v in expected.items() if v}
                    got = await flags_set_based(session, codes, at, window, open_only=open_only)
                    assert got == expected, (at, window, open_only, codes)
    # The data exercise every rule, the meeting ones (actions, decisions) included.
    for code in FLAG_CODES:
        assert seen[code] > 0, f"no seeded case carries {code}"


@pytest.mark.parametrize("kind", ["dram", "mace"])
async def test_set_based_agendas_match_every_open_case_evaluated_one_by_one(
    db: Database, kind: str
) -> None:
    """The builders (set-based flags and MACE criteria, then levels and pseudonyms for the cases
    found) give the items a walk over every case gives, at the seed's moment and at earlier
    ones, where records posted later must be ignored (the search path, not the copy on cases)."""
    await seed(db, cases=250, seed=5, secret=TEST_SECRET, as_of=AS_OF, progress=False)
    async with db.transaction() as session:
        ids = list(await session.scalars(select(Case.id)))
        pseudonyms = dict((await session.execute(select(Case.id, Case.pseudonym))).all())
        for at in (AS_OF, AS_OF - 3 * DAY, AS_OF - 120 * DAY):
            since = at - (DAY if kind == "dram" else 42 * DAY)
            window = AgendaWindow(since, at)
            built = await rule_items(session, Meeting(kind=kind), at, window)
            records = await load_case_records(session, ids, at)
            expected = []
            for case_id, r in records.items():
                if r.case.status != "open":
                    continue
                flag_window = Window(window.start, window.end)
                if kind == "dram":
                    flags = dram_reasons(r, at, flag_window)
                else:
                    flags = mace_reasons(r, at, flag_window)
                if flags:
                    current = latest_assessment(r.assessments, at)
                    expected.append(
                        ProposedItem(
                            case_id,
                            pseudonyms[case_id],
                            current.level if current else None,
                            [reason(f) for f in flags],
                        )
                    )
            assert len(built) > 10, at
            assert built == ordered(expected), at
