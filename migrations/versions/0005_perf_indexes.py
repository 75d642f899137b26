"""perf indexes: time indexes for set-based flag evaluation and case lists at scale

Revision ID: 0005_perf_indexes
Revises: 0005 (meetings and webhooks joined)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_perf_indexes"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_cases_created_at_id", "cases", ["created_at", "id"]),
    ("ix_assessments_recorded_at", "assessments", ["recorded_at"]),
    ("ix_assessments_assessed_at", "assessments", ["assessed_at"]),
    ("ix_missing_episodes_recorded_at", "missing_episodes", ["recorded_at"]),
    ("ix_missing_episodes_started_at", "missing_episodes", ["started_at"]),
    ("ix_case_events_recorded_at", "case_events", ["recorded_at"]),
    ("ix_case_events_type_occurred_at", "case_events", ["type", "occurred_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
