"""Submissions of one tenant that arrive at the same moment, on the real databases: the quota
and the Idempotency-Key hold under the race (the tenant row is locked for a submission)."""

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jobs import service, tenants
from jobs.db import unit_of_work
from jobs.errors import QuotaExceededError
from jobs.queue import QueueClient
from jobs.settings import Settings
from jobs.spec import SearchSpec

SPEC = SearchSpec.model_validate({"dataset": {"kind": "synthetic"}})
QUOTA = tenants.Quota(max_queued=1, max_active=1)


@pytest.fixture
def queue(settings: Settings) -> Iterator[QueueClient]:
    client = QueueClient(settings)
    yield client
    client.close()


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; each result or the error it raised."""
    start, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except QuotaExceededError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def submitter(
    sessions: sessionmaker[Session], queue: QueueClient, settings: Settings, key: str | None
) -> Callable[[], service.Submission]:
    def submit() -> service.Submission:
        with sessions() as session:
            return service.submit_search(
                session, queue, SPEC, settings.data_root, key, tenant="acme", quota=QUOTA
            )

    return submit


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        tenants.create_tenant(session, "acme")


@pytest.mark.usefixtures("acme")
def test_two_submissions_at_once_cannot_both_pass_the_quota(
    sessions: sessionmaker[Session], queue: QueueClient, settings: Settings
) -> None:
    results = at_once(*(submitter(sessions, queue, settings, None) for _ in range(2)))
    assert sorted(type(result).__name__ for result in results) == [
        "QuotaExceededError",
        "Submission",
    ]


@pytest.mark.usefixtures("acme")
def test_two_submissions_with_one_key_at_once_make_one_search(
    sessions: sessionmaker[Session], queue: QueueClient, settings: Settings
) -> None:
    first, second = at_once(*(submitter(sessions, queue, settings, "same") for _ in range(2)))
    assert isinstance(first, service.Submission) and isinstance(second, service.Submission)
    assert first.search.id == second.search.id
    assert sorted([first.replayed, second.replayed]) == [False, True]
