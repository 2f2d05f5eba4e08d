"""The event log over JSON pages and SSE. In-process SSE is buffered (ENV.md), so these read
finished streams; tests/e2e reads a live one from uvicorn."""

import json
from collections.abc import Callable

from api_support import run_until_epoch
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import unit_of_work

JSON = {"accept": "application/json"}


def parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "id" in fields:
            events.append(fields)
    return events


def finished_search(
    submit: Callable[..., str], sessions: sessionmaker[Session], message: str = "boom"
) -> str:
    search_id = submit()
    attempt = run_until_epoch(sessions, search_id, epochs_done=1)
    with unit_of_work(sessions) as session:
        lifecycle.fail(session, search_id, attempt, message)
    return search_id


def test_json_pages_follow_after(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = submit()
    run_until_epoch(sessions, search_id, epochs_done=1)
    page = client.get(f"/searches/{search_id}/events", headers=JSON).json()
    kinds = [(e["seq"], e["type"]) for e in page["events"]]
    assert kinds == [(1, "status"), (2, "status"), (3, "progress"), (4, "metrics"), (5, "genotype")]
    assert (page["next_after"], page["finished"]) == (5, False)
    rest = client.get(f"/searches/{search_id}/events?after=3", headers=JSON).json()
    assert [e["seq"] for e in rest["events"]] == [4, 5]


def test_sse_ends_after_the_terminal_event(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = finished_search(submit, sessions)
    response = client.get(f"/searches/{search_id}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [int(e["id"]) for e in events] == list(range(1, 7))
    last = json.loads(events[-1]["data"])
    assert events[-1]["event"] == "status"
    assert last["data"] == {"state": "failed", "error": "boom"}
    page = client.get(f"/searches/{search_id}/events", headers=JSON).json()
    assert [json.loads(e["data"]) for e in events] == page["events"]
    assert page["finished"] is True


def test_sse_resumes_after_last_event_id(
    client: TestClient, submit: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    search_id = finished_search(submit, sessions)
    resumed = client.get(f"/searches/{search_id}/events", headers={"Last-Event-ID": "4"})
    assert [e["id"] for e in parse_sse(resumed.text)] == ["5", "6"]
    at_end = client.get(f"/searches/{search_id}/events", headers={"Last-Event-ID": "6"})
    assert parse_sse(at_end.text) == []


def test_a_bad_last_event_id_is_a_422(client: TestClient, submit: Callable[..., str]) -> None:
    search_id = submit()
    response = client.get(f"/searches/{search_id}/events", headers={"Last-Event-ID": "x"})
    assert response.status_code == 422
    assert client.get(f"/searches/{search_id}/events?after=-1").status_code == 422
