import subprocess
import sys

from api_support import keyed_client
from fastapi.testclient import TestClient
from service_fixtures import free_port

from jobs.settings import Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database_and_the_broker(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_broker_is_down(settings: Settings) -> None:
    port = free_port()
    dead = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{port}/0"})
    with keyed_client(dead, None) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail["database"] == "ok"
    assert detail["broker"].startswith("error")
    assert str(port) not in response.text  # a public page: where the broker is, only the log says


def test_a_database_outage_answers_503_not_500(settings: Settings, api_key: str) -> None:
    dead = settings.model_copy(
        update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"}
    )
    with keyed_client(dead, api_key) as client:  # the key is checked in the database: 503
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


def test_openapi_documents_the_bearer_key(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["APIKey"]["scheme"] == "bearer"
    assert schema["paths"]["/searches"]["post"]["security"] == [{"APIKey": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


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
