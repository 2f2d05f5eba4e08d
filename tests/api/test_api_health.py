import subprocess
import sys

from api_support import TINY_SPEC
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_fixtures import free_port

from api.main import create_app
from jobs.settings import Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database_and_the_broker(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_broker_is_down(settings: Settings) -> None:
    dead = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(dead)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail["database"] == "ok"
    assert detail["broker"].startswith("error")


def test_a_database_outage_answers_503_not_500(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"}
    )
    with TestClient(create_app(dead)) as client:
        response = client.get("/searches")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/searches", "/searches/{search_id}/events", "/searches/{search_id}/cancel"} <= set(
        paths
    )
    assert client.get("/docs").status_code == 200


def test_a_token_guards_the_searches_but_not_health(settings: Settings) -> None:
    guarded = settings.model_copy(update={"api_token": SecretStr("s3cret")})
    with TestClient(create_app(guarded)) as client:
        refused = client.post("/searches", json=TINY_SPEC)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        ok = client.post("/searches", json=TINY_SPEC, headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 201
        assert client.get("/healthz").status_code == 200


def test_unknown_routes_use_the_error_shape(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    response = client.delete("/searches")
    assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed")


def test_importing_the_api_leaves_torch_out() -> None:
    probe = "import sys, api.main, api.__main__; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
