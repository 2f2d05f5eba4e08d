"""Pause and resume through HTTP; the worker's part is played through jobs.lifecycle."""

from collections.abc import Callable

import pytest
from api_support import keyed_client, run_until_epoch, sent_tasks
from fastapi.testclient import TestClient
from service_fixtures import free_port
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import unit_of_work
from jobs.queue import RUN_SEARCH
from jobs.settings import Settings


def post(client: TestClient, search_id: str, action: str) -> tuple[int, dict]:
    response = client.post(f"/searches/{search_id}/{action}")
    return response.status_code, response.json()


def test_a_queued_search_pauses_at_once_and_resumes_to_the_queue(
    client: TestClient, submit: Callable[..., str], settings: Settings
) -> None:
    search_id = submit()
    status, body = post(client, search_id, "pause")
    assert (status, body["state"]) == (202, "paused")
    assert post(client, search_id, "pause")[1]["state"] == "paused"  # asking again: no change
    status, body = post(client, search_id, "resume")
    assert (status, body["state"]) == (202, "queued")
    # the submit's task (which finds the search paused and does nothing) and the resume's
    assert sent_tasks(settings) == [(RUN_SEARCH, [search_id])] * 2


def test_a_running_search_pauses_when_its_worker_lets_go(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit()
    attempt = run_until_epoch(sessions, search_id, epochs_done=1)
    assert post(client, search_id, "pause")[1]["state"] == "pausing"
    status, body = post(client, search_id, "resume")
    assert (status, body["error"], body["state"]) == (409, "not_paused", "pausing")
    with unit_of_work(sessions) as session:  # what the worker does at its next step
        assert lifecycle.stop_requested(session, search_id, attempt)
        lifecycle.hand_back(session, search_id, attempt, "paused", lost=False)
    assert client.get(f"/searches/{search_id}").json()["state"] == "paused"
    assert post(client, search_id, "resume")[1]["state"] == "queued"


def test_cancel_works_while_paused_and_while_pausing(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    paused, pausing = submit(), submit()
    post(client, paused, "pause")
    run_until_epoch(sessions, pausing, epochs_done=1)
    post(client, pausing, "pause")
    assert post(client, paused, "cancel")[1]["state"] == "cancelled"
    assert post(client, pausing, "cancel")[1]["state"] == "cancelling"


def test_illegal_moves_are_409s(client: TestClient, submit: Callable[..., str]) -> None:
    search_id = submit()
    status, body = post(client, search_id, "resume")
    assert (status, body["error"], body["state"]) == (409, "not_paused", "queued")
    post(client, search_id, "cancel")
    status, body = post(client, search_id, "pause")
    assert (status, body["error"], body["state"]) == (409, "illegal_transition", "cancelled")
    assert post(client, search_id, "resume")[0] == 409


def test_an_unknown_search_is_a_404(client: TestClient) -> None:
    for action in ("pause", "resume"):
        assert post(client, "no-such-search", action)[0] == 404


def test_a_resume_that_cannot_reach_the_broker_stays_paused(
    client: TestClient, submit: Callable[..., str], settings: Settings, api_key: str
) -> None:
    if settings.broker_url.startswith("filesystem"):
        pytest.skip("a folder broker is always reachable")
    search_id = submit()
    post(client, search_id, "pause")
    dead_broker = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with keyed_client(dead_broker, api_key) as dead:
        status, body = post(dead, search_id, "resume")
        assert (status, body["error"]) == (503, "broker_unavailable")
    assert client.get(f"/searches/{search_id}").json()["state"] == "paused"
