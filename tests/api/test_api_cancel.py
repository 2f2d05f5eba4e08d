from collections.abc import Callable

from api_support import run_until_epoch
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import unit_of_work


def test_a_queued_search_is_cancelled_at_once(
    client: TestClient, submit: Callable[..., str]
) -> None:
    search_id = submit()
    response = client.post(f"/searches/{search_id}/cancel")
    assert response.status_code == 202
    body = response.json()
    assert (body["state"], body["cancel_requested"]) == ("cancelled", True)
    assert body["finished_at"] is not None


def test_a_running_search_is_asked_to_stop(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit()
    attempt = run_until_epoch(sessions, search_id, epochs_done=1)
    response = client.post(f"/searches/{search_id}/cancel")
    assert response.status_code == 202
    assert (response.json()["state"], response.json()["cancel_requested"]) == ("cancelling", True)
    assert client.post(f"/searches/{search_id}/cancel").status_code == 202  # asking again is fine
    with sessions() as session:
        assert lifecycle.stop_requested(session, search_id, attempt)
    with unit_of_work(sessions) as session:  # what the worker does at its next step
        lifecycle.hand_back(session, search_id, attempt, "stopped", lost=False)
    assert client.get(f"/searches/{search_id}").json()["state"] == "cancelled"


def test_a_finished_search_cannot_be_cancelled(
    client: TestClient, submit: Callable[..., str]
) -> None:
    search_id = submit()
    client.post(f"/searches/{search_id}/cancel")
    response = client.post(f"/searches/{search_id}/cancel")
    assert response.status_code == 409
    assert response.json()["error"] == "search_finished"
    assert response.json()["state"] == "cancelled"
