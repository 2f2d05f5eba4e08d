"""Tenants and their API keys; every search and idempotency key belongs to a tenant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Self-contained (no imports from jobs). Runs on PostgreSQL and SQLite. Rows that exist before
this revision belong to the tenant `local` (the tenant of ADL_AUTH=off), created here when there
are any. The new NOT NULL columns get 'local' through a server default that is dropped again
afterwards, so no later insert can land in a tenant by accident.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL = "local"


def timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def tenant_column() -> sa.Column:
    return sa.Column("tenant", sa.String(64), nullable=False, server_default=LOCAL)


def upgrade() -> None:
    create_tenants()
    create_api_keys()
    op.execute(
        sa.text(
            "INSERT INTO tenants (name, created_at) SELECT :local, CURRENT_TIMESTAMP "
            "WHERE EXISTS (SELECT 1 FROM searches)"
        ).bindparams(local=LOCAL)
    )
    with op.batch_alter_table("searches") as batch:
        batch.add_column(tenant_column())
        batch.create_foreign_key("fk_searches_tenant_tenants", "tenants", ["tenant"], ["name"])
        batch.create_index("ix_searches_tenant_created_at", ["tenant", "created_at"])
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(tenant_column())
        batch.create_foreign_key(
            "fk_idempotency_keys_tenant_tenants", "tenants", ["tenant"], ["name"]
        )
        # An Idempotency-Key is the client's own string: two tenants may well pick the same one.
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["tenant", "key"])
    for table in ("searches", "idempotency_keys"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("tenant", existing_type=sa.String(64), server_default=None)


def create_tenants() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(64), nullable=False),
        # quota overrides; NULL: the service-wide ADL_TENANT_MAX_* applies
        sa.Column("max_queued", sa.Integer(), nullable=True),
        sa.Column("max_active", sa.Integer(), nullable=True),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("name", name="pk_tenants"),
    )


def create_api_keys() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        timestamp("created_at"),
        timestamp("revoked_at", nullable=True),
        timestamp("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.name"], name="fk_api_keys_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])


def downgrade() -> None:
    # Without a tenant column one key can name one search only: keep the `local` tenant's.
    op.execute(
        sa.text("DELETE FROM idempotency_keys WHERE tenant <> :local").bindparams(local=LOCAL)
    )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.drop_constraint("fk_idempotency_keys_tenant_tenants", type_="foreignkey")
        batch.drop_column("tenant")
        batch.create_primary_key("pk_idempotency_keys", ["key"])
    with op.batch_alter_table("searches") as batch:
        batch.drop_index("ix_searches_tenant_created_at")
        batch.drop_constraint("fk_searches_tenant_tenants", type_="foreignkey")
        batch.drop_column("tenant")
    op.drop_index("ix_api_keys_tenant", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
