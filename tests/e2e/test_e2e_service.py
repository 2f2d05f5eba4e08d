"""Searches through HTTP, run by a real Celery worker process. The tests share one service and
three searches submitted up front, in this order, to a single worker:
A (tiny, runs to its genotype), B (long, cancelled while it runs), C (cancelled while queued)."""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_fixtures import wait_until

from nas_core import Genotype

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
DATASET = {"kind": "synthetic", "num_classes": 3, "num_samples": 16, "image_size": 48}
SPACE = {"layers": 2, "filter_multiplier": 2}
TINY = {
    "dataset": DATASET,
    "search_space": SPACE,
    "training": {"epochs": 2, "arch_start_epoch": 1, "batch_size": 2, "crop_size": 32},
}
LONG = {**TINY, "training": {**TINY["training"], "epochs": 30}}
KEY = {"Idempotency-Key": "e2e-a"}


@pytest.fixture(scope="module")
def api(live_service: Any) -> Iterator[httpx.Client]:
    auth = {"authorization": f"Bearer {live_service.key}"}
    with httpx.Client(base_url=live_service.base_url, headers=auth, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def searches(api: httpx.Client) -> dict[str, str]:
    ids = {}
    for name, spec, headers in (("A", TINY, KEY), ("B", LONG, {}), ("C", TINY, {})):
        response = api.post("/searches", json=spec, headers=headers)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def sse(api: httpx.Client, search_id: str, **headers: str) -> Iterator[dict[str, Any]]:
    """Events as they arrive on the live stream: {"id", "event", "data"} with data parsed."""
    timeout = httpx.Timeout(30, read=120)
    path = f"/searches/{search_id}/events"
    with api.stream("GET", path, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        event: dict[str, Any] = {}
        for line in response.iter_lines():
            if line and not line.startswith(":"):
                field, _, value = line.partition(": ")
                event[field] = json.loads(value) if field == "data" else value
            elif not line and "id" in event:
                yield event
                event = {}


def test_a_repeated_submit_returns_the_first_search(
    api: httpx.Client, searches: dict[str, str]
) -> None:
    again = api.post("/searches", json=TINY, headers=KEY)
    assert (again.status_code, again.json()["id"]) == (201, searches["A"])
    other = api.post("/searches", json=LONG, headers=KEY)
    assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")


def test_bad_requests_get_clear_4xx(api: httpx.Client) -> None:
    bad = api.post("/searches", json={**TINY, "training": {"batch_size": 1, "epochs": 2}})
    assert bad.status_code == 422
    fields = {problem["field"] for problem in bad.json()["detail"]}
    assert fields == {"training.batch_size"}
    assert api.get("/searches/not-a-search").status_code == 404


def test_a_queued_search_is_cancelled_at_once(api: httpx.Client, searches: dict[str, str]) -> None:
    response = api.post(f"/searches/{searches['C']}/cancel")
    assert (response.status_code, response.json()["state"]) == (202, "cancelled")


def test_a_search_streams_live_to_a_valid_genotype(
    api: httpx.Client, searches: dict[str, str]
) -> None:
    search_id, events = searches["A"], []
    for event in sse(api, search_id):
        if event["event"] == "progress" and not any(e["event"] == "progress" for e in events):
            # the stream delivers while the search still runs: it is live, not replayed
            assert api.get(f"/searches/{search_id}").json()["state"] == "running"
        events.append(event)
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert {"progress", "metrics", "genotype", "checkpoint"} <= {e["event"] for e in events}
    assert events[-1]["data"]["data"] == {"state": "succeeded"}
    genotype = Genotype.from_dict(api.get(f"/searches/{search_id}/genotype").json())
    assert genotype.layers == SPACE["layers"]
    first_epoch = api.get(f"/searches/{search_id}/genotype", params={"epoch": 1})
    assert Genotype.from_dict(first_epoch.json()).validate()
    snapshot = api.get(f"/searches/{search_id}").json()
    assert (snapshot["progress"]["epoch"], snapshot["progress"]["epochs"]) == (2, 2)
    assert snapshot["progress"]["miou"] is not None


def test_the_stream_resumes_after_last_event_id(
    api: httpx.Client, searches: dict[str, str]
) -> None:
    resumed = [int(e["id"]) for e in sse(api, searches["A"], **{"Last-Event-ID": "3"})]
    path, json_only = f"/searches/{searches['A']}/events", {"accept": "application/json"}
    page = api.get(path, params={"after": 3}, headers=json_only)
    assert resumed[0] == 4
    assert resumed == [e["seq"] for e in page.json()["events"]]


def test_checkpoints_download_with_a_matching_sha256(
    api: httpx.Client, searches: dict[str, str]
) -> None:
    checkpoints = api.get(f"/searches/{searches['A']}/checkpoints").json()["items"]
    assert [c["epoch"] for c in checkpoints] == [1, 2]
    for checkpoint in checkpoints:
        path = f"/searches/{searches['A']}/checkpoints/{checkpoint['name']}"
        download = api.get(path)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == checkpoint["sha256"]
        assert download.headers["etag"] == f'"{checkpoint["sha256"]}"'
        assert int(download.headers["content-length"]) == checkpoint["size"]


def test_a_running_search_stops_at_its_next_step(
    api: httpx.Client, searches: dict[str, str]
) -> None:
    search_id, states = searches["B"], []
    for event in sse(api, search_id):
        if event["event"] == "progress" and "cancelling" not in states:
            cancel = api.post(f"/searches/{search_id}/cancel")
            assert (cancel.status_code, cancel.json()["state"]) == (202, "cancelling")
            states.append("cancelling")
        if event["event"] == "status":
            states.append(event["data"]["data"]["state"])
    assert states[-1] == "cancelled"
    search = api.get(f"/searches/{search_id}").json()
    assert search["progress"]["epoch"] < LONG["training"]["epochs"]
    assert api.get(f"/searches/{search_id}/checkpoints").json()["items"]  # saved before stopping
    assert api.post(f"/searches/{search_id}/cancel").status_code == 409


def test_the_cancelled_delivery_does_nothing(
    api: httpx.Client, searches: dict[str, str], live_service: Any
) -> None:
    wait_until(
        lambda: "'skipped'" in live_service.worker_output(), 120, "the worker to take C's task"
    )
    search = api.get(f"/searches/{searches['C']}").json()
    assert (search["state"], search["attempts"], search["started_at"]) == ("cancelled", 0, None)
