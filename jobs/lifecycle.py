"""What the worker does to a search's row, one function per step of its life. The caller's
session scope commits. A claim numbers the attempt; every later write names that attempt and is
refused (StaleAttemptError) once another attempt owns the search, so a worker that wakes up after
being written off cannot corrupt it. A lease, renewed with each write, marks the worker alive."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import repository
from jobs.artifacts import relative_to_root, search_folder, write_json_atomic
from jobs.db import utcnow
from jobs.errors import StaleAttemptError
from jobs.models import Artifact, Search
from jobs.states import LIVE, State

GENOTYPE_FILE = "genotype.json"
LEASE_EXPIRED = "lease expired: its worker stopped; resuming from the last checkpoint"


def claim(session: Session, search_id: str, lease_seconds: int, max_attempts: int) -> Search | None:
    """queued -> running, attempt + 1, under the row lock. None when there is nothing to run:
    a duplicate delivery, a search another worker holds, a paused or finished one, or one whose
    lost attempts ran out (it is failed here, with the last one's reason)."""
    search = repository.get_search(session, search_id, lock=True)
    if search.state in LIVE and search.lease_expires_at and search.lease_expires_at < utcnow():
        release(session, search, reason=LEASE_EXPIRED, lost=True)
    if search.state != State.QUEUED:
        return None
    if search.lost_attempts >= max_attempts:
        _give_up(session, search)
        return None
    return repository.transition(
        session,
        search,
        State.RUNNING,
        attempts=search.attempts + 1,
        lease_expires_at=utcnow() + timedelta(seconds=lease_seconds),
        started_at=search.started_at or utcnow(),
    )


def _give_up(session: Session, search: Search) -> None:
    last = repository.latest_event(session, search.id, "log")
    reason = last.data.get("message") if last else "unknown"
    message = (
        f"gave up after {search.lost_attempts} attempts that ended without a result "
        f"(ADL_MAX_ATTEMPTS); the last one: {reason}"
    )
    repository.transition(session, search, State.FAILED, error=message, finished_at=utcnow())


def release(session: Session, search: Search, reason: str, lost: bool) -> State:
    """A live search's attempt ends without an outcome: cancelling -> cancelled, pausing ->
    paused, running -> queued (to resume from its checkpoint). `lost`: the attempt died or hit
    a blip, which counts towards ADL_MAX_ATTEMPTS; a pause or a warm shutdown does not."""
    target = {State.CANCELLING: State.CANCELLED, State.PAUSING: State.PAUSED}
    state = target.get(State(search.state), State.QUEUED)
    fields: dict[str, Any] = {"lease_expires_at": None}
    if state == State.CANCELLED:
        fields["finished_at"] = utcnow()
    if lost:
        fields["lost_attempts"] = search.lost_attempts + 1
    repository.transition(session, search, state, **fields)
    repository.append_event(
        session, search.id, "log", {"message": reason, "attempt": search.attempts}
    )
    return state


def hold(session: Session, search_id: str, attempt: int, lease_seconds: int | None) -> Search:
    """The row, locked, while `attempt` still owns it (and its lease renewed when
    `lease_seconds` is given); StaleAttemptError once the search has moved on without it."""
    search = repository.get_search(session, search_id, lock=True)
    if search.attempts != attempt or search.state not in LIVE:
        raise StaleAttemptError(search_id, attempt, search.attempts, search.state)
    if lease_seconds is not None:
        search.lease_expires_at = utcnow() + timedelta(seconds=lease_seconds)
        session.flush()
    return search


def renew_lease(session: Session, search_id: str, attempt: int, lease_seconds: int) -> None:
    hold(session, search_id, attempt, lease_seconds)


def record_progress(
    session: Session, search_id: str, attempt: int, lease_seconds: int, progress: dict[str, Any]
) -> None:
    """A progress event, and the lease renewed with it: a worker that reports is alive."""
    hold(session, search_id, attempt, lease_seconds)
    repository.append_event(session, search_id, "progress", progress)


def record_epoch(
    session: Session,
    search_id: str,
    attempt: int,
    lease_seconds: int,
    metrics: dict[str, Any],
    genotype: dict[str, Any],
) -> None:
    """The epoch's validation metrics and the genotype decoded at its end (kept as events, so
    every epoch's architecture stays retrievable)."""
    hold(session, search_id, attempt, lease_seconds)
    repository.append_event(session, search_id, "metrics", metrics)
    repository.append_event(session, search_id, "genotype", genotype)


def record_log(session: Session, search_id: str, attempt: int, message: str) -> None:
    hold(session, search_id, attempt, None)
    repository.append_event(session, search_id, "log", {"message": message, "attempt": attempt})


def stop_requested(session: Session, search_id: str, attempt: int) -> bool:
    """True when a cancel or a pause asks the worker to stop at its next step; raises
    StaleAttemptError when this attempt no longer owns the search (stop without writing)."""
    search = session.execute(
        select(Search.state, Search.attempts).where(Search.id == search_id)
    ).one()
    if search.attempts != attempt or search.state not in LIVE:
        raise StaleAttemptError(search_id, attempt, search.attempts, search.state)
    return search.state != State.RUNNING


def checkpoint_hashes(session: Session, search_id: str) -> dict[str, str]:
    """The sha256 recorded for each checkpoint, by file name: what a resume verifies."""
    return {a.name: a.sha256 for a in repository.list_artifacts(session, search_id, "checkpoint")}


def record_checkpoint(
    session: Session,
    root: Path,
    search_id: str,
    attempt: int,
    checkpoint: dict[str, Any],
    removed: list[Path],
) -> None:
    """Record a checkpoint file (path, epoch, size, sha256, is_best) and forget deleted ones."""
    hold(session, search_id, attempt, None)
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


def finish(
    session: Session, root: Path, search_id: str, attempt: int, genotype: dict[str, Any]
) -> None:
    """Store the genotype and flip to succeeded in the same transaction as the final event."""
    search = hold(session, search_id, attempt, None)
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


def hand_back(session: Session, search_id: str, attempt: int, reason: str, lost: bool) -> State:
    """The search loop stopped early or hit a passing error: a pending cancel or pause
    completes, else the search is queued again to resume from its checkpoint."""
    return release(session, hold(session, search_id, attempt, None), reason, lost)


def fail(session: Session, search_id: str, attempt: int, message: str) -> None:
    _end(session, hold(session, search_id, attempt, None), State.FAILED, error=message)


def _end(session: Session, search: Search, state: State, **fields: Any) -> None:
    repository.transition(
        session, search, state, finished_at=utcnow(), lease_expires_at=None, **fields
    )


def requeue_expired(session: Session, now: datetime | None = None) -> list[str]:
    """Release every search whose lease has expired by `now`; returns the ids to send again."""
    requeued = []
    for search in repository.expired_leases(session, now):
        if release(session, search, reason=LEASE_EXPIRED, lost=True) == State.QUEUED:
            requeued.append(search.id)
    return requeued
