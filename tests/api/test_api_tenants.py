"""Tenants see only their own searches: another tenant's id answers exactly as an unknown one,
on every route, and Idempotency-Keys are per tenant. The worker's part is played through
jobs.lifecycle, so the other tenant's search has events, a genotype and a checkpoint."""

import copy
from collections.abc import Iterator

import pytest
from api_support import TINY_SPEC, keyed_client, tenant_key, write_checkpoint
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from jobs.settings import Settings

UNKNOWN = "00000000-0000-0000-0000-000000000000"
JSON = {"accept": "application/json"}
ROUTES = [
    ("GET", "", {}),
    ("GET", "/events", JSON),  # the JSON page
    ("GET", "/events", {"accept": "text/event-stream"}),  # the stream
    ("GET", "/events?after=1", {"last-event-id": "1"}),
    ("GET", "/genotype", {}),
    ("GET", "/genotype?epoch=1", {}),
    ("GET", "/checkpoints", {}),
    ("GET", "/checkpoints/epoch-0001.pt", {}),
    ("GET", "/architecture", {}),
    ("POST", "/cancel", {}),
    ("POST", "/pause", {}),
    ("POST", "/resume", {}),
]


@pytest.fixture
def globex(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """A client of the tenant `globex`; `client` is the tenant `acme`."""
    with keyed_client(settings, tenant_key(sessions, "globex")) as client:
        yield client


def submitted(client: TestClient, spec: dict | None = None, **headers: str) -> str:
    response = client.post("/searches", json=spec or TINY_SPEC, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def call(client: TestClient, method: str, search_id: str, path: str, headers: dict) -> Response:
    return client.request(method, f"/searches/{search_id}{path}", headers=headers)


def as_unknown(response: Response, search_id: str) -> tuple[int, dict]:
    """The status and body, with the id in it replaced: what an unknown id would answer."""
    detail = response.json()["detail"]
    body = {**response.json(), "detail": detail.replace(search_id, UNKNOWN)}
    return response.status_code, body


def test_another_tenants_search_answers_as_an_unknown_id(
    client: TestClient,
    globex: TestClient,
    settings: Settings,
    sessions: sessionmaker[Session],
) -> None:
    theirs = submitted(globex)
    write_checkpoint(settings, sessions, theirs)  # running, epoch 1 done, a checkpoint kept
    for method, path, headers in ROUTES:
        unknown = call(client, method, UNKNOWN, path, headers)
        assert unknown.status_code == 404, (path, unknown.text)
        foreign = call(client, method, theirs, path, headers)
        assert as_unknown(foreign, theirs) == (404, unknown.json()), (method, path)
    assert globex.get(f"/searches/{theirs}").json()["state"] == "running"  # nothing changed


def test_the_owner_still_reaches_its_search(
    client: TestClient,
    globex: TestClient,
    settings: Settings,
    sessions: sessionmaker[Session],
) -> None:
    theirs = submitted(globex)
    content = write_checkpoint(settings, sessions, theirs)
    for path, headers in [("", {}), ("/events", JSON), ("/genotype?epoch=1", {})]:
        assert call(globex, "GET", theirs, path, headers).status_code == 200, path
    assert globex.get(f"/searches/{theirs}/architecture").json()["epoch"] == 1
    (checkpoint,) = globex.get(f"/searches/{theirs}/checkpoints").json()["items"]
    download = globex.get(f"/searches/{theirs}/checkpoints/{checkpoint['name']}")
    assert download.content == content
    assert globex.post(f"/searches/{theirs}/pause").json()["state"] == "pausing"
    assert globex.post(f"/searches/{theirs}/cancel").json()["state"] == "cancelling"


def test_a_stream_of_the_owner_runs_to_the_end(globex: TestClient) -> None:
    theirs = submitted(globex)
    globex.post(f"/searches/{theirs}/cancel")
    with globex.stream("GET", f"/searches/{theirs}/events") as stream:
        text = "".join(stream.iter_text())
    assert stream.status_code == 200
    assert '"state": "cancelled"' in text


def test_another_tenant_cannot_resume_or_cancel_a_paused_search(
    client: TestClient, globex: TestClient
) -> None:
    theirs = submitted(globex)
    assert globex.post(f"/searches/{theirs}/pause").json()["state"] == "paused"
    for action in ("resume", "cancel"):
        assert client.post(f"/searches/{theirs}/{action}").status_code == 404
    assert globex.get(f"/searches/{theirs}").json()["state"] == "paused"
    assert globex.post(f"/searches/{theirs}/resume").json()["state"] == "queued"


def test_listings_show_only_the_callers_searches(client: TestClient, globex: TestClient) -> None:
    mine = [submitted(client), submitted(client)]
    theirs = submitted(globex)
    for path in ("/searches", "/dashboard/searches"):
        assert [item["id"] for item in client.get(path).json()["items"]] == mine[::-1]
        assert [item["id"] for item in globex.get(path).json()["items"]] == [theirs]
    one = client.get("/searches", params={"limit": 1}).json()
    rest = client.get("/searches", params={"limit": 5, "cursor": one["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [mine[0]]
    assert rest["next_cursor"] is None


def test_idempotency_keys_are_per_tenant(client: TestClient, globex: TestClient) -> None:
    other_spec = copy.deepcopy(TINY_SPEC)
    other_spec["training"]["epochs"] = 3
    mine = submitted(client, **{"Idempotency-Key": "nightly"})
    theirs = globex.post("/searches", json=other_spec, headers={"Idempotency-Key": "nightly"})
    assert theirs.status_code == 201, theirs.text  # not a 409: acme's key is not globex's
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine
    again = globex.post("/searches", json=other_spec, headers={"Idempotency-Key": "nightly"})
    assert (again.json()["id"], again.headers["idempotent-replayed"]) == (
        theirs.json()["id"],
        "true",
    )
    assert submitted(client, **{"Idempotency-Key": "nightly"}) == mine
