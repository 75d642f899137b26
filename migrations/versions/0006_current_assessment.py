"""current assessment on the case: its id and the fields the set-based flags filter on

`cases.current_assessment_id`, `current_review_due`, `current_judgement_differs` and
`current_indicators` are kept with `cases.current_level` (under the case's row lock) from the
latest assessment. The set-based flag path filters open cases on them in one scan of `cases`
instead of searching every case's history for its latest assessment (one index probe per
case: 0.4-0.5 s at 100,000 cases) or hash-joining all assessments (about 0.2 s). No foreign
key: assessments already reference cases.

Revision ID: 0006_current_assessment
Revises: 0005_perf_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_current_assessment"
down_revision: str | None = "0005_perf_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS = [
    sa.Column("current_assessment_id", sa.Uuid(), nullable=True),
    sa.Column("current_review_due", sa.DateTime(timezone=True), nullable=True),
    sa.Column("current_judgement_differs", sa.Boolean(), nullable=True),
    sa.Column("current_indicators", sa.JSON(), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in COLUMNS:
            batch.add_column(column)
    latest = (
        "(SELECT {} FROM assessments a WHERE a.case_id = cases.id "
        "ORDER BY a.assessed_at DESC, a.recorded_at DESC, a.id DESC LIMIT 1)"
    )
    differs = "a.judgement_level IS NOT NULL AND a.judgement_level <> a.calculated_level"
    op.execute(
        "UPDATE cases SET "
        f"current_assessment_id = {latest.format('a.id')}, "
        f"current_review_due = {latest.format('a.next_review_due')}, "
        f"current_judgement_differs = {latest.format(differs)}, "
        f"current_indicators = {latest.format('a.indicators')}"
    )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
