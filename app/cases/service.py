"""Case use cases: create, read, list, change, close/reopen, link identifiers, look up subjects."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, TextClause, and_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.auth.access import involve, postable_case, readable_case
from app.auth.agencies import agency_codes
from app.auth.principal import Principal, readable_case_clause
from app.cases.pseudonym import new_pseudonym
from app.cases.schemas import (
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseUpdate,
    CurrentRisk,
    FlagRead,
    IdentifierIn,
    IdentifierRead,
    StatusChange,
    SubjectMatch,
)
from app.cases.subjects import IdentifierScheme, subject_digest
from app.db import UTCDateTime, precompiled, utcnow
from app.errors import Conflict, NotFound, PreconditionFailed, field_error
from app.models import Agency, Case, CaseAgency, CaseStatusChange, SubjectIdentifier
from app.pagination import decode_cursor, encode_cursor
from app.risk.evaluation import record_arrays, records_from_arrays, scan_flagged
from app.risk.flags import Window
from app.risk.service import check_flag_code
from app.risk.summary import risk_summaries, risk_summary
from app.schemas import DEFAULT_PAGE, MAX_PAGE, Page
from app.webhooks.outbox import emit


class DuplicateIdentifier(Conflict):
    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__(
            "an identifier in this request already belongs to a case",
            extra={"case_id": str(case_id)},
        )


async def agency_by_code(session: AsyncSession, code: str, loc: list[str | int]) -> Agency:
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise field_error(loc, f"no agency with code {code!r}")
    return agency


async def case_reads(session: AsyncSession, cases: Sequence[Case]) -> list[CaseRead]:
    """The API view of cases: a fixed number of queries whatever the number of cases."""
    if not cases:
        return []
    ids = [c.id for c in cases]
    involved: dict[uuid.UUID, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(CaseAgency.case_id, Agency.code)
        .join(Agency, Agency.id == CaseAgency.agency_id)
        .where(CaseAgency.case_id.in_(ids))
        .order_by(Agency.code)
    )
    for case_id, code in rows:
        involved[case_id].append(code)
    codes = await agency_codes(
        session,
        {c.lead_agency_id for c in cases}
        | {c.referral_source_id for c in cases if c.referral_source_id},
    )
    risk = await risk_summaries(
        session, ids, utcnow(), known=[(c.id, c.created_at, c.status) for c in cases]
    )
    return [_case_view(c, involved[c.id], codes, *risk[c.id]) for c in cases]


def _case_view(
    c: Any,
    agencies: list[str],
    codes: dict[uuid.UUID, str],
    current_risk: CurrentRisk | None,
    flags: list[FlagRead],
) -> CaseRead:
    """The API view of a case from its row (an ORM `Case` or a row of its columns)."""
    return CaseRead(
        id=c.id,
        pseudonym=c.pseudonym,
        status=CaseStatus(c.status),
        birth_month=c.birth_month,
        sex=c.sex,
        ethnicity=c.ethnicity,
        disability=c.disability,
        looked_after=c.looked_after,
        lead_agency=codes[c.lead_agency_id],
        referral_date=c.referral_date,
        referral_source=codes.get(c.referral_source_id) if c.referral_source_id else None,
        current_risk=current_risk,
        flags=flags,
        agencies=agencies,
        created_at=c.created_at,
        updated_at=c.updated_at,
        version=c.version,
    )


async def case_read(session: AsyncSession, case: Case) -> CaseRead:
    return (await case_reads(session, [case]))[0]


async def _identifier_rows(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    identifiers: list[IdentifierIn],
    secret: str,
) -> list[SubjectIdentifier]:
    rows = []
    seen: set[tuple[str, str]] = set()
    for i, ident in enumerate(identifiers):
        digest = subject_digest(secret, ident.scheme, ident.value, principal.agency_id)
        if (ident.scheme.value, digest) in seen:
            raise field_error(["body", "identifiers", i], "the same identifier is given twice")
        seen.add((ident.scheme.value, digest))
        rows.append(
            SubjectIdentifier(
                case_id=case_id,
                scheme=ident.scheme.value,
                digest=digest,
                agency_id=principal.agency_id,
            )
        )
    return rows


async def _owner_of(session: AsyncSession, rows: list[SubjectIdentifier]) -> uuid.UUID | None:
    if not rows:
        return None
    clauses = [
        and_(SubjectIdentifier.scheme == r.scheme, SubjectIdentifier.digest == r.digest)
        for r in rows
    ]
    return await session.scalar(select(SubjectIdentifier.case_id).where(or_(*clauses)).limit(1))


async def create_case(
    session: AsyncSession, principal: Principal, body: CaseCreate, *, secret: str
) -> CaseRead:
    principal.require("case.create")
    lead = (
        await agency_by_code(session, body.lead_agency, ["body", "lead_agency"])
        if body.lead_agency
        else None
    )
    source = (
        await agency_by_code(session, body.referral_source, ["body", "referral_source"])
        if body.referral_source
        else None
    )
    case_id = uuid.uuid4()
    identifiers = await _identifier_rows(session, principal, case_id, body.identifiers, secret)
    existing = await _owner_of(session, identifiers)
    if existing is not None:
        raise DuplicateIdentifier(existing)
    now = utcnow()
    case = Case(
        id=case_id,
        pseudonym=new_pseudonym(),
        status="open",
        birth_month=body.birth_month,
        sex=body.sex.value,
        ethnicity=body.ethnicity,
        disability=body.disability,
        looked_after=body.looked_after,
        lead_agency_id=lead.id if lead else principal.agency_id,
        referral_date=body.referral_date or now.date(),
        referral_source_id=source.id if source else None,
        created_at=now,
        updated_at=now,
    )
    for attempt in range(5):
        try:
            async with session.begin_nested():
                session.add(case)
                await session.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise
            case.pseudonym = new_pseudonym()  # a pseudonym collision; draw again
    try:
        async with session.begin_nested():
            session.add_all(identifiers)
            await session.flush()
    except IntegrityError:
        # Another request linked the same identifier between our check and insert.
        existing = await _owner_of(session, identifiers)
        if existing is None:
            raise
        raise DuplicateIdentifier(existing) from None
    for agency_id in {case.lead_agency_id, principal.agency_id}:
        await involve(session, case.id, agency_id)
    read = await case_read(session, case)
    await emit(
        session,
        "case.created",
        {"pseudonym": read.pseudonym, "lead_agency": read.lead_agency},
        case_id=case.id,
    )
    return read


async def get_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> CaseRead:
    principal.require("case.read")
    connection = await session.connection()
    if connection.dialect.driver != "asyncpg":
        return await case_read(session, await readable_case(session, principal, case_id))
    # PostgreSQL through asyncpg: the case (under the same access rule as `readable_case`),
    # its agencies and every record its risk and flags need, in one statement.
    at = utcnow()
    row = (
        await connection.execute(_case_view_for(principal), {"case_id": case_id, "at": at})
    ).first()
    if row is None:
        raise NotFound("no such case")
    codes = await agency_codes(
        session, [row.lead_agency_id, *([row.referral_source_id] if row.referral_source_id else [])]
    )
    records = await records_from_arrays(session, row.id, row.created_at, row[-6:], at)
    return _case_view(row, list(row.involved_agencies or ()), codes, *risk_summary(records, at))


_case_views: dict[tuple[str, uuid.UUID], TextClause] = {}


def _case_view_for(principal: Principal) -> TextClause:
    """The case view statement under this principal's `readable_case_clause`, compiled once
    per role and agency (a handful of each, so bounded)."""
    key = (principal.role.value, principal.agency_id)
    statement = _case_views.get(key)
    if statement is None:
        statement = precompiled(
            _case_view_statement().where(readable_case_clause(principal, Case.__table__.c.id))
        )
        _case_views[key] = statement
    return statement


@cache
def _case_view_statement() -> Select[Any]:
    c = Case.__table__.c
    involved = (
        select(func.array_agg(aggregate_order_by(Agency.code, Agency.code)))
        .select_from(CaseAgency)
        .join(Agency, Agency.id == CaseAgency.agency_id)
        .where(CaseAgency.case_id == c.id)
        .scalar_subquery()
        .label("involved_agencies")
    )
    at = bindparam("at", type_=UTCDateTime())
    # `record_arrays` last: `records_from_arrays` takes the row's last six values.
    return select(*c, involved, *record_arrays(c.id, at)).where(c.id == bindparam("case_id"))


async def list_cases(
    session: AsyncSession,
    principal: Principal,
    *,
    status: CaseStatus | None = None,
    risk_level: str | None = None,
    lead_agency: str | None = None,
    flag: str | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[CaseRead]:
    principal.require("case.read")
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(Case).where(readable_case_clause(principal, Case.id))
    if status:
        stmt = stmt.where(Case.status == status.value)
    if risk_level:
        stmt = stmt.where(Case.current_level == risk_level)
    if lead_agency:
        agency = await agency_by_code(session, lead_agency, ["query", "lead_agency"])
        stmt = stmt.where(Case.lead_agency_id == agency.id)
    if flag:
        check_flag_code(flag, ["query", "flag"])
    if cursor:
        created, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Case.created_at < created, and_(Case.created_at == created, Case.id < last_id))
        )
    if flag:
        # Flags are derived, not stored: walk the filtered cases, keeping those that carry it.
        now = utcnow()
        found, more = await scan_flagged(
            session, stmt, code=flag, limit=limit, at=now, window=Window.ending(now)
        )
        kept = [case for case, _ in found]
        return Page[CaseRead](
            items=await case_reads(session, kept),
            next_cursor=encode_cursor(kept[-1].created_at, kept[-1].id) if more else None,
        )
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    cases = list((await session.scalars(stmt)).all())
    next_cursor = (
        encode_cursor(cases[limit - 1].created_at, cases[limit - 1].id)
        if len(cases) > limit
        else None
    )
    return Page[CaseRead](items=await case_reads(session, cases[:limit]), next_cursor=next_cursor)


def parse_if_match(value: str) -> int:
    tag = value.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if tag.startswith("v"):
        tag = tag[1:]
    if not tag.isdigit():
        raise PreconditionFailed("If-Match does not name a version of this case")
    return int(tag)


def etag(version: int) -> str:
    return f'"v{version}"'


async def update_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, body: CaseUpdate, if_match: str
) -> CaseRead:
    principal.require("case.write")
    # Lock the row: a concurrent PATCH with the same If-Match then sees the new version.
    case = await readable_case(session, principal, case_id, for_update=True)
    if parse_if_match(if_match) != case.version:
        raise PreconditionFailed(f"the case is at version {case.version}; fetch it again")
    changes = body.model_dump(exclude_unset=True)
    for field in ("sex", "looked_after"):
        if field in changes and changes[field] is None:
            raise field_error(["body", field], "may not be null")
    if "lead_agency" in changes:
        code = changes.pop("lead_agency")
        if code is None:
            raise field_error(["body", "lead_agency"], "may not be null")
        case.lead_agency_id = (await agency_by_code(session, code, ["body", "lead_agency"])).id
        await involve(session, case.id, case.lead_agency_id)
    if "referral_source" in changes:
        code = changes.pop("referral_source")
        case.referral_source_id = (
            (await agency_by_code(session, code, ["body", "referral_source"])).id if code else None
        )
    if "referral_date" in changes and changes["referral_date"] is None:
        raise field_error(["body", "referral_date"], "may not be null")
    for field, value in changes.items():
        setattr(case, field, value.value if hasattr(value, "value") else value)
    await _flush_versioned(session)
    return await case_read(session, case)


async def _flush_versioned(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        # A concurrent change won the race between our read and our UPDATE ... WHERE version.
        raise PreconditionFailed("the case was changed by another request; fetch it again") from exc


async def change_status(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    body: StatusChange,
    to: CaseStatus,
) -> CaseRead:
    principal.require("case.close")
    case = await readable_case(session, principal, case_id, for_update=True)
    if case.status == to.value:
        raise Conflict(f"the case is already {to.value}")
    now = utcnow()
    case.status = to.value
    case.closed_at = now if to is CaseStatus.closed else None
    session.add(
        CaseStatusChange(
            case_id=case.id,
            status=to.value,
            reason=body.reason,
            agency_id=principal.agency_id,
            occurred_at=now,
        )
    )
    await _flush_versioned(session)
    return await case_read(session, case)


async def link_identifier(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    body: IdentifierIn,
    *,
    secret: str,
) -> IdentifierRead:
    """Link an identifier to a case; linking one the case already holds confirms it."""
    case = await postable_case(session, principal, case_id)
    (row,) = await _identifier_rows(session, principal, case.id, [body], secret)
    existing = await session.scalar(
        select(SubjectIdentifier).where(
            SubjectIdentifier.scheme == row.scheme, SubjectIdentifier.digest == row.digest
        )
    )
    if existing is not None and existing.case_id != case.id:
        raise DuplicateIdentifier(existing.case_id)
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            owner = await _owner_of(session, [row])
            raise DuplicateIdentifier(owner or case.id) from None
        existing = row
    # Holding the identifier makes the caller's agency involved, even for a shared NHS number.
    await involve(session, case.id, principal.agency_id)
    codes = await agency_codes(session, {existing.agency_id})
    return IdentifierRead(
        id=existing.id,
        case_id=case.id,
        scheme=IdentifierScheme(existing.scheme),
        agency=codes[existing.agency_id],
        created_at=existing.created_at,
    )


async def lookup_subject(
    session: AsyncSession,
    principal: Principal,
    scheme: IdentifierScheme,
    value: str,
    *,
    secret: str,
) -> SubjectMatch:
    principal.require("subject.lookup")
    try:
        digest = subject_digest(secret, scheme, value, principal.agency_id)
    except ValueError as exc:
        raise field_error(["query", "value"], str(exc)) from None
    row = (
        await session.execute(
            select(Case.id, Case.pseudonym)
            .join(SubjectIdentifier, SubjectIdentifier.case_id == Case.id)
            .where(SubjectIdentifier.scheme == scheme.value, SubjectIdentifier.digest == digest)
        )
    ).first()
    if row is None:
        raise NotFound("no case holds that identifier")
    return SubjectMatch(case_id=row[0], pseudonym=row[1], scheme=scheme)
