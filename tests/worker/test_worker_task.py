"""The task called in-process, as Celery would call it, with the real Searcher on a tiny search.
tests/e2e runs the same task in a real worker process behind the HTTP API."""

import threading

import pytest
from celery.exceptions import Reject
from service_fixtures import wait_until
from sqlalchemy.orm import Session, sessionmaker
from worker_support import TWO_EPOCHS, queued_search

from jobs import repository, service
from jobs.models import Search
from jobs.settings import Settings
from jobs.tenants import LOCAL
from nas_core import Genotype
from worker.celery_app import SHUTDOWN
from worker.tasks import run_search


def search_row(sessions: sessionmaker[Session], search_id: str = "s-1") -> Search:
    with sessions() as session:
        return repository.get_search(session, search_id)


def event_types(sessions: sessionmaker[Session], search_id: str = "s-1") -> list[str]:
    with sessions() as session:
        return [e.type for e in repository.events_after(session, search_id, 0, 1000)]


@pytest.mark.slow
def test_a_search_runs_to_a_valid_genotype(
    sessions: sessionmaker[Session], worker_settings: Settings
) -> None:
    search_id = queued_search(sessions)
    assert run_search(search_id) == "succeeded"
    assert run_search(search_id) == "skipped"  # a second delivery does nothing
    search = search_row(sessions)
    assert (search.state, search.attempts, search.error) == ("succeeded", 1, None)
    with sessions() as session:
        root = worker_settings.artifact_root
        genotype = service.get_genotype(session, root, search_id, None, tenant=LOCAL)
        (checkpoint,) = service.list_checkpoints(session, search_id, tenant=LOCAL)
    assert Genotype.from_dict(genotype).layers == 2
    kinds = event_types(sessions)
    assert {"progress", "metrics", "genotype", "checkpoint"} <= set(kinds)
    assert kinds[-1] == "status"
    assert (worker_settings.artifact_root / checkpoint.path).stat().st_size == checkpoint.size


def test_a_cancelled_search_is_not_run(
    sessions: sessionmaker[Session], worker_settings: Settings
) -> None:
    search_id = queued_search(sessions)
    with sessions() as session:
        service.cancel_search(session, search_id, tenant=LOCAL)
    assert run_search(search_id) == "skipped"
    assert search_row(sessions).attempts == 0


def test_an_unknown_search_is_dropped(worker_settings: Settings) -> None:
    assert run_search("no-such-search") == "unknown"


def test_a_broken_dataset_fails_with_a_message(
    sessions: sessionmaker[Session], worker_settings: Settings
) -> None:
    spec = {"dataset": {"kind": "folder", "name": "roads", "num_classes": 4}}
    search_id = queued_search(
        sessions, spec=spec | {"training": {"epochs": 1, "arch_start_epoch": 0}}
    )
    assert run_search(search_id) == "failed"
    search = search_row(sessions)
    assert search.state == "failed"
    assert search.error.startswith("dataset problem:")
    assert "roads" in search.error


@pytest.mark.slow
def test_a_shutdown_hands_the_search_back_and_it_resumes(
    sessions: sessionmaker[Session], worker_settings: Settings
) -> None:
    search_id = queued_search(sessions, spec=TWO_EPOCHS)
    outcome: list[BaseException] = []
    runner = threading.Thread(target=_run_into, args=(search_id, outcome))
    runner.start()
    wait_until(lambda: "checkpoint" in event_types(sessions), 120, "the first checkpoint")
    SHUTDOWN.set()  # what worker_shutting_down does
    try:
        runner.join(timeout=120)
    finally:
        SHUTDOWN.clear()
    assert len(outcome) == 1 and isinstance(outcome[0], Reject) and outcome[0].requeue
    assert search_row(sessions).state == "queued"
    assert run_search(search_id) == "succeeded"
    assert search_row(sessions).attempts == 2


def _run_into(search_id: str, outcome: list[BaseException]) -> None:
    try:
        run_search(search_id)
    except Reject as exc:
        outcome.append(exc)
