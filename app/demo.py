"""A small demo partnership: the six agency kinds, a handful of cases, a coordinator key."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.agencies import create_agency, create_api_key
from app.auth.keys import authenticate
from app.auth.principal import Principal
from app.auth.schemas import AgencyCreate, ApiKeyCreate
from app.cases.schemas import CaseCreate, IdentifierIn
from app.cases.service import create_case
from app.config import Settings
from app.db import Database, utcnow
from app.models import Agency, AgencyKind, Case, Role
from app.risk.schemas import (
    AssessmentCreate,
    EventCreate,
    EventType,
    JudgementIn,
    MissingEpisodeCreate,
)
from app.risk.service import create_assessment, create_episode, create_event
from app.risk.tool import Level, ReferralService

AGENCIES = [
    ("demo-council", "Demo City Council Children's Services", AgencyKind.local_authority),
    ("demo-police", "Demo Police", AgencyKind.police),
    ("demo-health", "Demo Integrated Care Board", AgencyKind.health),
    ("demo-education", "Demo Learning Trust", AgencyKind.education),
    ("demo-yjs", "Demo Youth Justice Service", AgencyKind.youth_justice),
    ("demo-voluntary", "Demo Exploitation Support Charity", AgencyKind.voluntary),
]

# Synthetic children: no real person behind any of these.
CASES = [
    dict(
        birth_month="2010-04",
        sex="female",
        ethnicity="WBRI",
        disability=False,
        looked_after=True,
        lead_agency="demo-council",
        referral_source="demo-police",
        ref="DEMO-0001",
    ),
    dict(
        birth_month="2009-11",
        sex="male",
        ethnicity="APKN",
        disability=True,
        looked_after=False,
        lead_agency="demo-council",
        referral_source="demo-education",
        ref="DEMO-0002",
    ),
    dict(
        birth_month="2012-02",
        sex="female",
        ethnicity="MWBC",
        disability=None,
        looked_after=False,
        lead_agency="demo-council",
        referral_source="demo-health",
        ref="DEMO-0003",
    ),
    dict(
        birth_month="2008-07",
        sex="male",
        ethnicity="WBRI",
        disability=False,
        looked_after=True,
        lead_agency="demo-council",
        referral_source="demo-yjs",
        ref="DEMO-0004",
    ),
    dict(
        birth_month="2011-09",
        sex="female",
        ethnicity="BAFR",
        disability=False,
        looked_after=False,
        lead_agency="demo-council",
        referral_source="demo-voluntary",
        ref="DEMO-0005",
    ),
]


async def load_demo(db: Database, settings: Settings) -> str:
    """Load once (a second run adds nothing but a fresh key); returns a coordinator key."""
    async with db.transaction() as session:
        existing = set(await session.scalars(select(Agency.code)))
        for code, name, kind in AGENCIES:
            if code not in existing:
                await create_agency(session, AgencyCreate(code=code, name=name, kind=kind))
        key = await create_api_key(
            session,
            ApiKeyCreate(agency="demo-council", role=Role.coordinator, name="demo coordinator"),
        )
        principal = await authenticate(session, f"Bearer {key.key}")
        has_cases = await session.scalar(select(func.count()).select_from(Case))
        if not has_cases:
            today = dt.date.today()
            created = []
            for i, spec in enumerate(CASES):
                spec = dict(spec)
                ref = spec.pop("ref")
                case = await create_case(
                    session,
                    principal,
                    CaseCreate(
                        **spec,
                        referral_date=today - dt.timedelta(days=30 * (i + 1)),
                        identifiers=[IdentifierIn(scheme="agency_local", value=ref)],
                    ),
                    secret=settings.subject_key_secret,
                )
                created.append(case.id)
            police_key = await create_api_key(
                session,
                ApiKeyCreate(agency="demo-police", role=Role.partner, name="demo police system"),
            )
            police = await authenticate(session, f"Bearer {police_key.key}")
            await _demo_records(session, principal, police, created)
    return key.key


async def _demo_records(
    session: AsyncSession, council: Principal, police: Principal, cases: list[uuid.UUID]
) -> None:
    """Risk records that make `make run` show flags: synthetic, like the cases."""
    now = utcnow()
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    first, second, third, fourth, _fifth = cases

    # High risk, review overdue, a return home interview overdue, three placement moves.
    await create_assessment(
        session,
        police,
        first,
        AssessmentCreate(
            assessed_at=now - 20 * day,
            indicators=["older_partner", "missing_repeat", "unexplained_money_gifts"],
            notes="Seen getting into cars with unknown adults near the retail park.",
        ),
    )
    await create_episode(
        session,
        police,
        first,
        MissingEpisodeCreate(started_at=now - 6 * day, ended_at=now - 5 * day),
    )
    for days in (200, 90, 12):
        await create_event(
            session,
            council,
            first,
            EventCreate(type=EventType.placement_move, occurred_at=now - days * day),
        )

    # The tool says high; professional judgement says medium (and the rationale needs work).
    await create_assessment(
        session,
        council,
        second,
        AssessmentCreate(
            assessed_at=now - 3 * hour,
            indicators=["county_lines", "out_of_area", "multiple_phones", "persistent_absence"],
            judgement=JudgementIn(
                level=Level.medium,
                rationale="Stable at home this week; he is choosing to go to the coast.",
            ),
        ),
    )
    await create_event(
        session,
        police,
        second,
        EventCreate(type=EventType.arrest, occurred_at=now - 2 * hour),
    )

    # Substance use recorded five weeks ago; the only referral since was to CAMHS.
    await create_assessment(
        session,
        council,
        third,
        AssessmentCreate(assessed_at=now - 35 * day, indicators=["substance_use", "self_harm"]),
    )
    await create_event(
        session,
        council,
        third,
        EventCreate(
            type=EventType.referral, service=ReferralService.camhs, occurred_at=now - 30 * day
        ),
    )

    # Missing now; police and council disagree about the level.
    await create_assessment(
        session,
        police,
        fourth,
        AssessmentCreate(
            assessed_at=now - 2 * day,
            indicators=["drugs_carried_or_stored", "weapons", "associates_of_concern"],
        ),
    )
    await create_assessment(
        session,
        council,
        fourth,
        AssessmentCreate(assessed_at=now - day, indicators=["persistent_absence"]),
    )
    await create_episode(session, police, fourth, MissingEpisodeCreate(started_at=now - 5 * hour))
    # The fifth case has no assessment yet.
