"""Per-tenant quotas at submit: searches waiting (queued, paused) and unfinished ones. Beyond
either, 429 with Retry-After; a tenant's own row may override the service-wide limits."""

from collections.abc import Iterator

import pytest
from api_support import TINY_SPEC, keyed_client, run_until_epoch, tenant_key
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from jobs import admin
from jobs.settings import Settings


@pytest.fixture
def limited(settings: Settings, api_key: str) -> Iterator[TestClient]:
    """The tenant `acme` on a service that allows 2 queued and 3 unfinished searches."""
    quotas = {"tenant_max_queued": 2, "tenant_max_active": 3}
    with keyed_client(settings.model_copy(update=quotas), api_key) as client:
        yield client


def submit(client: TestClient, **headers: str) -> Response:
    return client.post("/searches", json=TINY_SPEC, headers=headers)


def assert_quota_refusal(response: Response, *words: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "30"
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "quota_exceeded"
    for word in (*words, "cancel one"):
        assert word in body["detail"], body


def test_the_queued_limit_counts_queued_and_paused(limited: TestClient) -> None:
    first, second = submit(limited).json()["id"], submit(limited).json()["id"]
    limited.post(f"/searches/{first}/pause")
    refused = submit(limited)
    assert_quota_refusal(refused, "'acme'", "2 searches queued or paused", "limit is 2")
    limited.post(f"/searches/{second}/cancel")
    assert submit(limited).status_code == 201


def test_the_active_limit_counts_running_searches_too(
    limited: TestClient, sessions: sessionmaker[Session]
) -> None:
    for _ in range(2):
        run_until_epoch(sessions, submit(limited).json()["id"], epochs_done=0)  # now running
    assert submit(limited).status_code == 201  # 1 queued, 3 unfinished
    assert_quota_refusal(submit(limited), "3 searches not finished", "limit is 3")


def test_a_resume_is_not_refused_at_the_quota(limited: TestClient) -> None:
    paused = submit(limited).json()["id"]
    limited.post(f"/searches/{paused}/pause")
    assert submit(limited).status_code == 201
    assert_quota_refusal(submit(limited), "limit is 2")
    resumed = limited.post(f"/searches/{paused}/resume")
    assert (resumed.status_code, resumed.json()["state"]) == (202, "queued")


def test_an_idempotent_replay_is_answered_at_the_quota(limited: TestClient) -> None:
    first = submit(limited, **{"Idempotency-Key": "retry-1"})
    submit(limited)
    assert_quota_refusal(submit(limited, **{"Idempotency-Key": "retry-2"}))
    replay = submit(limited, **{"Idempotency-Key": "retry-1"})
    assert replay.status_code == 201
    assert (replay.json()["id"], replay.headers["idempotent-replayed"]) == (
        first.json()["id"],
        "true",
    )


def test_a_tenants_override_wins_over_the_service_default(
    settings: Settings, sessions: sessionmaker[Session], limited: TestClient
) -> None:
    quotas = settings.model_copy(update={"tenant_max_queued": 2, "tenant_max_active": 3})
    with keyed_client(quotas, tenant_key(sessions, "bigco", max_queued=4, max_active=10)) as big:
        assert [submit(big).status_code for _ in range(4)] == [201] * 4
        assert_quota_refusal(submit(big), "'bigco'", "4 searches queued or paused", "limit is 4")
    admin.set_quota(sessions, "bigco", {"max_queued": None})  # back to the default of 2
    with keyed_client(quotas, None) as big:
        big.headers["authorization"] = f"Bearer {admin.create_key(sessions, 'bigco').secret}"
        assert_quota_refusal(submit(big), "4 searches queued or paused", "limit is 2")
    assert [submit(limited).status_code for _ in range(2)] == [201] * 2  # acme: its own count
