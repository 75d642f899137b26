"""Appending to the audit chain: on PostgreSQL the database hashes the payload Python prepares
(one statement); every stored hash must be the one `entry_hash` gives, whatever the fields."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from app.audit.service import AuditRecord, append, entry_hash, verify
from app.db import Database
from app.models import AuditEntry

AWKWARD = [
    AuditRecord(action="case.read", outcome=200, request_id="r-1"),
    AuditRecord(
        action="assessment.create",
        outcome=201,
        request_id="0123456789abcdef" * 4,
        key_id=uuid.uuid4(),
        agency="council",
        role="partner",
        case_id=uuid.uuid4(),
    ),
    # Quotes, backslashes, control and non-ASCII characters: JSON escapes them all.
    AuditRecord(
        action='say "hi" \\ \t ✓',
        outcome=422,
        request_id="x",
        agency="agência-ñ",
        role="rôle",
    ),
    AuditRecord(action="-", outcome=500, request_id="-", key_id=uuid.uuid4()),
]


async def test_every_appended_hash_is_the_one_entry_hash_gives(db: Database) -> None:
    for record in AWKWARD * 3:
        async with db.transaction() as session:
            await append(session, record)
    async with db.transaction() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [e.id for e in entries] == list(range(1, len(AWKWARD) * 3 + 1))
        for e in entries:
            assert e.hash == entry_hash(
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
        assert (await verify(session)).ok


async def test_concurrent_appends_keep_one_unbroken_chain(db: Database) -> None:
    async def one(i: int) -> int:
        async with db.transaction() as session:
            return await append(
                session, AuditRecord(action="case.read", outcome=200, request_id=f"r{i}")
            )

    ids = await asyncio.gather(*(one(i) for i in range(24)))
    assert sorted(ids) == list(range(1, 25))
    async with db.transaction() as session:
        result = await verify(session)
    assert result.ok and result.checked == 24
