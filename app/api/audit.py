"""The audit log, for auditors and admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.audit import service
from app.audit.schemas import AuditEntryRead
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryRead], responses=problems(403))
async def list_audit(
    case_id: uuid.UUID | None = None,
    agency: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[
        int | None, Query(ge=1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ctx: Ctx = context("audit.read", audit="audit.read"),
) -> Page[AuditEntryRead]:
    return await service.list_entries(
        ctx.session, ctx.principal, case_id=case_id, agency=agency, before=cursor, limit=limit
    )
