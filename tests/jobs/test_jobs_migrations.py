"""The migrations build exactly the schema the models describe, on both databases, and carry
existing rows through (0003: searches made before tenants belong to `local`)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from service_fixtures import Backend, postgres_database
from sqlalchemy import inspect, select, text

from jobs import repository
from jobs.db import get_engine, session_factory
from jobs.migrate import downgrade, upgrade
from jobs.models import Base, IdempotencyKey, Search, Tenant

# rows as revision 0002 stores them (plain SQL: the models have moved on)
BEFORE_TENANTS = [
    "INSERT INTO searches (id, state, spec, attempts, lost_attempts, cancel_requested, "
    "last_event_seq, created_at, updated_at) VALUES ('s-old', 'queued', '{}', 0, 0, false, 1, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO search_events (search_id, seq, type, data, created_at) "
    "VALUES ('s-old', 1, 'status', '{\"state\": \"queued\"}', CURRENT_TIMESTAMP)",
    "INSERT INTO idempotency_keys (key, request_sha256, search_id, created_at) "
    "VALUES ('nightly', 'abc', 's-old', CURRENT_TIMESTAMP)",
]


def test_migrated_schema_matches_the_models(backend: Backend) -> None:
    with get_engine(backend.database_url).connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'adl.sqlite3'}"
        return
    with postgres_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url.replace("postgresql://", "postgresql+psycopg://")


def test_0003_gives_existing_searches_the_local_tenant_and_goes_back(empty_database: str) -> None:
    upgrade(empty_database, "0002")
    with get_engine(empty_database).begin() as connection:
        for statement in BEFORE_TENANTS:
            connection.execute(text(statement))
    upgrade(empty_database, "0003")
    with session_factory(empty_database)() as session:
        search = session.get(Search, "s-old")
        assert search is not None and search.tenant == "local"
        assert session.get(Tenant, "local") is not None
        assert session.get(IdempotencyKey, ("local", "nightly")).search_id == "s-old"
        assert repository.list_searches(session, "local", None, 10, None) == [search]
    downgrade(empty_database, "0002")
    with get_engine(empty_database).connect() as connection:
        tables = inspect(connection).get_table_names()
        columns = {c["name"] for c in inspect(connection).get_columns("searches")}
        keys = connection.execute(text("SELECT key, search_id FROM idempotency_keys")).all()
    assert "tenants" not in tables and "api_keys" not in tables and "tenant" not in columns
    assert keys == [("nightly", "s-old")]


def test_0003_on_an_empty_database_makes_no_tenant(empty_database: str) -> None:
    upgrade(empty_database)
    with session_factory(empty_database)() as session:
        assert session.scalars(select(Tenant)).all() == []
