"""Risk: the tool, assessments, missing episodes, events, flags, chronology, language check."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.cases.schemas import FlagRead
from app.risk import chronology as chronology_service
from app.risk import service
from app.risk import tool as risk_tool
from app.risk.schemas import (
    AssessmentCreate,
    AssessmentRead,
    CaseFlags,
    ChronologyEntry,
    EventCreate,
    EventRead,
    LanguageCheckIn,
    LanguageCheckOut,
    MissingEpisodeCreate,
    MissingEpisodeEnd,
    MissingEpisodeRead,
    ReturnInterview,
)
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page

# Validate the packaged tool at start-up: a broken default fails the import, not a request.
risk_tool.default_tool()

router = APIRouter(tags=["risk"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=400)]


def _case_of(result: AssessmentRead | MissingEpisodeRead | EventRead) -> uuid.UUID:
    return result.case_id


@router.get("/risk/tool", response_model=risk_tool.RiskTool, responses=problems(403, 404))
async def get_risk_tool(
    version: Annotated[str | None, Query(max_length=40, description="default: in force")] = None,
    ctx: Ctx = context("risk_tool.read"),
) -> risk_tool.RiskTool:
    if version:
        return await risk_tool.tool_version(ctx.session, version)
    return await risk_tool.active_tool(ctx.session)


@router.post(
    "/risk/tool", status_code=201, response_model=risk_tool.RiskTool, responses=problems(403, 409)
)
async def load_risk_tool(
    body: risk_tool.RiskTool,
    ctx: Ctx = context("risk_tool.edit", audit="risk_tool.load", creates=True),
) -> Response:
    return await ctx.create(lambda: risk_tool.load_tool(ctx.session, body))


@router.post(
    "/cases/{case_id}/assessments",
    status_code=201,
    response_model=AssessmentRead,
    responses=problems(403, 404, 409),
)
async def create_assessment(
    case_id: uuid.UUID,
    body: AssessmentCreate,
    ctx: Ctx = context("record.create", audit="assessment.create", creates=True),
) -> Response:
    return await ctx.create(
        lambda: service.create_assessment(ctx.session, ctx.principal, case_id, body),
        case_id_of=_case_of,
    )


@router.get(
    "/cases/{case_id}/assessments",
    response_model=Page[AssessmentRead],
    responses=problems(403, 404),
)
async def list_assessments(
    case_id: uuid.UUID,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    ctx: Ctx = context("case.read", audit="assessment.list"),
) -> Page[AssessmentRead]:
    return await service.list_assessments(
        ctx.session, ctx.principal, case_id, limit=limit, cursor=cursor
    )


@router.post(
    "/cases/{case_id}/missing-episodes",
    status_code=201,
    response_model=MissingEpisodeRead,
    responses=problems(403, 404, 409),
)
async def create_missing_episode(
    case_id: uuid.UUID,
    body: MissingEpisodeCreate,
    ctx: Ctx = context("record.create", audit="episode.create", creates=True),
) -> Response:
    return await ctx.create(
        lambda: service.create_episode(ctx.session, ctx.principal, case_id, body),
        case_id_of=_case_of,
    )


@router.get(
    "/cases/{case_id}/missing-episodes",
    response_model=Page[MissingEpisodeRead],
    responses=problems(403, 404),
)
async def list_missing_episodes(
    case_id: uuid.UUID,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    ctx: Ctx = context("case.read", audit="episode.list"),
) -> Page[MissingEpisodeRead]:
    return await service.list_episodes(
        ctx.session, ctx.principal, case_id, limit=limit, cursor=cursor
    )


@router.patch(
    "/missing-episodes/{episode_id}",
    response_model=MissingEpisodeRead,
    responses=problems(403, 404, 409),
)
async def end_missing_episode(
    episode_id: uuid.UUID,
    body: MissingEpisodeEnd,
    ctx: Ctx = context("record.create", audit="episode.update"),
) -> MissingEpisodeRead:
    episode = await service.end_episode(ctx.session, ctx.principal, episode_id, body)
    ctx.about_case(episode.case_id)
    return episode


@router.post(
    "/missing-episodes/{episode_id}/return-interview",
    status_code=200,
    response_model=MissingEpisodeRead,
    responses=problems(403, 404, 409),
)
async def record_return_interview(
    episode_id: uuid.UUID,
    body: ReturnInterview,
    ctx: Ctx = context("record.create", audit="episode.return_interview", creates=True),
) -> Response:
    return await ctx.create(
        lambda: service.record_return_interview(ctx.session, ctx.principal, episode_id, body),
        status_code=200,
        case_id_of=_case_of,
    )


@router.post(
    "/cases/{case_id}/events",
    status_code=201,
    response_model=EventRead,
    responses=problems(403, 404, 409),
)
async def create_event(
    case_id: uuid.UUID,
    body: EventCreate,
    ctx: Ctx = context("record.create", audit="event.create", creates=True),
) -> Response:
    return await ctx.create(
        lambda: service.create_event(ctx.session, ctx.principal, case_id, body),
        case_id_of=_case_of,
    )


@router.get("/cases/{case_id}/events", response_model=Page[EventRead], responses=problems(403, 404))
async def list_events(
    case_id: uuid.UUID,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    ctx: Ctx = context("case.read", audit="event.list"),
) -> Page[EventRead]:
    return await service.list_events(
        ctx.session, ctx.principal, case_id, limit=limit, cursor=cursor
    )


@router.get("/cases/{case_id}/flags", response_model=list[FlagRead], responses=problems(403, 404))
async def case_flags(
    case_id: uuid.UUID, ctx: Ctx = context("case.read", audit="flag.read")
) -> list[FlagRead]:
    return await service.case_flags(ctx.session, ctx.principal, case_id)


@router.get("/flags", response_model=Page[CaseFlags], responses=problems(403))
async def list_flags(
    code: Annotated[str | None, Query(max_length=40, description="one flag code")] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    ctx: Ctx = context("case.read", audit="flag.list"),
) -> Page[CaseFlags]:
    return await service.flagged_cases(
        ctx.session, ctx.principal, code=code, limit=limit, cursor=cursor
    )


@router.get(
    "/cases/{case_id}/chronology",
    response_model=Page[ChronologyEntry],
    responses=problems(403, 404),
)
async def case_chronology(
    case_id: uuid.UUID,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    ctx: Ctx = context("case.read", audit="chronology.read"),
) -> Page[ChronologyEntry]:
    return await chronology_service.chronology(
        ctx.session, ctx.principal, case_id, limit=limit, cursor=cursor
    )


@router.post("/language/check", response_model=LanguageCheckOut, responses=problems(403))
async def check_language(
    body: LanguageCheckIn, ctx: Ctx = context("language.check")
) -> LanguageCheckOut:
    return service.check_language(body.text)
