import base64
import hashlib
import json
from collections.abc import Callable

import pytest
from api_support import genotype_doc, run_until_epoch, write_checkpoint
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import unit_of_work
from jobs.settings import Settings


def test_unknown_ids_are_404s(client: TestClient) -> None:
    for path in ("", "/events", "/genotype", "/checkpoints", "/checkpoints/x.pt"):
        response = client.get(f"/searches/no-such-id{path}")
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    assert client.post("/searches/no-such-id/cancel").status_code == 404


def test_an_id_or_a_name_with_a_nul_is_unknown(
    client: TestClient, submit: Callable[..., str]
) -> None:
    """PostgreSQL refuses a NUL in a query parameter: these were 500s there, 404s on SQLite."""
    search_id = submit()
    for path in (
        "/searches/a%00b",
        "/searches/a%00b/events",
        f"/searches/{search_id}/checkpoints/a%00b",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/searches/a%00b/cancel").status_code == 404
    cursor = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00+00:00", "a\x00b"]).encode())
    assert client.get("/searches", params={"cursor": cursor.decode()}).status_code == 422


def test_list_is_newest_first_with_a_cursor(client: TestClient, submit: Callable[..., str]) -> None:
    ids = [submit() for _ in range(5)]
    first = client.get("/searches", params={"limit": 2}).json()
    assert [s["id"] for s in first["items"]] == ids[::-1][:2]
    second = client.get("/searches", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    last = client.get("/searches", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    seen = [s["id"] for page in (first, second, last) for s in page["items"]]
    assert seen == ids[::-1]
    assert last["next_cursor"] is None


def test_list_filters_by_state(client: TestClient, submit: Callable[..., str]) -> None:
    queued, cancelled = submit(), submit()
    client.post(f"/searches/{cancelled}/cancel")
    for state, expected in (("queued", queued), ("cancelled", cancelled)):
        items = client.get("/searches", params={"state": state}).json()["items"]
        assert [s["id"] for s in items] == [expected]


def _cursor(created_at: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, "x"]).encode()).decode()


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": _cursor("2026-01-01T00:00:00")},  # no offset: was a 500
        {"cursor": _cursor("0001-01-01T00:00:00+14:00")},  # before year 1 in UTC: was a 500
        {"state": "sleeping"},
        {"limit": 0},
        {"limit": 101},
    ],
)
def test_bad_list_parameters_are_422s(client: TestClient, params: dict) -> None:
    response = client.get("/searches", params=params)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_snapshot_shows_the_latest_progress_and_metrics(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit()
    run_until_epoch(sessions, search_id, epochs_done=1)
    body = client.get(f"/searches/{search_id}").json()
    assert (body["state"], body["attempts"]) == ("running", 1)
    assert body["started_at"] is not None
    progress = body["progress"]
    assert (progress["epoch"], progress["epochs"], progress["step"]) == (1, 2, 4)
    assert (progress["miou"], progress["eta_seconds"]) == (0.25, 5.0)


def test_genotype_is_409_until_the_search_succeeds(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit()
    run_until_epoch(sessions, search_id, epochs_done=1)
    response = client.get(f"/searches/{search_id}/genotype")
    assert response.status_code == 409
    assert response.json()["error"] == "genotype_not_ready"
    assert response.json()["state"] == "running"
    assert client.get(f"/searches/{search_id}/genotype?epoch=1").json() == genotype_doc(1)
    assert client.get(f"/searches/{search_id}/genotype?epoch=2").status_code == 409
    assert client.get(f"/searches/{search_id}/genotype?epoch=3").status_code == 404


def test_the_final_genotype_after_success(
    client: TestClient,
    submit: Callable[..., str],
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    search_id = submit()
    attempt = run_until_epoch(sessions, search_id, epochs_done=2)
    with unit_of_work(sessions) as session:
        lifecycle.finish(session, settings.artifact_root, search_id, attempt, genotype_doc(1))
    assert client.get(f"/searches/{search_id}/genotype").json() == genotype_doc(1)
    assert client.get(f"/searches/{search_id}").json()["finished_at"] is not None


def test_checkpoints_are_listed_and_downloaded(
    client: TestClient,
    submit: Callable[..., str],
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    search_id = submit()
    content = write_checkpoint(settings, sessions, search_id)
    digest = hashlib.sha256(content).hexdigest()
    (listed,) = client.get(f"/searches/{search_id}/checkpoints").json()["items"]
    assert (listed["name"], listed["epoch"], listed["size"]) == ("epoch-0001.pt", 1, len(content))
    assert listed["sha256"] == digest
    download = client.get(f"/searches/{search_id}/checkpoints/epoch-0001.pt")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["etag"] == f'"{digest}"'
    assert download.headers["content-length"] == str(len(content))
    again = client.get(
        f"/searches/{search_id}/checkpoints/epoch-0001.pt",
        headers={"if-none-match": f'"{digest}"'},
    )
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["epoch-0009.pt", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"])
def test_only_recorded_checkpoints_can_be_downloaded(
    client: TestClient,
    submit: Callable[..., str],
    sessions: sessionmaker[Session],
    settings: Settings,
    name: str,
) -> None:
    search_id = submit()
    write_checkpoint(settings, sessions, search_id)
    response = client.get(f"/searches/{search_id}/checkpoints/{name}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
