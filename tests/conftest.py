"""Fixtures for the service tests: a migrated PostgreSQL database and Redis (the production
pair) and a migrated SQLite file and folder broker (the embedded pair), one per test run;
each service test runs on both and leaves no rows behind."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from service_fixtures import Backend, postgres_database, postgres_server, redis_server
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from jobs.db import get_engine, session_factory
from jobs.migrate import upgrade
from jobs.models import Base
from jobs.settings import Settings


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """An admin URL of a running PostgreSQL (a throwaway one where none answers)."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A database of this test run, migrated, dropped at the end."""
    with postgres_database(postgres_server_url) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'adl.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgresql":
        urls = request.getfixturevalue("postgres_url"), request.getfixturevalue("redis_url")
        return Backend("postgresql", *urls)
    return Backend(
        "sqlite", request.getfixturevalue("sqlite_url"), f"filesystem://{tmp_path}/broker"
    )


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    """Settings of one test: its own queue and folders; its rows are deleted afterwards."""
    test_settings = Settings(
        database_url=backend.database_url,
        broker_url=backend.broker_url,
        queue=f"adl-test-{uuid.uuid4().hex[:8]}",
        artifact_root=tmp_path / "artifacts",
        data_root=tmp_path / "data",
        event_poll_seconds=0.05,
    )
    test_settings.data_root.mkdir()
    yield test_settings
    _delete_rows(test_settings.database_url)
    if backend.broker_url.startswith("redis"):
        redis.Redis.from_url(backend.broker_url).delete(test_settings.queue)


def _delete_rows(database_url: str) -> None:
    with get_engine(database_url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(settings.database_url)
