from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_support import TINY_SPEC, keyed_client, tenant_key
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jobs.settings import Settings


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    """A key of the tenant `acme`: the API tests run with authentication on, as deployed."""
    return tenant_key(sessions, "acme")


@pytest.fixture
def client(settings: Settings, api_key: str) -> Iterator[TestClient]:
    with keyed_client(settings, api_key) as test_client:
        yield test_client


@pytest.fixture
def submit(client: TestClient) -> Callable[..., str]:
    """POST /searches with the tiny spec (or `spec`); returns the new search's id."""

    def _submit(spec: dict[str, Any] | None = None) -> str:
        response = client.post("/searches", json=spec or TINY_SPEC)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return _submit
