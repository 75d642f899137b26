"""Meeting series, meetings, agendas, decisions, actions and the calendar feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from app.api.context import Ctx, context
from app.api.openapi import problems
from app.db import utcnow
from app.meetings import decisions, publishing, series
from app.meetings.ics import calendar_feed
from app.meetings.render import agenda_charts, agenda_csv, agenda_html
from app.meetings.schemas import (
    ActionRead,
    ActionUpdate,
    AgendaItemRead,
    AgendaRead,
    DecisionCreate,
    DecisionRead,
    IsoDate,
    LateItemCreate,
    MeetingKind,
    MeetingRead,
    SeriesRead,
    SeriesUpdate,
)
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page

router = APIRouter(tags=["meetings"])

AgendaFormat = Literal["json", "csv", "html"]
_CSV = "text/csv; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_AGENDA_RESPONSES = {
    **problems(403, 404),
    200: {"content": {"application/json": {}, _CSV: {}, _HTML: {}}},
}


@router.get("/meeting-series", response_model=list[SeriesRead], responses=problems(403))
async def list_series(ctx: Ctx = context("meeting.read")) -> list[SeriesRead]:
    return [series.series_read(s) for s in await series.all_series(ctx.session)]


@router.get("/meeting-series/{code}", response_model=SeriesRead, responses=problems(403, 404))
async def get_series(code: str, ctx: Ctx = context("meeting.read")) -> SeriesRead:
    return await series.get_series(ctx.session, ctx.principal, code)


@router.patch("/meeting-series/{code}", response_model=SeriesRead, responses=problems(403, 404))
async def update_series(
    code: str, body: SeriesUpdate, ctx: Ctx = context("series.edit", audit="series.update")
) -> SeriesRead:
    return await series.update_series(ctx.session, ctx.principal, code, body)


@router.get("/meetings", response_model=Page[MeetingRead], responses=problems(403))
async def list_meetings(
    kind: MeetingKind | None = None,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    ctx: Ctx = context("meeting.read"),
) -> Page[MeetingRead]:
    return await publishing.meeting_page(
        ctx.session, ctx.principal, kind=kind, start=from_, end=to, limit=limit, cursor=cursor
    )


@router.get("/meetings/{meeting_id}", response_model=MeetingRead, responses=problems(403, 404))
async def get_meeting(meeting_id: uuid.UUID, ctx: Ctx = context("meeting.read")) -> MeetingRead:
    return publishing.meeting_read(await publishing.get_meeting(ctx.session, meeting_id))


async def _render(ctx: Ctx, agenda: AgendaRead, fmt: AgendaFormat) -> Response:
    name = f"{agenda.meeting.kind.value}-{agenda.meeting.date.isoformat()}-agenda"
    if fmt == "csv":
        return Response(
            agenda_csv(agenda),
            media_type=_CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "html":
        return Response(
            agenda_html(agenda, await agenda_charts(ctx.session, agenda)),
            media_type=_HTML,
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )
    return Response(agenda.model_dump_json(), media_type="application/json")


@router.get("/meetings/{meeting_id}/agenda", response_model=AgendaRead, responses=_AGENDA_RESPONSES)
async def get_agenda(
    meeting_id: uuid.UUID,
    format: AgendaFormat = "json",
    ctx: Ctx = context("agenda.read", audit="agenda.read"),
) -> Response:
    return await _render(
        ctx, await publishing.read_agenda(ctx.session, ctx.principal, meeting_id), format
    )


@router.get("/agendas/{kind}/{date}", response_model=AgendaRead, responses=_AGENDA_RESPONSES)
async def get_agenda_by_date(
    kind: MeetingKind,
    date: Annotated[str, Path(pattern=r"^(\d{4}-\d{2}-\d{2}|today|next)$")],
    format: AgendaFormat = "json",
    ctx: Ctx = context("agenda.read", audit="agenda.read"),
) -> Response:
    meeting = await publishing.meeting_on(ctx.session, ctx.principal, kind, date)
    return await _render(ctx, await publishing.agenda_of(ctx.session, meeting, utcnow()), format)


@router.post(
    "/meetings/{meeting_id}/agenda/publish",
    response_model=AgendaRead,
    responses=problems(403, 404, 409),
)
async def publish_agenda(
    meeting_id: uuid.UUID, ctx: Ctx = context("agenda.edit", audit="agenda.publish")
) -> AgendaRead:
    return await publishing.publish_now(ctx.session, ctx.principal, meeting_id)


@router.post(
    "/meetings/{meeting_id}/agenda/items",
    status_code=201,
    response_model=AgendaItemRead,
    responses=problems(403, 404, 409),
)
async def add_agenda_item(
    meeting_id: uuid.UUID,
    body: LateItemCreate,
    ctx: Ctx = context("agenda.edit", audit="agenda.item.add", creates=True),
) -> Response:
    ctx.about_case(body.case_id)
    return await ctx.create(
        lambda: publishing.add_late_item(ctx.session, ctx.principal, meeting_id, body)
    )


@router.post(
    "/meetings/{meeting_id}/close", response_model=MeetingRead, responses=problems(403, 404, 409)
)
async def close_meeting(
    meeting_id: uuid.UUID, ctx: Ctx = context("agenda.edit", audit="meeting.close")
) -> MeetingRead:
    return await publishing.close_meeting(ctx.session, ctx.principal, meeting_id)


@router.post(
    "/meetings/{meeting_id}/decisions",
    status_code=201,
    response_model=DecisionRead,
    responses=problems(403, 404, 409),
)
async def record_decision(
    meeting_id: uuid.UUID,
    body: DecisionCreate,
    ctx: Ctx = context("decision.record", audit="decision.record", creates=True),
) -> Response:
    ctx.about_case(body.case_id)
    return await ctx.create(
        lambda: decisions.record_decision(ctx.session, ctx.principal, meeting_id, body)
    )


@router.get(
    "/meetings/{meeting_id}/decisions",
    response_model=list[DecisionRead],
    responses=problems(403, 404),
)
async def list_decisions(
    meeting_id: uuid.UUID, ctx: Ctx = context("agenda.read", audit="decision.list")
) -> list[DecisionRead]:
    return await decisions.list_decisions(ctx.session, ctx.principal, meeting_id)


@router.get("/actions", response_model=Page[ActionRead], responses=problems(403))
async def list_actions(
    status: Annotated[str | None, Query(pattern="^(open|done|cancelled|overdue)$")] = None,
    owner_agency: Annotated[str | None, Query(max_length=40)] = None,
    case_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    ctx: Ctx = context("action.read", audit="action.list"),
) -> Page[ActionRead]:
    if case_id:
        ctx.about_case(case_id)
    return await decisions.list_actions(
        ctx.session,
        ctx.principal,
        status=status,
        owner_agency=owner_agency,
        case_id=case_id,
        limit=limit,
        cursor=cursor,
    )


@router.patch("/actions/{action_id}", response_model=ActionRead, responses=problems(403, 404))
async def update_action(
    action_id: uuid.UUID,
    body: ActionUpdate,
    ctx: Ctx = context("action.update", audit="action.update"),
) -> ActionRead:
    action = await decisions.update_action(ctx.session, ctx.principal, action_id, body)
    ctx.about_case(action.case_id)
    return action


@router.get(
    "/calendar.ics",
    responses={**problems(403), 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
)
async def calendar(kind: MeetingKind | None = None, ctx: Ctx = context("meeting.read")) -> Response:
    now = utcnow()
    meetings = await publishing.list_meetings(
        ctx.session,
        ctx.principal,
        kind=kind,
        start=(now - dt.timedelta(days=31)).date(),
        end=None,
        limit=2000,
    )
    body = calendar_feed(meetings, now, ctx.request.url.hostname or "riskreg")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="riskreg-meetings.ics"'},
    )
