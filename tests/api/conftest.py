from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_support import TINY_SPEC
from fastapi.testclient import TestClient

from api.main import create_app
from jobs.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def submit(client: TestClient) -> Callable[..., str]:
    """POST /searches with the tiny spec (or `spec`); returns the new search's id."""

    def _submit(spec: dict[str, Any] | None = None) -> str:
        response = client.post("/searches", json=spec or TINY_SPEC)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return _submit
