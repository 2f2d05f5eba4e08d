"""Engines and sessions. The caller that owns a unit of work commits; nothing here does."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000
# the database is away (down, restarting, unreachable): a 503 to clients, a retry to workers
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database (SQLite stores naive strings)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL and process (the worker disposes it after a fork)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The API and the worker process share the file: WAL lets readers run beside the writer.
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails at once (SQLITE_BUSY_SNAPSHOT) when the other process wrote meanwhile.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back when it raises."""
    with sessions() as session, session.begin():
        yield session


def ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))
