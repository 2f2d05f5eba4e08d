"""What the worker does to a search's row, one function per step of its life. The caller's
session scope commits; a lease (renewed with each progress write) marks the worker alive."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs import repository
from jobs.artifacts import relative_to_root, search_folder, write_json_atomic
from jobs.db import utcnow
from jobs.models import Artifact, Search
from jobs.states import TERMINAL, State

GENOTYPE_FILE = "genotype.json"
LIVE = (State.RUNNING, State.CANCELLING)
LEASE_EXPIRED = "lease expired: its worker stopped; resuming from the last checkpoint"


class LeaseLostError(Exception):
    """Another attempt owns the search now (this worker's lease expired): stop touching it."""


def claim(session: Session, search_id: str, lease_seconds: int, max_attempts: int) -> Search | None:
    """queued -> running, attempt + 1, under the row lock. None when there is nothing to run:
    a duplicate delivery, a search another worker holds, a finished or cancelled one."""
    search = repository.get_search(session, search_id, lock=True)
    if search.state in LIVE and search.lease_expires_at and search.lease_expires_at < utcnow():
        release(session, search, reason=LEASE_EXPIRED)
    if search.state != State.QUEUED:
        return None
    if search.attempts >= max_attempts:
        message = f"gave up after {search.attempts} attempts; the worker logs say why each stopped"
        repository.transition(session, search, State.FAILED, error=message, finished_at=utcnow())
        return None
    return repository.transition(
        session,
        search,
        State.RUNNING,
        attempts=search.attempts + 1,
        lease_expires_at=utcnow() + timedelta(seconds=lease_seconds),
        started_at=search.started_at or utcnow(),
    )


def release(session: Session, search: Search, reason: str) -> State:
    """Hand a live search back: running -> queued (to resume from its checkpoint), or
    cancelling -> cancelled (nobody needs to run it any more)."""
    if search.state == State.CANCELLING:
        repository.transition(session, search, State.CANCELLED, finished_at=utcnow())
    else:
        repository.transition(session, search, State.QUEUED, lease_expires_at=None)
    repository.append_event(session, search.id, "log", {"message": reason})
    return State(search.state)


def renew_lease(session: Session, search_id: str, attempt: int, lease_seconds: int) -> None:
    """Extend this attempt's lease; LeaseLostError when the search moved on without it."""
    result = session.execute(
        update(Search)
        .where(Search.id == search_id, Search.attempts == attempt, Search.state.in_(LIVE))
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )
    if result.rowcount != 1:
        raise LeaseLostError(f"search {search_id} is no longer held by attempt {attempt}")


def record_progress(
    session: Session, search_id: str, attempt: int, lease_seconds: int, progress: dict[str, Any]
) -> None:
    """A progress event, and the lease renewed with it: a worker that reports is alive."""
    renew_lease(session, search_id, attempt, lease_seconds)
    repository.append_event(session, search_id, "progress", progress)


def record_epoch(
    session: Session, search_id: str, metrics: dict[str, Any], genotype: dict[str, Any]
) -> None:
    """The epoch's validation metrics and the genotype decoded at its end (kept as events, so
    every epoch's architecture stays retrievable)."""
    repository.append_event(session, search_id, "metrics", metrics)
    repository.append_event(session, search_id, "genotype", genotype)


def cancel_requested(session: Session, search_id: str) -> bool:
    query = select(Search.cancel_requested).where(Search.id == search_id)
    return bool(session.execute(query).scalar_one())


def record_checkpoint(
    session: Session, root: Path, search_id: str, checkpoint: dict[str, Any], removed: list[Path]
) -> None:
    """Record a checkpoint file (path, epoch, size, sha256, is_best) and forget deleted ones."""
    path = Path(checkpoint.pop("path"))
    artifact = Artifact(
        search_id=search_id,
        kind="checkpoint",
        name=path.name,
        path=relative_to_root(root, path),
        size=checkpoint["size"],
        sha256=checkpoint["sha256"],
        epoch=checkpoint["epoch"],
    )
    repository.add_artifact(session, artifact)
    repository.delete_artifacts(session, search_id, [relative_to_root(root, p) for p in removed])
    repository.append_event(session, search_id, "checkpoint", {"name": path.name, **checkpoint})


def finish(session: Session, root: Path, search_id: str, genotype: dict[str, Any]) -> None:
    """Store the genotype and flip to succeeded in the same transaction as the final event."""
    search = repository.get_search(session, search_id, lock=True)
    path = search_folder(root, search_id) / GENOTYPE_FILE
    size, sha256 = write_json_atomic(path, genotype)
    artifact = Artifact(
        search_id=search_id,
        kind="genotype",
        name=GENOTYPE_FILE,
        path=relative_to_root(root, path),
        size=size,
        sha256=sha256,
        epoch=genotype.get("epoch"),
    )
    repository.add_artifact(session, artifact)
    _end(session, search, State.SUCCEEDED)


def hand_back(session: Session, search_id: str, reason: str) -> State:
    """The search loop stopped early or hit a passing error: a pending cancel completes, else
    the search is queued again to resume from its checkpoint. Returns the new state."""
    search = repository.get_search(session, search_id, lock=True)
    if search.state == State.CANCELLING:
        _end(session, search, State.CANCELLED)
        return State.CANCELLED
    return release(session, search, reason=reason)


def fail(session: Session, search_id: str, message: str) -> None:
    search = repository.get_search(session, search_id, lock=True)
    if search.state not in TERMINAL:
        _end(session, search, State.FAILED, error=message)


def _end(session: Session, search: Search, state: State, **fields: Any) -> None:
    repository.transition(
        session, search, state, finished_at=utcnow(), lease_expires_at=None, **fields
    )


def requeue_expired(session: Session, now: datetime | None = None) -> list[str]:
    """Release every search whose lease has expired by `now`; returns the ids to send again."""
    requeued = []
    for search in repository.expired_leases(session, now):
        if release(session, search, reason=LEASE_EXPIRED) == State.QUEUED:
            requeued.append(search.id)
    return requeued
