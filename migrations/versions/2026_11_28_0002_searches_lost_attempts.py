"""Count the attempts of a search that ended without an outcome (pause, resume and retries).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Self-contained (no imports from jobs). Runs on PostgreSQL and SQLite: adding a NOT NULL column
with a server default is one plain ALTER TABLE on both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "searches",
        sa.Column("lost_attempts", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # batch mode: SQLite before 3.35 cannot drop a column in place
    with op.batch_alter_table("searches") as batch:
        batch.drop_column("lost_attempts")
