"""A small demo partnership: the six agency kinds, a handful of cases, a coordinator key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.auth.agencies import create_agency, create_api_key
from app.auth.keys import authenticate
from app.auth.schemas import AgencyCreate, ApiKeyCreate
from app.cases.schemas import CaseCreate, IdentifierIn
from app.cases.service import create_case
from app.config import Settings
from app.db import Database
from app.models import Agency, AgencyKind, Case, Role

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
            for i, spec in enumerate(CASES):
                spec = dict(spec)
                ref = spec.pop("ref")
                await create_case(
                    session,
                    principal,
                    CaseCreate(
                        **spec,
                        referral_date=today - dt.timedelta(days=30 * (i + 1)),
                        identifiers=[IdentifierIn(scheme="agency_local", value=ref)],
                    ),
                    secret=settings.subject_key_secret,
                )
    return key.key
