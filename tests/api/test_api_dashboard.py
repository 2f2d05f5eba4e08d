"""The dashboard's endpoints: its public pages, the searches overview and the per-epoch
architecture snapshots read from genotype events."""

from collections.abc import Callable
from typing import Any

from api_support import keyed_client
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jobs import repository
from jobs.db import unit_of_work
from jobs.settings import Settings
from jobs.spec import PRIMITIVES

THREE_EPOCHS = {
    "dataset": {"kind": "synthetic"},
    "search_space": {"layers": 3},
    "training": {"epochs": 3, "arch_start_epoch": 1},
}


def genotype_event(epoch: int, path: list[int], op: str = "sep_conv_3x3") -> dict[str, Any]:
    genotype = {
        "format": "autodeeplab.genotype/v1",
        "primitives": list(PRIMITIVES),
        "network_path": path,
        "cell": [[[0, op], [1, "skip_connect"]]],
        "blocks": 1,
    }
    alphas = [[epoch / 10] * len(PRIMITIVES)] * 2
    betas = [[[0.0, 0.5 + epoch / 10, 0.5 - epoch / 10]] * 4] * len(path)
    return {"epoch": epoch, "genotype": genotype, "alphas": alphas, "betas": betas}


def append(sessions: sessionmaker[Session], search_id: str, type_: str, data: dict) -> None:
    with unit_of_work(sessions) as session:
        repository.append_event(session, search_id, type_, data)


def test_the_architecture_follows_the_genotype_events(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit(THREE_EPOCHS)
    path = f"/searches/{search_id}/architecture"
    assert client.get(path).json()["error"] == "genotype_not_ready"
    for epoch, levels in ((1, [0, 1, 1]), (2, [0, 0, 1]), (3, [0, 0, 1])):
        append(sessions, search_id, "genotype", genotype_event(epoch, levels))
    latest = client.get(path).json()
    assert (latest["epoch"], latest["epochs"], latest["unchanged_since"]) == (3, 3, 2)
    assert [entry["changed"] for entry in latest["history"]] == [True, True, False]
    assert latest["betas"] == genotype_event(3, [0, 0, 1])["betas"]
    first = client.get(path, params={"epoch": 1}).json()
    assert (first["genotype"]["network_path"], first["alphas"][0][0]) == ([0, 1, 1], 0.1)
    assert client.get(path, params={"epoch": 4}).status_code == 404
    assert client.get(path, params={"epoch": 0}).status_code == 422
    assert client.get("/searches/no-such-search/architecture").status_code == 404


def test_a_re_run_epoch_keeps_its_last_genotype(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    """A search resumed from a checkpoint decodes the epoch it re-ran again."""
    search_id = submit(THREE_EPOCHS)
    append(sessions, search_id, "genotype", genotype_event(1, [0, 1, 1]))
    append(sessions, search_id, "genotype", genotype_event(1, [0, 0, 0], op="dil_conv_3x3"))
    body = client.get(f"/searches/{search_id}/architecture").json()
    assert body["genotype"]["cell"][0][0] == [0, "dil_conv_3x3"]
    assert [entry["epoch"] for entry in body["history"]] == [1]


def test_the_overview_lists_searches_with_their_progress(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    running, queued = submit(THREE_EPOCHS), submit(THREE_EPOCHS)
    progress = {"epoch": 2, "epochs": 3, "step": 1, "steps": 4, "eta_seconds": 12.5}
    append(sessions, running, "progress", progress)
    items = client.get("/dashboard/searches").json()["items"]
    assert [item["id"] for item in items] == [queued, running]
    assert items[0]["progress"] is None
    assert items[1]["progress"]["eta_seconds"] == 12.5
    assert items[1]["spec"]["training"]["epochs"] == 3
    client.post(f"/searches/{queued}/cancel")
    cancelled = client.get("/dashboard/searches", params={"state": "cancelled"}).json()
    assert [item["id"] for item in cancelled["items"]] == [queued]


def test_the_pages_are_public_and_their_data_needs_a_key(settings: Settings, api_key: str) -> None:
    with keyed_client(settings, None) as client:
        for page in ("/", "/ui/searches/any-id"):
            response = client.get(page)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
        script = client.get("/static/js/search.js")
        assert (script.status_code, script.headers["content-type"][:15]) == (200, "text/javascript")
        assert client.get("/static/js/../../routes/dashboard.py").status_code == 404
        assert client.get("/dashboard/searches").status_code == 401
        assert client.get("/searches/x/architecture").status_code == 401
        key = {"authorization": f"Bearer {api_key}"}
        assert client.get("/dashboard/searches", headers=key).status_code == 200


def test_openapi_documents_the_dashboard_endpoints(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/searches/{search_id}/architecture", "/dashboard/searches"} <= set(schema["paths"])
    assert "/" not in schema["paths"]
    architecture = schema["components"]["schemas"]["Architecture"]["properties"]
    assert {"genotype", "alphas", "betas", "history", "unchanged_since"} <= set(architecture)
