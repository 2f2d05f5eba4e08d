"""Fault injection on a real service: worker processes killed, PostgreSQL restarted, Redis
stopped, the API restarted under a streaming client, a checkpoint truncated, a task delivered
twice, pause, resume and cancel. Every search must end as if nothing had happened.

The reference search runs uninterrupted beside the first case; nas_core resumes bit-exactly on
the CPU, so every search of the same spec that succeeds must end with its α, β and genotype."""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import torch
from celery import Celery
from checks import (
    SMALL,
    SPEC,
    assert_consistent,
    assert_succeeded,
    checkpoint_path,
    final_arch,
    states,
)
from cluster import Cluster, in_epoch, last_state
from service_fixtures import wait_until

from jobs.queue import RUN_SEARCH, celery_config
from jobs.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
REDIS_OUTAGE_SECONDS = 5


@pytest.fixture(scope="session")
def reference(cluster: Cluster) -> str:
    """An uninterrupted search of SPEC (submitted, not awaited: it runs beside the first case)."""
    return cluster.submit(SPEC)


@pytest.fixture(scope="session")
def expected(cluster: Cluster, reference: str) -> dict[str, Any]:
    """What every search of SPEC must end with: the reference's genotype, α and β."""
    cluster.wait_state(reference, "succeeded", "failed")
    alphas, betas = final_arch(cluster, reference)
    return {"genotype": assert_succeeded(cluster, reference), "alphas": alphas, "betas": betas}


def assert_same_result(cluster: Cluster, search_id: str, expected: dict[str, Any]) -> None:
    assert assert_succeeded(cluster, search_id) == expected["genotype"]
    alphas, betas = final_arch(cluster, search_id)
    assert torch.equal(alphas, expected["alphas"])
    assert torch.equal(betas, expected["betas"])


def test_a_killed_worker_is_taken_over_and_ends_bit_exact(
    live: Cluster, reference: str, request: pytest.FixtureRequest
) -> None:
    victim = live.submit(SPEC)  # beside the reference: one search for each worker
    live.wait_for(victim, in_epoch(2), "the second epoch")  # its first checkpoint is saved
    killed = live.worker_running(victim)
    live.workers[killed].kill()  # SIGKILL mid-epoch: no checkpoint, no goodbye
    live.wait_state(victim, "succeeded", "failed")
    assert_same_result(live, victim, request.getfixturevalue("expected"))
    events = live.events(victim)
    assert states(events) == ["queued", "running", "queued", "running", "succeeded"]
    assert any("lease expired" in e["data"].get("message", "") for e in events)
    search = live.search(victim)
    assert (search["attempts"], search["lost_attempts"]) == (2, 1)
    (other,) = set(live.workers) - {killed}
    assert f"search {victim}: attempt 2 claimed" in live.workers[other].output()


def test_pause_then_resume_continues_from_the_checkpoint(
    live: Cluster, expected: dict[str, Any]
) -> None:
    search_id = live.submit(SPEC)
    live.wait_for(search_id, in_epoch(2), "the second epoch")
    assert live.post(search_id, "pause").json()["state"] in ("pausing", "paused")
    live.wait_state(search_id, "paused")
    assert live.search(search_id)["progress"]["epoch"] == 2  # stopped inside the second epoch
    assert live.post(search_id, "resume").json()["state"] == "queued"
    live.wait_state(search_id, "succeeded", "failed")
    assert_same_result(live, search_id, expected)
    assert states(live.events(search_id)) == [
        *("queued", "running", "pausing", "paused", "queued", "running", "succeeded"),
    ]
    assert live.search(search_id)["lost_attempts"] == 0


def test_a_truncated_checkpoint_is_passed_over_on_resume(
    live: Cluster, expected: dict[str, Any]
) -> None:
    search_id = live.submit(SPEC)
    live.wait_for(search_id, in_epoch(2), "the second epoch")
    live.post(search_id, "pause")
    live.wait_state(search_id, "paused")
    checkpoints = live.http.get(f"/searches/{search_id}/checkpoints").json()["items"]
    newest = max(checkpoints, key=lambda c: c["created_at"])["name"]
    path = checkpoint_path(live, search_id, newest)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    live.post(search_id, "resume")
    live.wait_state(search_id, "succeeded", "failed")
    assert_same_result(live, search_id, expected)  # from the checkpoint before: still exact
    logs = [e["data"]["message"] for e in live.events(search_id) if e["type"] == "log"]
    assert any(message.startswith(f"checkpoint {newest} is damaged") for message in logs)


