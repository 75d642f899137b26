"""Append audit entries under the chain head's lock; verify the chain end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.schemas import AuditEntryRead
from app.auth.principal import Principal
from app.db import UTCDateTime, utcnow
from app.models import AuditEntry, AuditHead
from app.schemas import MAX_PAGE, Page

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def entry_hash(
    *,
    id: int,
    at: dt.datetime,
    key_id: uuid.UUID | None,
    agency: str | None,
    role: str | None,
    action: str,
    case_id: uuid.UUID | None,
    outcome: int,
    request_id: str,
    prev_hash: str,
) -> str:
    payload = _payload(
        id, at, key_id, agency, role, action, case_id, outcome, request_id, prev_hash
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _payload(
    id: int,
    at: dt.datetime,
    key_id: uuid.UUID | None,
    agency: str | None,
    role: str | None,
    action: str,
    case_id: uuid.UUID | None,
    outcome: int,
    request_id: str,
    prev_hash: str,
) -> str:
    """What an entry's hash is the SHA-256 of (ASCII: `json.dumps` escapes anything else)."""
    return json.dumps(
        [
            id,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            str(key_id) if key_id else None,
            agency,
            role,
            action,
            str(case_id) if case_id else None,
            outcome,
            request_id,
            prev_hash,
        ],
        separators=(",", ":"),
    )


def _payload_middle(at: dt.datetime, record: AuditRecord) -> str:
    """The payload between the id and the previous hash, for PostgreSQL to splice them in:
    `"[" || id || middle || '"' || prev_hash || '"]'` is `_payload` exactly (an integer and
    64 hex digits print the same in SQL as in JSON)."""
    text = _payload(
        0,
        at,
        record.key_id,
        record.agency,
        record.role,
        record.action,
        record.case_id,
        record.outcome,
        record.request_id,
        "",
    )
    if not (text.startswith("[0,") and text.endswith(',""]')):  # pragma: no cover
        raise AssertionError("unexpected audit payload layout")
    return text[2:-3]


@dataclass(slots=True)
class AuditRecord:
    action: str
    outcome: int
    request_id: str
    key_id: uuid.UUID | None = None
    agency: str | None = None
    role: str | None = None
    case_id: uuid.UUID | None = None


# Built once: a request pays only for its parameters.
_LOCK_HEAD = (
    select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == HEAD_ID).with_for_update()
)
_ADD_ENTRY = insert(AuditEntry).values(
    {c: bindparam(f"e_{c.name}") for c in AuditEntry.__table__.c}  # type: ignore[attr-defined]
)
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == HEAD_ID)
    .values(last_id=bindparam("e_id"), last_hash=bindparam("e_hash"))
)
# PostgreSQL: lock the head, add the entry (hashed by the database over the payload Python
# prepared, see `_payload_middle`) and move the head, in one statement: one round trip, and
# the head is locked only from this statement to the commit. `verify` recomputes every hash
# in Python, so a difference between the two could not go unnoticed.
_APPEND_ONE_STATEMENT = text(
    """
    WITH head AS (
        SELECT last_id, last_hash FROM audit_head WHERE id = :head_id FOR UPDATE
    ), new_entry AS (
        INSERT INTO audit_entries
            (id, at, key_id, agency, role, action, case_id, outcome, request_id, prev_hash, hash)
        SELECT head.last_id + 1, :at, :key_id, :agency, :role, :action, :case_id, :outcome,
            :request_id, head.last_hash,
            encode(sha256(convert_to(
                '[' || (head.last_id + 1)::text || :middle || '"' || head.last_hash || '"]',
                'UTF8'
            )), 'hex')
        FROM head
        RETURNING id, hash
    )
    UPDATE audit_head SET last_id = new_entry.id, last_hash = new_entry.hash
    FROM new_entry
    WHERE audit_head.id = :head_id
    RETURNING new_entry.id
    """
).bindparams(
    bindparam("at", type_=UTCDateTime()),
    bindparam("key_id", type_=Uuid()),
    bindparam("case_id", type_=Uuid()),
)


