"""The ceiling: a bare FastAPI app on the same stack, doing the least the real routes must do.

`POST /cases/{case_id}/assessments` validates the same body with the same pydantic model
(`AssessmentCreate`) and inserts one row, through SQLAlchemy async on the same driver
(asyncpg), into a table shaped like `assessments` (same columns and indexes). `GET
/cases/{case_id}` selects one case row and returns it through a response model. No auth, no
audit, no flags: what is left is FastAPI, pydantic, SQLAlchemy, the driver and PostgreSQL.

Run: `RISKREG_DATABASE_URL=... uvicorn bench.ceiling:app --port 8001` (1 worker).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.types import JSON, Uuid

from app.db import Database, utcnow
from app.models import Case
from app.risk.schemas import AssessmentCreate

metadata = MetaData()
# Created by bench/run.py as `CREATE TABLE ... (LIKE assessments INCLUDING ALL)`.
ceiling_assessments = Table(
    "bench_ceiling_assessments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid),
    Column("agency_id", Uuid),
    Column("assessed_at", DateTime(timezone=True)),
    Column("tool_version", String(40)),
    Column("indicators", JSON),
    Column("score", Integer),
    Column("calculated_level", String(10)),
    Column("judgement_level", String(10)),
    Column("judgement_rationale", Text),
    Column("level", String(10)),
    Column("next_review_due", DateTime(timezone=True)),
    Column("notes", Text),
    Column("corrects_id", Uuid),
    Column("recorded_at", DateTime(timezone=True)),
)

AGENCY = uuid.UUID(int=0)


class Created(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    assessed_at: dt.datetime
    indicators: list[str]
    recorded_at: dt.datetime


class CaseRow(BaseModel):
    id: uuid.UUID
    pseudonym: str
    status: str
    birth_month: str | None
    sex: str
    current_level: str | None
    version: int


db = Database(os.environ["RISKREG_DATABASE_URL"])
app = FastAPI(title="riskreg ceiling")


@app.post("/cases/{case_id}/assessments", status_code=201, response_model=Created)
async def create_assessment(case_id: uuid.UUID, body: AssessmentCreate) -> Created:
    row = {
        "id": uuid.uuid4(),
        "case_id": case_id,
        "agency_id": AGENCY,
        "assessed_at": body.assessed_at,
        "tool_version": "2025.1",
        "indicators": body.indicators,
        "score": 0,
        "calculated_level": "none",
        "judgement_level": None,
        "judgement_rationale": None,
        "level": "none",
        "next_review_due": None,
        "notes": body.notes,
        "corrects_id": None,
        "recorded_at": utcnow(),
    }
    async with db.transaction() as session:
        await session.execute(insert(ceiling_assessments).values(**row))
    return Created(**row)


@app.get("/cases/{case_id}", response_model=CaseRow)
async def read_case(case_id: uuid.UUID) -> CaseRow:
    async with db.sessionmaker() as session:
        row = (
            await session.execute(
                select(
                    Case.id,
                    Case.pseudonym,
                    Case.status,
                    Case.birth_month,
                    Case.sex,
                    Case.current_level,
                    Case.version,
                ).where(Case.id == case_id)
            )
        ).first()
    if row is None:
        raise HTTPException(404)
    return CaseRow.model_validate(row._asdict())
