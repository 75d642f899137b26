"""Cases, their identifiers and subject look-up."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.cases import service
from app.cases.schemas import (
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseUpdate,
    IdentifierIn,
    IdentifierRead,
    StatusChange,
    SubjectMatch,
)
from app.cases.subjects import IdentifierScheme
from app.errors import PreconditionRequired
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page

router = APIRouter(tags=["cases"])


def _case_id(result: CaseRead) -> uuid.UUID:
    return result.id


@router.post("/cases", status_code=201, response_model=CaseRead, responses=problems(403, 409))
async def create_case(
    body: CaseCreate, ctx: Ctx = context("case.create", audit="case.create", creates=True)
) -> Response:
    return await ctx.create(
        lambda: service.create_case(
            ctx.session, ctx.principal, body, secret=ctx.settings.subject_key_secret
        ),
        case_id_of=_case_id,
    )


@router.get("/cases", response_model=Page[CaseRead], responses=problems(403))
async def list_cases(
    status: CaseStatus | None = None,
    risk_level: Annotated[str | None, Query(pattern="^(none|low|medium|high)$")] = None,
    flag: Annotated[str | None, Query(max_length=40)] = None,
    lead_agency: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    ctx: Ctx = context("case.read", audit="case.list"),
) -> Page[CaseRead]:
    return await service.list_cases(
        ctx.session,
        ctx.principal,
        status=status,
        risk_level=risk_level,
        flag=flag,
        lead_agency=lead_agency,
        limit=limit,
        cursor=cursor,
    )


@router.get("/cases/{case_id}", response_model=CaseRead, responses=problems(403, 404))
async def get_case(
    case_id: uuid.UUID, response: Response, ctx: Ctx = context("case.read", audit="case.read")
) -> CaseRead:
    case = await service.get_case(ctx.session, ctx.principal, case_id)
    response.headers["ETag"] = service.etag(case.version)
    return case


@router.patch("/cases/{case_id}", response_model=CaseRead, responses=problems(403, 404, 412, 428))
async def update_case(
    case_id: uuid.UUID,
    body: CaseUpdate,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ctx: Ctx = context("case.write", audit="case.update"),
) -> CaseRead:
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag from GET /cases/{id}")
    case = await service.update_case(ctx.session, ctx.principal, case_id, body, if_match)
    response.headers["ETag"] = service.etag(case.version)
    return case


@router.post("/cases/{case_id}/close", response_model=CaseRead, responses=problems(403, 404, 409))
async def close_case(
    case_id: uuid.UUID, body: StatusChange, ctx: Ctx = context("case.close", audit="case.close")
) -> CaseRead:
    return await service.change_status(ctx.session, ctx.principal, case_id, body, CaseStatus.closed)


@router.post("/cases/{case_id}/reopen", response_model=CaseRead, responses=problems(403, 404, 409))
async def reopen_case(
    case_id: uuid.UUID, body: StatusChange, ctx: Ctx = context("case.close", audit="case.reopen")
) -> CaseRead:
    return await service.change_status(ctx.session, ctx.principal, case_id, body, CaseStatus.open)


@router.post(
    "/cases/{case_id}/identifiers",
    status_code=201,
    response_model=IdentifierRead,
    responses=problems(403, 404, 409),
)
async def link_identifier(
    case_id: uuid.UUID,
    body: IdentifierIn,
    ctx: Ctx = context("record.create", audit="case.identifier.link", creates=True),
) -> Response:
    return await ctx.create(
        lambda: service.link_identifier(
            ctx.session, ctx.principal, case_id, body, secret=ctx.settings.subject_key_secret
        )
    )


@router.get("/subjects/lookup", response_model=SubjectMatch, responses=problems(403, 404))
async def lookup_subject(
    scheme: IdentifierScheme,
    value: Annotated[str, Query(min_length=1, max_length=100)],
    ctx: Ctx = context("subject.lookup", audit="subject.lookup"),
) -> SubjectMatch:
    match = await service.lookup_subject(
        ctx.session, ctx.principal, scheme, value, secret=ctx.settings.subject_key_secret
    )
    ctx.about_case(match.case_id)
    return match