def test_postgres_restarted_during_a_search(live: Cluster) -> None:
    search_id = live.submit(SMALL)
    live.wait_for(search_id, in_epoch(1), "the first progress")
    live.postgres.stop()
    time.sleep(2)  # the worker's next writes meet a closed door
    live.postgres.start()
    live.wait_state(search_id, "succeeded", "failed")
    assert_succeeded(live, search_id)


def test_redis_stopped_for_seconds_during_a_search(live: Cluster) -> None:
    running = live.submit(SMALL)
    live.wait_for(running, in_epoch(1), "the first progress")
    live.redis.stop()
    outage = live.http.post("/searches", json=SMALL)
    time.sleep(REDIS_OUTAGE_SECONDS)
    live.redis.start()
    # A submit while the broker is away is refused with a clear answer, not lost.
    assert (outage.status_code, outage.json()["error"]) == (503, "broker_unavailable")
    after = live.submit(SMALL)  # the workers have found the broker again
    for search_id in (running, after):
        live.wait_state(search_id, "succeeded", "failed")
        assert_succeeded(live, search_id)


def sse_ids(cluster: Cluster, search_id: str, last_id: int) -> Iterator[int]:
    """Event ids from a live SSE stream that starts after `last_id`."""
    headers = {"Last-Event-ID": str(last_id)}
    timeout = httpx.Timeout(30, read=60)
    path = f"/searches/{search_id}/events"
    with cluster.http.stream("GET", path, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("id: "):
                yield int(line.removeprefix("id: "))


def test_an_sse_client_resumes_across_an_api_restart(live: Cluster) -> None:
    search_id, seen = live.submit(SMALL), []
    with pytest.raises(httpx.TransportError):
        for event_id in sse_ids(live, search_id, 0):
            seen.append(event_id)
            if len(seen) == 3:
                assert last_state(live.events(search_id)) == "running"
                live.api.kill()  # the server goes away mid-stream
    live.start_api()
    seen += sse_ids(live, search_id, seen[-1])  # reconnect as EventSource does
    assert seen == [e["seq"] for e in live.events(search_id)]  # none missed, none twice
    assert_succeeded(live, search_id)


def test_a_duplicate_delivery_runs_nothing_twice(live: Cluster) -> None:
    search_id = live.submit(SMALL)
    duplicate = f"duplicate-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=live.env["ADL_BROKER_URL"], queue=live.env["ADL_QUEUE"])
    celery = Celery(set_as_current=False)
    celery.conf.update(celery_config(settings))
    celery.send_task(RUN_SEARCH, args=[search_id], task_id=duplicate)  # the other worker's
    celery.close()
    done = f"[{duplicate}] succeeded"
    wait_until(
        lambda: any(done in w.output() for w in live.workers.values()),
        120,
        "the duplicate delivery",
    )
    live.wait_state(search_id, "succeeded", "failed")
    assert_succeeded(live, search_id)
    assert states(live.events(search_id)).count("running") == 1
    assert live.search(search_id)["attempts"] == 1
    claims = "".join(w.output() for w in live.workers.values()).count(f"search {search_id}: ")
    assert claims == 1  # one worker claimed it; the other delivery was skipped


def test_cancel_while_paused(live: Cluster) -> None:
    search_id = live.submit(SPEC)
    live.wait_for(search_id, in_epoch(1), "the first progress")
    live.post(search_id, "pause")
    live.wait_state(search_id, "paused")
    response = live.post(search_id, "cancel")
    assert (response.status_code, response.json()["state"]) == (202, "cancelled")
    events = live.events(search_id)
    assert_consistent(events)
    assert states(events) == ["queued", "running", "pausing", "paused", "cancelled"]
    assert live.post(search_id, "resume").status_code == 409
    assert live.http.get(f"/searches/{search_id}/genotype").json()["state"] == "cancelled"
