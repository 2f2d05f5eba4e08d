"""A search's life on the real databases: claim, lease, events, artifacts, the end."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle, repository, tenants
from jobs.db import unit_of_work, utcnow
from jobs.errors import StaleAttemptError
from jobs.models import Search
from jobs.settings import Settings
from jobs.spec import SearchSpec
from jobs.states import State

LEASE = 60


def new_search(sessions: sessionmaker[Session], search_id: str = "s-1") -> str:
    with unit_of_work(sessions) as session:
        tenants.ensure_tenant(session, tenants.LOCAL)
        document = SearchSpec().model_dump(mode="json")
        repository.add_search(session, search_id, document, tenant=tenants.LOCAL)
    return search_id


def claim(sessions: sessionmaker[Session], search_id: str, max_attempts: int = 3) -> Search | None:
    with unit_of_work(sessions) as session:
        return lifecycle.claim(session, search_id, LEASE, max_attempts)


def state_of(sessions: sessionmaker[Session], search_id: str) -> Search:
    with sessions() as session:
        return repository.get_search(session, search_id)


def event_types(sessions: sessionmaker[Session], search_id: str) -> list[tuple[int, str, dict]]:
    with sessions() as session:
        return [(e.seq, e.type, e.data) for e in repository.events_after(session, search_id, 0, 99)]


def expire_lease(sessions: sessionmaker[Session], search_id: str) -> None:
    with unit_of_work(sessions) as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Search).where(Search.id == search_id).values(lease_expires_at=past))


def test_claim_runs_a_queued_search_once(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    claimed = claim(sessions, search_id)
    assert claimed is not None and (claimed.state, claimed.attempts) == (State.RUNNING, 1)
    assert claimed.lease_expires_at > utcnow()
    assert claim(sessions, search_id) is None  # a duplicate delivery does nothing
    assert state_of(sessions, search_id).attempts == 1


def test_an_expired_lease_is_taken_over_by_the_next_attempt(
    sessions: sessionmaker[Session],
) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    expire_lease(sessions, search_id)
    assert claim(sessions, search_id).attempts == 2
    with unit_of_work(sessions) as session, pytest.raises(StaleAttemptError):
        lifecycle.renew_lease(session, search_id, attempt=1, lease_seconds=LEASE)
    states = [data.get("state") for _, kind, data in event_types(sessions, search_id)]
    assert states == ["queued", "running", "queued", None, "running"]  # None: the log event
    assert state_of(sessions, search_id).lost_attempts == 1


def test_lost_attempts_run_out_with_the_reason(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    for attempt in (1, 2):
        assert claim(sessions, search_id, max_attempts=2).attempts == attempt
        expire_lease(sessions, search_id)
    assert claim(sessions, search_id, max_attempts=2) is None
    search = state_of(sessions, search_id)
    assert (search.state, search.lost_attempts) == (State.FAILED, 2)
    assert search.error.startswith("gave up after 2 attempts that ended without a result")
    assert search.error.endswith(lifecycle.LEASE_EXPIRED)


def test_pauses_and_warm_shutdowns_are_not_lost_attempts(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    for attempt in (1, 2, 3):
        claim(sessions, search_id, max_attempts=1)
        with unit_of_work(sessions) as session:
            lifecycle.hand_back(session, search_id, attempt, "the worker shut down", lost=False)
    search = state_of(sessions, search_id)
    assert (search.state, search.attempts, search.lost_attempts) == (State.QUEUED, 3, 0)


def test_requeue_expired_returns_what_to_send_again(sessions: sessionmaker[Session]) -> None:
    running, fresh = new_search(sessions, "s-1"), new_search(sessions, "s-2")
    claim(sessions, running)
    claim(sessions, fresh)
    expire_lease(sessions, running)
    with unit_of_work(sessions) as session:
        assert lifecycle.requeue_expired(session) == [running]
    assert state_of(sessions, running).state == State.QUEUED
    assert state_of(sessions, fresh).state == State.RUNNING


def test_events_are_numbered_without_gaps(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    attempt = claim(sessions, search_id).attempts
    for step in range(5):
        with unit_of_work(sessions) as session:
            lifecycle.record_progress(session, search_id, attempt, LEASE, {"step": step})
    seqs = [seq for seq, _, _ in event_types(sessions, search_id)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_hand_back_finishes_a_cancel_or_requeues(sessions: sessionmaker[Session]) -> None:
    cancelled, interrupted = new_search(sessions, "s-1"), new_search(sessions, "s-2")
    for search_id in (cancelled, interrupted):
        claim(sessions, search_id)
    with unit_of_work(sessions) as session:
        search = repository.get_search(session, cancelled, lock=True)
        repository.transition(session, search, State.CANCELLING, cancel_requested=True)
    with unit_of_work(sessions) as session:
        assert lifecycle.hand_back(session, cancelled, 1, "stopped", lost=False) == State.CANCELLED
        assert lifecycle.hand_back(session, interrupted, 1, "shutdown", lost=True) == State.QUEUED
    assert state_of(sessions, cancelled).finished_at is not None


def test_finish_stores_the_genotype_with_the_final_state(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    genotype = {"network_path": [0, 1], "cell": [[[0, "skip_connect"], [1, "sep_conv_3x3"]]]}
    with unit_of_work(sessions) as session:
        lifecycle.finish(session, settings.artifact_root, search_id, 1, genotype)
    with sessions() as session:
        (artifact,) = repository.list_artifacts(session, search_id, "genotype")
    assert (settings.artifact_root / artifact.path).is_file()
    assert artifact.path == str(Path(search_id) / "genotype.json")
    search = state_of(sessions, search_id)
    assert (search.state, search.lease_expires_at) == (State.SUCCEEDED, None)
    assert event_types(sessions, search_id)[-1][1:] == ("status", {"state": "succeeded"})


def test_checkpoints_replace_and_forget(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    folder = settings.artifact_root / search_id / "checkpoints"
    folder.mkdir(parents=True)
    first, second = folder / "epoch-0001.pt", folder / "epoch-0002.pt"
    for epoch, path in enumerate((first, second), start=1):
        path.write_bytes(b"x" * epoch)
        checkpoint = {"path": path, "epoch": epoch, "step": 0, "size": epoch, "sha256": "0" * 64}
        removed = [first] if path == second else []
        with unit_of_work(sessions) as session:
            lifecycle.record_checkpoint(
                session, settings.artifact_root, search_id, 1, checkpoint, removed
            )
    with sessions() as session:
        names = [a.name for a in repository.list_artifacts(session, search_id, "checkpoint")]
    assert names == ["epoch-0002.pt"]


def stale_writes(root: Path) -> dict[str, Callable[[Session], object]]:
    """Every write a worker makes, as attempt 1 would make it."""
    checkpoint = {"path": root / "s-1" / "epoch-0001.pt", "epoch": 1, "size": 1, "sha256": "0"}
    return {
        "progress": lambda s: lifecycle.record_progress(s, "s-1", 1, LEASE, {"step": 1}),
        "epoch": lambda s: lifecycle.record_epoch(s, "s-1", 1, LEASE, {}, {}),
        "log": lambda s: lifecycle.record_log(s, "s-1", 1, "hello"),
        "checkpoint": lambda s: lifecycle.record_checkpoint(s, root, "s-1", 1, checkpoint, []),
        "finish": lambda s: lifecycle.finish(s, root, "s-1", 1, {"epoch": 1}),
        "hand_back": lambda s: lifecycle.hand_back(s, "s-1", 1, "stopped", lost=False),
        "fail": lambda s: lifecycle.fail(s, "s-1", 1, "boom"),
        "stop_check": lambda s: lifecycle.stop_requested(s, "s-1", 1),
    }


@pytest.mark.parametrize("write", list(stale_writes(Path("."))))
def test_a_stale_attempt_cannot_write(
    sessions: sessionmaker[Session], settings: Settings, write: str
) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    expire_lease(sessions, search_id)
    claim(sessions, search_id)  # attempt 2 takes over
    before = event_types(sessions, search_id)
    with unit_of_work(sessions) as session, pytest.raises(StaleAttemptError, match="attempt 1"):
        stale_writes(settings.artifact_root)[write](session)
    assert event_types(sessions, search_id) == before
    search = state_of(sessions, search_id)
    assert (search.state, search.attempts) == (State.RUNNING, 2)


def test_a_pause_completes_when_the_worker_lets_go(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    with unit_of_work(sessions) as session:
        assert lifecycle.stop_requested(session, search_id, 1) is False
        search = repository.get_search(session, search_id, lock=True)
        repository.transition(session, search, State.PAUSING)
    with unit_of_work(sessions) as session:
        assert lifecycle.stop_requested(session, search_id, 1) is True
        assert lifecycle.hand_back(session, search_id, 1, "paused", lost=False) == State.PAUSED
    search = state_of(sessions, search_id)
    assert (search.state, search.lease_expires_at, search.lost_attempts) == (State.PAUSED, None, 0)


def test_a_pausing_search_whose_worker_died_is_paused(sessions: sessionmaker[Session]) -> None:
    search_id = new_search(sessions)
    claim(sessions, search_id)
    with unit_of_work(sessions) as session:
        search = repository.get_search(session, search_id, lock=True)
        repository.transition(session, search, State.PAUSING)
    expire_lease(sessions, search_id)
    with unit_of_work(sessions) as session:
        assert lifecycle.requeue_expired(session) == []  # nothing to send: it waits for resume
    assert state_of(sessions, search_id).state == State.PAUSED