async def append(session: AsyncSession, record: AuditRecord) -> int:
    """Add one entry at the end of the chain; returns its id. Call last in a transaction: it
    holds the head lock until the commit.

    Core statements rather than the ORM unit of work, since every request pays for this; on
    PostgreSQL the lock, the entry and the new head go in one statement.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        at = utcnow()
        new_id = (
            await connection.execute(
                _APPEND_ONE_STATEMENT,
                {
                    "head_id": HEAD_ID,
                    "at": at,
                    "key_id": record.key_id,
                    "agency": record.agency,
                    "role": record.role,
                    "action": record.action,
                    "case_id": record.case_id,
                    "outcome": record.outcome,
                    "request_id": record.request_id,
                    "middle": _payload_middle(at, record),
                },
            )
        ).scalar()
        if new_id is not None:
            return int(new_id)
        # No head row yet (a fresh database): the general path below creates it.
    head = (await connection.execute(_LOCK_HEAD)).first()
    if head is None:
        await connection.execute(
            insert(AuditHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH)
        )
        last_id, last_hash = 0, GENESIS_HASH
    else:
        last_id, last_hash = head
    at = utcnow()
    new_id = last_id + 1
    digest = entry_hash(
        id=new_id,
        at=at,
        key_id=record.key_id,
        agency=record.agency,
        role=record.role,
        action=record.action,
        case_id=record.case_id,
        outcome=record.outcome,
        request_id=record.request_id,
        prev_hash=last_hash,
    )
    params = {
        "e_id": new_id,
        "e_at": at,
        "e_key_id": record.key_id,
        "e_agency": record.agency,
        "e_role": record.role,
        "e_action": record.action,
        "e_case_id": record.case_id,
        "e_outcome": record.outcome,
        "e_request_id": record.request_id,
        "e_prev_hash": last_hash,
        "e_hash": digest,
    }
    await connection.execute(_ADD_ENTRY, params)
    await connection.execute(_MOVE_HEAD, params)
    return new_id


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


async def verify(session: AsyncSession, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; the first entry that does not follow is reported."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for e in rows:
            if e.id != expected_id:
                return VerifyResult(False, checked, expected_id, f"entry {expected_id} is missing")
            if e.prev_hash != expected_prev:
                return VerifyResult(False, checked, e.id, "does not follow the entry before it")
            recomputed = entry_hash(
                id=e.id,
                at=e.at,
                key_id=e.key_id,
                agency=e.agency,
                role=e.role,
                action=e.action,
                case_id=e.case_id,
                outcome=e.outcome,
                request_id=e.request_id,
                prev_hash=e.prev_hash,
            )
            if recomputed != e.hash:
                return VerifyResult(False, checked, e.id, "its content was changed after writing")
            expected_prev = e.hash
            expected_id += 1
            checked += 1
            last_id = e.id
    head = await session.get(AuditHead, HEAD_ID)
    head_id = head.last_id if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    if head_id != last_id or head_hash != expected_prev:
        return VerifyResult(
            False,
            checked,
            last_id + 1,
            f"entries after {last_id} were deleted (head is at {head_id})",
        )
    return VerifyResult(True, checked)


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def list_entries(
    session: AsyncSession,
    principal: Principal,
    *,
    case_id: uuid.UUID | None = None,
    agency: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page[AuditEntryRead]:
    """Newest first; `next_cursor` is the id to pass as `cursor` for older entries."""
    principal.require("audit.read")
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(AuditEntry)
    if case_id:
        stmt = stmt.where(AuditEntry.case_id == case_id)
    if agency:
        stmt = stmt.where(AuditEntry.agency == agency)
    if before:
        stmt = stmt.where(AuditEntry.id < before)
    rows = list((await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1))).all())
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor
    )
