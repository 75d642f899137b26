"""Who is calling, what their role may do, and which cases they may read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select, true

from app.errors import Forbidden
from app.models import CaseAgency, Role

R = Role
# The one table of what each role may do (SPEC §2). Case visibility is separate: see
# `readable_case_clause`.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "agency.read": frozenset(Role),
    "agency.create": frozenset({R.admin}),
    "key.manage": frozenset({R.admin}),
    "case.create": frozenset({R.admin, R.coordinator, R.practitioner, R.partner}),
    "case.read": frozenset({R.admin, R.coordinator, R.chair, R.practitioner, R.partner}),
    "case.write": frozenset({R.admin, R.coordinator, R.practitioner, R.partner}),
    "case.close": frozenset({R.admin, R.coordinator}),
    "subject.lookup": frozenset({R.admin, R.coordinator, R.practitioner, R.partner}),
    "record.create": frozenset({R.admin, R.coordinator, R.practitioner, R.partner}),
    "risk_tool.read": frozenset(Role),
    "risk_tool.edit": frozenset({R.admin}),
    "language.check": frozenset(Role),
    "audit.read": frozenset({R.admin, R.auditor}),
    "stats.read": frozenset({R.admin, R.auditor, R.coordinator, R.chair}),
    # Meetings (issue 4). Meeting times hold no case data; agendas and decisions do.
    "meeting.read": frozenset(Role),
    "series.edit": frozenset({R.admin}),
    "agenda.read": frozenset({R.admin, R.coordinator, R.chair}),
    "agenda.edit": frozenset({R.admin, R.coordinator}),
    "decision.record": frozenset({R.admin, R.coordinator, R.chair}),
    "action.read": frozenset({R.admin, R.coordinator, R.chair, R.practitioner, R.partner}),
    # Practitioners and partners only for actions their agency owns (checked in the service).
    "action.update": frozenset({R.admin, R.coordinator, R.practitioner, R.partner}),
    "webhook.manage": frozenset({R.admin, R.partner}),
}

ROLES_READING_EVERY_CASE = frozenset({R.admin, R.coordinator, R.chair})


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    agency_id: uuid.UUID
    agency_code: str
    role: Role

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        if not self.may(permission):
            raise Forbidden(f"the {self.role.value} role may not do this ({permission})")

    @property
    def reads_every_case(self) -> bool:
        return self.role in ROLES_READING_EVERY_CASE


def readable_case_clause(
    principal: Principal, case_id_column: ColumnElement[uuid.UUID]
) -> ColumnElement[bool]:
    """A WHERE clause that keeps only cases this principal may read."""
    if principal.reads_every_case:
        return true()
    if not principal.may("case.read"):
        return ~true()
    return exists(
        select(CaseAgency.case_id).where(
            CaseAgency.case_id == case_id_column, CaseAgency.agency_id == principal.agency_id
        )
    )
