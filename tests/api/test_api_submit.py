import copy
from collections.abc import Callable

import pytest
from api_support import TINY_SPEC, keyed_client, sent_tasks
from fastapi.testclient import TestClient
from service_fixtures import free_port

from jobs.queue import RUN_SEARCH
from jobs.settings import Settings


def test_submit_queues_the_search_and_sends_its_task(
    client: TestClient, settings: Settings
) -> None:
    response = client.post("/searches", json=TINY_SPEC)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/searches/{body['id']}"
    assert (body["state"], body["attempts"], body["progress"]) == ("queued", 0, None)
    assert body["spec"]["training"]["weight_lr"] == 0.025  # the paper's default, filled in
    assert sent_tasks(settings) == [(RUN_SEARCH, [body["id"]])]


def test_a_repeated_idempotency_key_returns_the_first_search(
    client: TestClient, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/searches", json=TINY_SPEC, headers=headers)
    again = client.post("/searches", json=TINY_SPEC, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(sent_tasks(settings)) == 1


def test_an_idempotency_key_with_another_body_conflicts(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-43"}
    first = client.post("/searches", json=TINY_SPEC, headers=headers).json()
    other = copy.deepcopy(TINY_SPEC)
    other["training"]["epochs"] = 3
    response = client.post("/searches", json=other, headers=headers)
    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["search_id"]) == ("idempotency_key_reused", first["id"])


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"training": {"batch_size": 1}}, "training.batch_size", "greater than or equal to 2"),
        ({"training": {"learning_rate": 1}}, "training.learning_rate", "unknown field"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"dataset": {"kind": "folder", "name": "/data/x"}}, "dataset.name", "absolute"),
        ({"dataset": {"kind": "mnist"}}, "dataset.kind", "Input should be"),
        ({"training": {"epochs": 2, "arch_start_epoch": 5}}, "training", "less than epochs"),
    ],
)
def test_an_invalid_spec_names_the_field(
    client: TestClient, change: dict, field: str, words: str
) -> None:
    response = client.post("/searches", json={**TINY_SPEC, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_spec"
    assert any(p["field"] == field and words in p["message"] for p in body["detail"]), body


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_spec_is_a_422(client: TestClient, payload: bytes) -> None:
    response = client.post(
        "/searches", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_spec"


def test_a_missing_dataset_folder_is_a_422(client: TestClient) -> None:
    spec = {"dataset": {"kind": "folder", "name": "roads", "num_classes": 4}}
    response = client.post("/searches", json=spec | {"training": TINY_SPEC["training"]})
    assert response.status_code == 422
    assert response.json()["error"] == "dataset_not_found"
    assert "roads" in response.json()["detail"]


def test_an_existing_dataset_folder_is_accepted(
    submit: Callable[..., str], settings: Settings
) -> None:
    (settings.data_root / "roads").mkdir()
    spec = {"dataset": {"kind": "folder", "name": "roads", "num_classes": 4}}
    assert submit(spec | {"training": TINY_SPEC["training"]})


def test_an_unreachable_broker_fails_the_search_with_a_503(
    settings: Settings, api_key: str
) -> None:
    dead_broker = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    headers = {"Idempotency-Key": "retry-me"}
    with keyed_client(dead_broker, api_key) as client:
        response = client.post("/searches", json=TINY_SPEC, headers=headers)
        assert response.status_code == 503
        assert response.json()["error"] == "broker_unavailable"
        (search,) = client.get("/searches").json()["items"]
        assert search["state"] == "failed"
        assert "unreachable" in search["error"]
    with keyed_client(settings, api_key) as client:  # the key is free for a retry
        retry = client.post("/searches", json=TINY_SPEC, headers=headers)
        assert retry.status_code == 201
        assert retry.json()["id"] != search["id"]
