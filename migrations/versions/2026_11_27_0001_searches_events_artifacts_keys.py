"""Searches, their event log, artifacts and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Self-contained on purpose (no imports from jobs): a migration is history and must keep working
when the models move on. Runs on PostgreSQL and SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "searches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("spec", JSON_DOC, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        timestamp("lease_expires_at", nullable=True),
        sa.Column("last_event_seq", sa.Integer(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        timestamp("started_at", nullable=True),
        timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_searches"),
    )
    op.create_index("ix_searches_state", "searches", ["state"])
    op.create_index("ix_searches_created_at", "searches", ["created_at"])

    op.create_table(
        "search_events",
        sa.Column("search_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["search_id"], ["searches.id"], name="fk_search_events_search_id_searches"
        ),
        sa.PrimaryKeyConstraint("search_id", "seq", name="pk_search_events"),
    )

    op.create_table(
        "artifacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("search_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=True),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["search_id"], ["searches.id"], name="fk_artifacts_search_id_searches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("search_id", "kind", "name", name="uq_artifacts_name"),
    )
    op.create_index("ix_artifacts_search_id", "artifacts", ["search_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("search_id", sa.String(36), nullable=False),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["search_id"], ["searches.id"], name="fk_idempotency_keys_search_id_searches"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_artifacts_search_id", table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_table("search_events")
    op.drop_index("ix_searches_created_at", table_name="searches")
    op.drop_index("ix_searches_state", table_name="searches")
    op.drop_table("searches")
