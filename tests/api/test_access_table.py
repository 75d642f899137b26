"""Every endpoint × every role × own-agency and other-agency case: 401, 403, 404 or success.

`OPERATIONS` must name every operation the OpenAPI document lists: a new endpoint without an
entry here fails `test_every_operation_has_an_access_rule`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pytest

from app.auth.agencies import create_api_key
from app.auth.keys import authenticate
from app.auth.schemas import ApiKeyCreate
from app.cases.schemas import CaseCreate, CaseStatus, IdentifierIn, StatusChange
from app.cases.service import change_status, create_case
from app.models import Role
from app.risk.schemas import MissingEpisodeCreate
from app.risk.service import create_episode
from app.webhooks.schemas import WebhookCreate
from app.webhooks.service import create_subscription
from tests.conftest import TEST_SECRET, auth

ROLES = ("admin", "coordinator", "chair", "practitioner", "partner", "auditor")
EVERYONE = frozenset(ROLES)
READERS = frozenset({"admin", "coordinator", "chair", "practitioner", "partner"})
WRITERS = frozenset({"admin", "coordinator", "practitioner", "partner"})
EVERY_CASE = frozenset({"admin", "coordinator", "chair"})
UNAUTHENTICATED = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")})


def _now(minutes_ago: int = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).isoformat()


@dataclass
class World:
    """What each test starts with: a council case (own) and a health case (other)."""

    cases: dict[str, str] = field(default_factory=dict)  # own/other/own_closed/other_closed
    episodes: dict[str, str] = field(default_factory=dict)  # own/other (ended)
    spare_key: str = ""
    webhook: str = ""
    meetings: dict[str, str] = field(default_factory=dict)  # dram_draft/dram_published/mace
    actions: dict[str, str] = field(default_factory=dict)  # own/other: owned by the lead agency


@dataclass(frozen=True)
class Op:
    allowed: frozenset[str]
    success: int
    path: Callable[[World, str], str]
    body: Callable[[World], Any] | None = None
    # For operations on a case: how a practitioner/partner of an agency NOT involved fares:
    # "hidden" (404, reads) or "postable" (allowed; posting makes the agency involved).
    unseen: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def case(suffix: str = "", closed: bool = False) -> Callable[[World, str], str]:
    return lambda w, scope: (
        f"/api/v1/cases/{w.cases[scope + ('_closed' if closed else '')]}{suffix}"
    )


def fixed(path: str) -> Callable[[World, str], str]:
    return lambda w, scope: path


def _tool(w: World) -> dict[str, Any]:
    tool = json.loads(resources.files("app.risk").joinpath("tools/default.json").read_text())
    tool["version"] = "test-2"
    return tool


OPERATIONS: dict[tuple[str, str], Op] = {
    ("GET", "/api/v1/agencies"): Op(EVERYONE, 200, fixed("/api/v1/agencies")),
    ("POST", "/api/v1/agencies"): Op(
        frozenset({"admin"}),
        201,
        fixed("/api/v1/agencies"),
        body=lambda w: {"code": "new-agency", "name": "New", "kind": "voluntary"},
    ),
    ("POST", "/api/v1/api-keys"): Op(
        frozenset({"admin"}),
        201,
        fixed("/api/v1/api-keys"),
        body=lambda w: {"agency": "police", "role": "partner", "name": "records"},
    ),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Op(
        frozenset({"admin"}), 204, lambda w, s: f"/api/v1/api-keys/{w.spare_key}"
    ),
    ("POST", "/api/v1/cases"): Op(WRITERS, 201, fixed("/api/v1/cases"), body=lambda w: {}),
    ("GET", "/api/v1/cases"): Op(READERS, 200, fixed("/api/v1/cases")),
    ("GET", "/api/v1/cases/{case_id}"): Op(READERS, 200, case(), unseen="hidden"),
    ("PATCH", "/api/v1/cases/{case_id}"): Op(
        WRITERS,
        200,
        case(),
        body=lambda w: {"looked_after": True},
        unseen="hidden",
        headers={"If-Match": '"v1"'},
    ),
    ("POST", "/api/v1/cases/{case_id}/close"): Op(
        frozenset({"admin", "coordinator"}),
        200,
        case("/close"),
        body=lambda w: {"reason": "safe"},
        unseen="hidden",
    ),
    ("POST", "/api/v1/cases/{case_id}/reopen"): Op(
        frozenset({"admin", "coordinator"}),
        200,
        case("/reopen", closed=True),
        body=lambda w: {"reason": "new concern"},
        unseen="hidden",
    ),
    ("POST", "/api/v1/cases/{case_id}/identifiers"): Op(
        WRITERS,
        201,
        case("/identifiers"),
        body=lambda w: {"scheme": "agency_local", "value": "NEW-1"},
        unseen="postable",
    ),
    ("GET", "/api/v1/subjects/lookup"): Op(
        WRITERS,
        200,
        fixed("/api/v1/subjects/lookup"),
        params={"scheme": "agency_local", "value": "OWN-1"},
    ),
    ("GET", "/api/v1/risk/tool"): Op(EVERYONE, 200, fixed("/api/v1/risk/tool")),
    ("POST", "/api/v1/risk/tool"): Op(
        frozenset({"admin"}), 201, fixed("/api/v1/risk/tool"), body=_tool
    ),
    ("POST", "/api/v1/cases/{case_id}/assessments"): Op(
        WRITERS,
        201,
        case("/assessments"),
        body=lambda w: {"assessed_at": _now(), "indicators": []},
        unseen="postable",
    ),
    ("GET", "/api/v1/cases/{case_id}/assessments"): Op(
        READERS, 200, case("/assessments"), unseen="hidden"
    ),
    ("POST", "/api/v1/cases/{case_id}/missing-episodes"): Op(
        WRITERS,
        201,
        case("/missing-episodes"),
        body=lambda w: {"started_at": _now(30)},
        unseen="postable",
    ),
    ("GET", "/api/v1/cases/{case_id}/missing-episodes"): Op(
        READERS, 200, case("/missing-episodes"), unseen="hidden"
    ),
    ("PATCH", "/api/v1/missing-episodes/{episode_id}"): Op(
        WRITERS,
        200,
        lambda w, s: f"/api/v1/missing-episodes/{w.episodes[s + '_open']}",
        body=lambda w: {"ended_at": _now()},
        unseen="postable",
    ),
    ("POST", "/api/v1/missing-episodes/{episode_id}/return-interview"): Op(
        WRITERS,
        200,
        lambda w, s: f"/api/v1/missing-episodes/{w.episodes[s]}/return-interview",
        body=lambda w: {"return_interview_at": _now()},
        unseen="postable",
    ),
    ("POST", "/api/v1/cases/{case_id}/events"): Op(
        WRITERS,
        201,
        case("/events"),
        body=lambda w: {"type": "placement_move", "occurred_at": _now()},
        unseen="postable",
    ),
    ("GET", "/api/v1/cases/{case_id}/events"): Op(READERS, 200, case("/events"), unseen="hidden"),
    ("GET", "/api/v1/cases/{case_id}/flags"): Op(READERS, 200, case("/flags"), unseen="hidden"),
    ("GET", "/api/v1/flags"): Op(READERS, 200, fixed("/api/v1/flags")),
    ("GET", "/api/v1/cases/{case_id}/chronology"): Op(
        READERS, 200, case("/chronology"), unseen="hidden"
    ),
    ("POST", "/api/v1/language/check"): Op(
        EVERYONE, 200, fixed("/api/v1/language/check"), body=lambda w: {"text": "a concern"}
    ),
    ("GET", "/api/v1/audit"): Op(frozenset({"admin", "auditor"}), 200, fixed("/api/v1/audit")),
    ("POST", "/api/v1/webhooks"): Op(
        frozenset({"admin", "partner"}),
        201,
        fixed("/api/v1/webhooks"),
        body=lambda w: {"url": "http://127.0.0.1:9/hook", "events": ["case.created"]},
    ),
    ("GET", "/api/v1/webhooks"): Op(
        frozenset({"admin", "partner"}), 200, fixed("/api/v1/webhooks")
    ),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Op(
        frozenset({"admin", "partner"}), 204, lambda w, s: f"/api/v1/webhooks/{w.webhook}"
    ),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): Op(
        frozenset({"admin", "partner"}),
        200,
        lambda w, s: f"/api/v1/webhooks/{w.webhook}/deliveries",
    ),
    # Meetings (issue 4): meeting times are for everyone; agendas and decisions hold case data.
    ("GET", "/api/v1/meeting-series"): Op(EVERYONE, 200, fixed("/api/v1/meeting-series")),
    ("GET", "/api/v1/meeting-series/{code}"): Op(
        EVERYONE, 200, fixed("/api/v1/meeting-series/dram")
    ),
    ("PATCH", "/api/v1/meeting-series/{code}"): Op(
        frozenset({"admin"}),
        200,
        fixed("/api/v1/meeting-series/mace"),
        body=lambda w: {"duration_minutes": 150},
    ),
    ("GET", "/api/v1/meetings"): Op(EVERYONE, 200, fixed("/api/v1/meetings")),
    ("GET", "/api/v1/meetings/{meeting_id}"): Op(
        EVERYONE, 200, lambda w, s: f"/api/v1/meetings/{w.meetings['dram_published']}"
    ),
    ("GET", "/api/v1/meetings/{meeting_id}/agenda"): Op(
        EVERY_CASE, 200, lambda w, s: f"/api/v1/meetings/{w.meetings['dram_published']}/agenda"
    ),
    ("GET", "/api/v1/agendas/{kind}/{date}"): Op(
        EVERY_CASE, 200, fixed("/api/v1/agendas/dram/2026-01-05")
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/agenda/publish"): Op(
        frozenset({"admin", "coordinator"}),
        200,
        lambda w, s: f"/api/v1/meetings/{w.meetings['dram_draft']}/agenda/publish",
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/agenda/items"): Op(
        frozenset({"admin", "coordinator"}),
        201,
        lambda w, s: f"/api/v1/meetings/{w.meetings['dram_draft']}/agenda/items",
        body=lambda w: {"case_id": w.cases["other"], "reason": "police intelligence"},
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/close"): Op(
        frozenset({"admin", "coordinator"}),
        200,
        lambda w, s: f"/api/v1/meetings/{w.meetings['dram_published']}/close",
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/decisions"): Op(
        EVERY_CASE,
        201,
        lambda w, s: f"/api/v1/meetings/{w.meetings['mace']}/decisions",
        body=lambda w: {
            "case_id": w.cases["own"],
            "progress": "improving",
            "summary": "Safety plan working.",
            "actions": [
                {"description": "Review", "owner_agency": "police", "due_date": "2030-01-31"}
            ],
        },
    ),
    ("GET", "/api/v1/meetings/{meeting_id}/decisions"): Op(
        EVERY_CASE, 200, lambda w, s: f"/api/v1/meetings/{w.meetings['mace']}/decisions"
    ),
    ("GET", "/api/v1/actions"): Op(READERS, 200, fixed("/api/v1/actions")),
    ("PATCH", "/api/v1/actions/{action_id}"): Op(
        WRITERS,
        200,
        lambda w, s: f"/api/v1/actions/{w.actions[s]}",
        body=lambda w: {"status": "done"},
        unseen="hidden",
    ),
    ("GET", "/api/v1/calendar.ics"): Op(EVERYONE, 200, fixed("/api/v1/calendar.ics")),
}


async def _meetings(session, w: World, principals) -> None:  # type: ignore[no-untyped-def]
    """A published DRAM and MACE with both cases on their agendas, a draft DRAM, and an
    action on each case owned by its lead agency (council: own, health: other)."""
    from app.meetings.series import ensure_series
    from app.models import Action, AgendaItem, Decision, Meeting

    await ensure_series(session)
    now = dt.datetime.now(dt.UTC)
    for name, kind, day, status in (
        ("dram_published", "dram", dt.date(2026, 1, 5), "published"),
        ("mace", "mace", dt.date(2026, 1, 6), "published"),
        ("dram_draft", "dram", dt.date(2030, 1, 7), "draft"),
    ):
        start = dt.datetime.combine(day, dt.time(9, 30), dt.UTC)
        meeting = Meeting(
            kind=kind,
            local_date=day,
            timezone="Europe/London",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            agenda_cutoff=start - dt.timedelta(hours=1),
            agenda_status=status,
            published_at=now if status == "published" else None,
            published_as_of=start - dt.timedelta(hours=1) if status == "published" else None,
        )
        session.add(meeting)
        await session.flush()
        w.meetings[name] = str(meeting.id)
        if status == "published":
            for scope in ("own", "other"):
                session.add(
                    AgendaItem(
                        meeting_id=meeting.id,
                        case_id=uuid.UUID(w.cases[scope]),
                        pseudonym=f"CE-{scope.upper()}",
                        risk_level=None,
                        priority=0,
                        reasons=[],
                        added_by="rule",
                    )
                )
    for scope, owner in (("own", "coordinator"), ("other", "health_practitioner")):
        decision = Decision(
            meeting_id=uuid.UUID(w.meetings["dram_published"]),
            meeting_kind="dram",
            case_id=uuid.UUID(w.cases[scope]),
            progress="no_change",
            summary="Reviewed.",
            agency_id=principals["coordinator"].agency_id,
        )
        session.add(decision)
        await session.flush()
        action = Action(
            decision_id=decision.id,
            position=0,
            meeting_id=decision.meeting_id,
            set_at_meeting_kind="dram",
            case_id=decision.case_id,
            description="Visit",
            owner_agency_id=principals[owner].agency_id,
            due_date=dt.date(2030, 1, 31),
        )
        session.add(action)
        await session.flush()
        w.actions[scope] = str(action.id)


def test_every_operation_has_an_access_rule(app):
    listed = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert listed - UNAUTHENTICATED == set(OPERATIONS), "add the new operation to OPERATIONS"


async def _world(db, keys) -> World:
    """Built through the domain layer in one transaction: fast, and not what is under test."""
    w = World()
    async with db.transaction() as session:
        p = {name: await authenticate(session, f"Bearer {keys[name]}") for name in keys}
        for scope, who, lead in (
            ("own", "coordinator", "council"),
            ("other", "health_practitioner", "health"),
        ):
            for suffix in ("", "_closed"):
                idents = (
                    [IdentifierIn(scheme="agency_local", value="OWN-1")]
                    if scope + suffix == "own"
                    else []
                )
                created = await create_case(
                    session,
                    p[who],
                    CaseCreate(lead_agency=lead, identifiers=idents),
                    secret=TEST_SECRET,
                )
                w.cases[scope + suffix] = str(created.id)
            await change_status(
                session,
                p["admin"],
                uuid.UUID(w.cases[scope + "_closed"]),
                StatusChange(reason="done"),
                CaseStatus.closed,
            )
            for ended, name in ((True, scope), (False, scope + "_open")):
                start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
                episode = await create_episode(
                    session,
                    p[who],
                    uuid.UUID(w.cases[scope]),
                    MissingEpisodeCreate(
                        started_at=start,
                        ended_at=start + dt.timedelta(minutes=50) if ended else None,
                    ),
                )
                w.episodes[name] = str(episode.id)
        spare = await create_api_key(
            session, ApiKeyCreate(agency="police", role=Role.partner, name="spare")
        )
        w.spare_key = str(spare.id)
        hook = await create_subscription(
            session,
            p["partner"],
            WebhookCreate(url="http://127.0.0.1:9/hook", events=["case.created"]),
            require_https=False,
            allow_private=True,
        )
        w.webhook = str(hook.id)
        await _meetings(session, w, p)
    return w


def _cases() -> list[tuple[str, str, str, str]]:
    out = []
    for (method, template), op in OPERATIONS.items():
        scopes = ("own", "other") if op.unseen else ("own",)
        for role in ROLES:
            for scope in scopes:
                out.append((method, template, role, scope))
    return out


def _expected(op: Op, role: str, scope: str) -> int:
    if role not in op.allowed:
        return 403
    if scope == "other" and role not in EVERY_CASE and op.unseen == "hidden":
        return 404
    return op.success


@pytest.mark.parametrize("method,template,role,scope", _cases())
async def test_access(client, db, keys, method, template, role, scope):
    op = OPERATIONS[(method, template)]
    world = await _world(db, keys)
    path = op.path(world, scope)
    kwargs: dict[str, Any] = {"headers": {**auth(keys[role]), **op.headers}, "params": op.params}
    if op.body is not None:
        kwargs["json"] = op.body(world)
    r = await client.request(method, path, **kwargs)
    assert r.status_code == _expected(op, role, scope), r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
    anonymous = await client.request(method, path, **{**kwargs, "headers": op.headers})
    assert anonymous.status_code == 401
