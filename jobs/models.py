"""The tables. The schema itself is written by the migrations; these map onto it."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jobs.db import UTCDateTime, utcnow

# Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDoc = JSON().with_variant(JSONB(), "postgresql")
MAX_SEQ = 2**31 - 1  # search_events.seq is an INTEGER on every database


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    """Who searches are for: every search and API key belongs to one."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Quota overrides; None: the service-wide ADL_TENANT_MAX_QUEUED / _ACTIVE applies.
    max_queued: Mapped[int | None] = mapped_column(Integer)
    max_active: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A tenant's API key. Only the key's sha256 is stored; `prefix` names it in listings."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant: Mapped[str] = mapped_column(ForeignKey("tenants.name"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Search(Base):
    __tablename__ = "searches"
    # a tenant's searches, newest first: the listing's query
    __table_args__ = (Index("ix_searches_tenant_created_at", "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(ForeignKey("tenants.name"))
    state: Mapped[str] = mapped_column(String(16), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims; the fencing token
    # Attempts that ended without an outcome (a worker died, a database or broker blip); the
    # search fails once they reach ADL_MAX_ATTEMPTS. Pauses and warm shutdowns don't count.
    lost_attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SearchEvent(Base):
    """Append-only: the one log behind the SSE stream, the JSON page and the snapshot."""

    __tablename__ = "search_events"

    search_id: Mapped[str] = mapped_column(ForeignKey("searches.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("search_id", "kind", "name", name="uq_artifacts_name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    search_id: Mapped[str] = mapped_column(ForeignKey("searches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)  # relative to the artifact root
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # per tenant: a key is the client's own string, and two tenants may pick the same one
    tenant: Mapped[str] = mapped_column(ForeignKey("tenants.name"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    search_id: Mapped[str] = mapped_column(ForeignKey("searches.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
