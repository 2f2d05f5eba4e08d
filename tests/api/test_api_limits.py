"""Limits and hardening at the API's edge: the body cap, CORS, spec bounds, dataset names kept
inside the data root, and no password in an error body or a log line."""

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from api_support import TINY_SPEC, keyed_client
from fastapi.testclient import TestClient
from service_fixtures import Backend, free_port
from starlette.types import Message, Receive, Scope, Send

from api.__main__ import main as api_main
from api.limits import BodySizeLimit, BodyTooLargeError
from api.main import create_app
from jobs.settings import Settings, get_settings
from scripts import run_embedded

PASSWORD = "s3cret-pw"
CAP = 16 * 1024  # the smallest the settings allow
FOLDER_SPEC = {"dataset": {"kind": "folder", "num_classes": 3}, "training": TINY_SPEC["training"]}


@pytest.fixture
def backend(sqlite_url: str, tmp_path: Path) -> Backend:
    """These limits act before any query that differs between databases: SQLite is enough."""
    return Backend("sqlite", sqlite_url, f"filesystem://{tmp_path}/broker")


@pytest.fixture
def capped(settings: Settings, api_key: str) -> Iterator[TestClient]:
    """The app with a small body cap, and CORS for one origin."""
    changes = {"max_body_bytes": CAP, "cors_origins": ["https://app.example"]}
    with keyed_client(settings.model_copy(update=changes), api_key) as test_client:
        yield test_client


def test_a_declared_length_over_the_cap_is_413(capped: TestClient) -> None:
    response = capped.post("/searches", content=b"{" + b" " * CAP + b"}")
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert str(CAP) in response.json()["detail"]


def test_a_chunked_body_over_the_cap_is_413(capped: TestClient) -> None:
    chunks = (b" " * 512 for _ in range(CAP // 256))  # an iterator: sent without a length
    response = capped.post("/searches", content=chunks)
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")


def test_the_stream_is_cut_as_soon_as_it_passes_the_cap() -> None:
    chunks = [{"type": "http.request", "body": b"x" * 4000, "more_body": True}] * 10
    taken = []

    async def receive() -> Message:
        taken.append(chunks[len(taken)])
        return taken[-1]

    async def read_everything(_scope: Scope, receive: Receive, _send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    settings = SimpleNamespace(max_body_bytes=CAP)
    scope = {
        "type": "http",
        "headers": [],
        "app": SimpleNamespace(state=SimpleNamespace(settings=settings)),
    }
    with pytest.raises(BodyTooLargeError):
        asyncio.run(BodySizeLimit(read_everything)(scope, receive, _no_send))
    assert len(taken) == 5  # 20000 bytes > 16 KiB: nothing after that is read


async def _no_send(_message: Message) -> None:
    raise AssertionError("the middleware must leave the answer to the error handler")


def test_cors_headers_are_absent_unless_configured(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_origin_only(capped: TestClient) -> None:
    allowed = capped.get("/healthz", headers={"Origin": "https://app.example"})
    other = capped.get("/healthz", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_a_preflight_allows_the_authorization_header(capped: TestClient) -> None:
    response = capped.options(
        "/searches",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_an_out_of_range_number_is_422_naming_its_field(client: TestClient) -> None:
    spec = {**TINY_SPEC, "training": {**TINY_SPEC["training"], "batch_size": 100_000}}
    response = client.post("/searches", json=spec)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["training.batch_size"]


def _submit_folder(client: TestClient, name: str) -> Any:
    return client.post(
        "/searches", json={**FOLDER_SPEC, "dataset": {**FOLDER_SPEC["dataset"], "name": name}}
    )


def test_a_link_out_of_the_data_root_is_refused_at_submit(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (settings.data_root / "escape").symlink_to(tmp_path / "elsewhere")
    response = _submit_folder(client, "escape")
    assert response.status_code == 422
    assert response.json()["error"] == "dataset_outside_data_root"
    assert "outside the data root" in response.json()["detail"]


def test_a_link_within_the_data_root_is_accepted(client: TestClient, settings: Settings) -> None:
    (settings.data_root / "roads").mkdir()
    (settings.data_root / "latest").symlink_to(settings.data_root / "roads")
    assert _submit_folder(client, "latest").status_code == 201


@pytest.mark.parametrize("name", ["../x", "/etc", "a/../../b", "a\\b"])
def test_a_name_that_leaves_the_data_root_is_422(client: TestClient, name: str) -> None:
    response = _submit_folder(client, name)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["dataset.name"]


def test_no_password_in_a_503_or_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = {
        "database_url": f"postgresql+psycopg://adl:{PASSWORD}@127.0.0.1:{free_port()}/adl",
        "broker_url": f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0",
    }
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": "Bearer adl_unknown-key"}  # a key lookup needs the database too
    with TestClient(create_app(settings.model_copy(update=unreachable))) as down:
        answers = [
            down.get("/searches", headers=headers),
            down.post("/searches", json=TINY_SPEC, headers=headers),
            down.get("/readyz"),
        ]
    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert [PASSWORD in answer.text for answer in answers] == [False] * 3
    assert PASSWORD not in caplog.text


def test_a_refused_setting_is_logged_without_its_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ADL_DATABASE_URL", f"mysql://adl:{PASSWORD}@db/adl")
    get_settings.cache_clear()
    try:
        assert api_main() == 2
    finally:
        get_settings.cache_clear()
    assert "ADL_DATABASE_URL" in caplog.text
    assert PASSWORD not in caplog.text


def test_the_embedded_launcher_logs_the_database_without_its_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr(run_embedded, "upgrade", lambda _url: None)  # no server behind the URL
    monkeypatch.setattr(run_embedded, "requeue_interrupted", lambda _settings: None)
    caplog.set_level(logging.INFO)
    url = f"postgresql://adl:{PASSWORD}@db:5432/adl"
    run_embedded.prepare(
        Settings(database_url=url, artifact_root=tmp_path / "a", data_root=tmp_path / "d")
    )
    assert "postgresql+psycopg://adl:***@db:5432/adl" in caplog.text
    assert PASSWORD not in caplog.text


def test_the_schema_documents_the_errors_as_sent() -> None:
    document = create_app().openapi()
    submit = document["paths"]["/searches"]["post"]["responses"]
    assert {"400", "401", "413", "422"} <= set(submit)
    assert submit["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ValidationErrorBody"
    )
    assert submit["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "401" not in document["paths"]["/healthz"]["get"]["responses"]  # public: no key
