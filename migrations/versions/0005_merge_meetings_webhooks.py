"""merge the meetings (0003) and webhooks (0004) branches

Both were written against 0002 in parallel; this joins them so there is one head.

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
