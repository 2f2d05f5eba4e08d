"""Who may call the API: a tenant's API key on every protected route (401 otherwise), or
nobody at all with ADL_AUTH=off, where every caller is the tenant `local`."""

from collections.abc import Iterator

import pytest
from api_support import TINY_SPEC, keyed_client, tenant_key
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from jobs import admin
from jobs.models import Search
from jobs.settings import Settings

PROTECTED = [
    ("GET", "/searches"),
    ("POST", "/searches"),
    ("GET", "/searches/any-id"),
    ("GET", "/searches/any-id/events"),
    ("POST", "/searches/any-id/cancel"),
    ("POST", "/searches/any-id/pause"),
    ("POST", "/searches/any-id/resume"),
    ("GET", "/searches/any-id/genotype"),
    ("GET", "/searches/any-id/checkpoints"),
    ("GET", "/searches/any-id/checkpoints/epoch-0001.pt"),
    ("GET", "/searches/any-id/architecture"),
    ("GET", "/dashboard/searches"),
]


@pytest.fixture
def anonymous(settings: Settings, api_key: str) -> Iterator[TestClient]:
    """A client that sends no key, to a service where the tenant `acme` has one."""
    with keyed_client(settings, None) as client:
        yield client


def assert_refused(response: Response, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "unauthorized"
    assert words in body["detail"], body


def test_every_protected_route_needs_a_key(anonymous: TestClient) -> None:
    for method, path in PROTECTED:
        response = anonymous.request(method, path, json=TINY_SPEC if method == "POST" else None)
        assert_refused(response, "Authorization: Bearer <key>")


@pytest.mark.parametrize(
    "header", ["Basic YWNtZTpzM2NyZXQ=", "Bearer", "Bearer ", "adl_no_scheme", "Token adl_x"]
)
def test_a_malformed_header_is_a_401(anonymous: TestClient, header: str) -> None:
    response = anonymous.get("/searches", headers={"authorization": header})
    assert_refused(response, "must be 'Bearer <key>'")


def test_an_unknown_key_is_a_401(anonymous: TestClient, api_key: str) -> None:
    for key in ("adl_" + "x" * 43, api_key[:-1], api_key + "x"):
        response = anonymous.get("/searches", headers={"authorization": f"Bearer {key}"})
        assert_refused(response, "unknown API key")


def test_a_revoked_key_is_a_401_from_then_on(
    client: TestClient, sessions: sessionmaker[Session], api_key: str
) -> None:
    assert client.get("/searches").status_code == 200
    admin.revoke_key(sessions, api_key[:12])
    assert_refused(client.get("/searches"), "was revoked")
    assert_refused(client.post("/searches", json=TINY_SPEC), "was revoked")


def test_another_key_of_the_tenant_still_works_after_a_revoke(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], api_key: str
) -> None:
    search_id = client.post("/searches", json=TINY_SPEC).json()["id"]
    second = admin.create_key(sessions, "acme", label="laptop").secret
    admin.revoke_key(sessions, api_key[:12])
    with keyed_client(settings, second) as laptop:
        assert laptop.get(f"/searches/{search_id}").status_code == 200


def test_health_pages_and_docs_need_no_key(anonymous: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/ui/searches/any-id", "/docs", "/openapi.json"):
        assert anonymous.get(path).status_code == 200, path


def test_a_used_key_records_when_it_was_last_used(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    (key,) = admin.list_keys(sessions, "acme")
    assert key.last_used_at is None
    client.get("/searches")
    (key,) = admin.list_keys(sessions, "acme")
    assert key.last_used_at is not None


def test_with_auth_off_every_caller_is_the_local_tenant(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    acme = tenant_key(sessions, "acme")
    with keyed_client(settings, acme) as keyed:
        hidden = keyed.post("/searches", json=TINY_SPEC).json()["id"]
    with keyed_client(settings.model_copy(update={"auth": "off"}), None) as open_client:
        created = open_client.post("/searches", json=TINY_SPEC)
        assert created.status_code == 201, created.text
        listed = open_client.get("/searches").json()["items"]
        assert [item["id"] for item in listed] == [created.json()["id"]]
        assert open_client.get(f"/searches/{hidden}").status_code == 404
    with sessions() as session:
        assert session.get(Search, created.json()["id"]).tenant == "local"
    assert "local" in [tenant.name for tenant in admin.list_tenants(sessions)]
