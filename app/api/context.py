"""The per-request unit of work: session, caller, audit entry and idempotency, in one place.

Every route that touches data depends on `context(...)`. It authenticates, checks the role's
permission, and after the route returns it writes the audit entry and commits *before* the
response is sent (`scope="function"`), so a 2xx always means committed. On any error it rolls
back and still records the refused attempt in the audit log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.audit.service import AuditRecord, append
from app.auth.keys import authenticate
from app.auth.principal import Principal
from app.config import Settings
from app.db import Database
from app.errors import AppError

log = logging.getLogger("riskreg.request")


class Ctx:
    """What a route gets: the session, the caller, and the request's audit and idempotency."""

    def __init__(
        self,
        request: Request,
        session: AsyncSession,
        principal: Principal,
        audit_action: str | None,
        idempotency_key: str | None,
    ) -> None:
        self.request = request
        self.session = session
        self.principal = principal
        self.audit_action = audit_action
        self.audit_case_id: uuid.UUID | None = _path_case_id(request)
        self.idempotency_key = idempotency_key

    @property
    def db(self) -> Database:
        return self.request.app.state.db  # type: ignore[no-any-return]

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings  # type: ignore[no-any-return]

    @property
    def request_id(self) -> str:
        return str(getattr(self.request.state, "request_id", "-"))

    def about_case(self, case_id: uuid.UUID) -> None:
        """Name the case this request concerns in its audit entry."""
        self.audit_case_id = case_id

    async def create(
        self,
        produce: Callable[[], Awaitable[BaseModel]],
        *,
        status_code: int = 201,
        case_id_of: Callable[[Any], uuid.UUID | None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Run a creating operation once per Idempotency-Key and return its JSON response."""
        fingerprint = ""
        if self.idempotency_key:
            fingerprint = idempotency.request_fingerprint(
                self.request.method, self.request.url.path, await self.request.body()
            )
            stored = await idempotency.begin(
                self.session,
                api_key_id=self.principal.key_id,
                key=self.idempotency_key,
                fingerprint=fingerprint,
            )
            if stored is not None:
                return Response(
                    stored.body,
                    status_code=stored.status_code,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
        result = await produce()
        if case_id_of is not None:
            case_id = case_id_of(result)
            if case_id is not None:
                self.about_case(case_id)
        body = result.model_dump_json()
        if self.idempotency_key:
            idempotency.remember(
                self.session,
                api_key_id=self.principal.key_id,
                key=self.idempotency_key,
                fingerprint=fingerprint,
                status_code=status_code,
                body=body,
            )
        return Response(
            body, status_code=status_code, media_type="application/json", headers=headers
        )


def _path_case_id(request: Request) -> uuid.UUID | None:
    raw = request.path_params.get("case_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, AppError):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 500


async def _record_refusal(db: Database, ctx: Ctx, exc: BaseException) -> None:
    try:
        async with db.transaction() as session:
            await append(session, _audit_record(ctx, _status_of(exc)))
    except Exception:  # the original error matters more than a failed audit write
        log.exception("could not write the audit entry for a refused request")


def _audit_record(ctx: Ctx, outcome: int) -> AuditRecord:
    p = ctx.principal
    return AuditRecord(
        action=ctx.audit_action or "-",
        outcome=outcome,
        request_id=ctx.request_id,
        key_id=p.key_id,
        agency=p.agency_code,
        role=p.role.value,
        case_id=ctx.audit_case_id,
    )


def _success_status(request: Request) -> int:
    route = request.scope.get("route")
    return int(getattr(route, "status_code", None) or 200)


@asynccontextmanager
async def _unit_of_work(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    permission: str | None,
    audit: str | None,
    idempotency_key: str | None,
) -> AsyncIterator[Ctx]:
    db: Database = request.app.state.db
    async with db.sessionmaker() as session:
        principal = await authenticate(
            session,
            f"Bearer {credentials.credentials}" if credentials else None,
            request.app.state.key_cache,
        )
        ctx = Ctx(request, session, principal, audit, idempotency_key)
        try:
            if permission:
                principal.require(permission)
            yield ctx
            if audit:
                await append(session, _audit_record(ctx, _success_status(request)))
            await session.commit()
        except BaseException as exc:
            await session.rollback()
            if audit:
                await _record_refusal(db, ctx, exc)
            raise


bearer = HTTPBearer(auto_error=False, description="an API key issued by an admin")


def context(
    permission: str | None = None, *, audit: str | None = None, creates: bool = False
) -> Any:
    """Dependency factory: authenticate, require `permission`, audit the request as `audit`."""

    if creates:

        async def _creating(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
            idempotency_key: Annotated[
                str | None,
                Header(
                    alias="Idempotency-Key",
                    max_length=255,
                    description="a retry with the same key and body returns the first response",
                ),
            ] = None,
        ) -> AsyncIterator[Ctx]:
            async with _unit_of_work(
                request, credentials, permission, audit, idempotency_key
            ) as ctx:
                yield ctx

        return Depends(_creating, scope="function")

    async def _context(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> AsyncIterator[Ctx]:
        async with _unit_of_work(request, credentials, permission, audit, None) as ctx:
            yield ctx

    return Depends(_context, scope="function")
