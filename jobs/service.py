"""What the API does, one function per use case. Each writing function is one unit of work: it
commits once, and sends to the queue only after that commit. Every function acts for one tenant
(keyword `tenant`) and sees only that tenant's searches: another's answer as unknown ids do."""

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import repository, tenants
from jobs.datasets import resolve_dataset
from jobs.db import utcnow
from jobs.errors import (
    BrokerUnavailableError,
    GenotypeNotReadyError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    NotFoundError,
    NotPausedError,
    SearchFinishedError,
)
from jobs.models import Artifact, Search, SearchEvent
from jobs.queue import QueueClient
from jobs.spec import SearchSpec
from jobs.states import TERMINAL, State
from jobs.tenants import Quota


@dataclass(frozen=True)
class Submission:
    search: Search
    replayed: bool  # True: an earlier request with the same Idempotency-Key made it


def submit_search(
    session: Session,
    queue: QueueClient,
    spec: SearchSpec,
    data_root: Path,
    key: str | None,
    *,
    tenant: str,
    quota: Quota,
) -> Submission:
    """The tenant's row is locked first, so its submissions go one at a time: two cannot both
    slip under the quota, and a repeat of a key finds the first once it is committed. A replay
    is answered before the quota is checked: a client retrying a lost response gets its answer
    even at the limit."""
    document = spec.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    owner = tenants.get_tenant(session, tenant, lock=True)
    if key is not None and (replay := _replay(session, tenant, key, digest)) is not None:
        return Submission(replay, replayed=True)
    _require_dataset(spec, data_root)
    tenants.check_quota(session, owner, quota)
    search = repository.add_search(session, str(uuid.uuid4()), document, tenant=tenant)
    try:
        if key is not None:  # its flush meets a key a concurrent request committed meanwhile
            repository.add_idempotency_key(session, tenant, key, digest, search.id)
        session.commit()
    except IntegrityError:  # the same key, committed by a concurrent request first
        session.rollback()
        if key is None or (replay := _replay(session, tenant, key, digest)) is None:
            raise
        return Submission(replay, replayed=True)
    _enqueue(session, queue, search.id)
    return Submission(search, replayed=False)


def _replay(session: Session, tenant: str, key: str, digest: str) -> Search | None:
    row = repository.get_idempotency_key(session, tenant, key)
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {key!r} was used for a different search spec; use a new key",
            search_id=row.search_id,
        )
    return repository.get_tenant_search(session, tenant, row.search_id)


def _require_dataset(spec: SearchSpec, data_root: Path) -> None:
    if spec.dataset.name is not None:
        resolve_dataset(data_root, spec.dataset.name)


def _enqueue(session: Session, queue: QueueClient, search_id: str) -> None:
    """After the commit. If the broker is down the search fails at once (and its key is freed),
    so the client can simply submit again."""
    try:
        queue.send_run_search(search_id)
    except BrokerUnavailableError as exc:
        search = repository.get_search(session, search_id, lock=True)
        repository.transition(session, search, State.FAILED, error=str(exc.detail))
        repository.delete_idempotency_keys(session, search_id)
        session.commit()
        raise


def cancel_search(session: Session, search_id: str, *, tenant: str) -> Search:
    """A queued or paused search is cancelled at once; a running (or pausing) one is asked to
    stop (the worker saves a checkpoint at its next step and finishes the cancel)."""
    search = repository.get_tenant_search(session, tenant, search_id, lock=True)
    if search.state in TERMINAL:
        raise SearchFinishedError(f"search {search_id} already {search.state}", state=search.state)
    if search.state in (State.QUEUED, State.PAUSED):
        repository.transition(
            session, search, State.CANCELLED, cancel_requested=True, finished_at=utcnow()
        )
    elif search.state in (State.RUNNING, State.PAUSING):
        repository.transition(session, search, State.CANCELLING, cancel_requested=True)
    session.commit()
    return search


def pause_search(session: Session, search_id: str, *, tenant: str) -> Search:
    """A queued search is paused at once; a running one is asked to pause (the worker saves a
    checkpoint at its next step and lets go). Asking again while it pauses changes nothing."""
    search = repository.get_tenant_search(session, tenant, search_id, lock=True)
    if search.state not in (State.PAUSING, State.PAUSED):
        target = State.PAUSED if search.state == State.QUEUED else State.PAUSING
        repository.transition(session, search, target)
        session.commit()
    return search


def resume_search(session: Session, queue: QueueClient, search_id: str, *, tenant: str) -> Search:
    """paused -> queued, sent to the queue again; the worker continues from the checkpoint.
    No quota check: a paused search already counts against both of its tenant's limits."""
    search = repository.get_tenant_search(session, tenant, search_id, lock=True)
    if search.state != State.PAUSED:
        raise NotPausedError(
            f"search {search_id} is {search.state}; only a paused search can be resumed",
            state=search.state,
        )
    repository.transition(session, search, State.QUEUED)
    session.commit()
    try:
        queue.send_run_search(search_id)
    except BrokerUnavailableError:
        # Nothing will run it: stay paused, so the client can simply resume again.
        search = repository.get_tenant_search(session, tenant, search_id, lock=True)
        repository.transition(session, search, State.PAUSED)
        session.commit()
        raise
    return search


def get_search(session: Session, search_id: str, *, tenant: str) -> Search:
    return repository.get_tenant_search(session, tenant, search_id)


def progress_snapshot(session: Session, search_id: str) -> dict[str, Any] | None:
    """The latest progress event merged with the latest per-epoch metrics. Tenant-blind: call
    it with the id of a search already read for its tenant."""
    progress = repository.latest_event(session, search_id, "progress")
    metrics = repository.latest_event(session, search_id, "metrics")
    if progress is None and metrics is None:
        return None
    snapshot = dict(progress.data) if progress else {}
    if metrics is not None:
        snapshot.update(
            miou=metrics.data.get("miou"),
            pixel_accuracy=metrics.data.get("pixel_accuracy"),
            metrics_epoch=metrics.data.get("epoch"),
        )
    return snapshot


def list_searches(
    session: Session, state: State | None, limit: int, cursor: str | None, *, tenant: str
) -> tuple[list[Search], str | None]:
    """A page of the tenant's searches, newest first, and the cursor of the next page (None on
    the last)."""
    rows = repository.list_searches(session, tenant, state, limit + 1, _decode_cursor(cursor))
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
    return page, next_cursor


def _encode_cursor(search: Search) -> str:
    raw = json.dumps([search.created_at.isoformat(), search.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        created_at, search_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or "\x00" in str(search_id):  # never in a cursor of ours
            raise ValueError("a naive time, or an id PostgreSQL refuses as a parameter")
        # OverflowError: a time that leaves datetime's range once moved to UTC
        return moment.astimezone(UTC), str(search_id)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidRequestError("cursor is not one this API returned; start without it") from exc


@dataclass(frozen=True)
class EventPage:
    events: list[SearchEvent]
    finished: bool  # the search is terminal and these are its last events


def read_events(
    session: Session, search_id: str, after: int, limit: int, *, tenant: str
) -> EventPage:
    # Read the state first: a terminal state is committed with its final event, so every event
    # of a search that was terminal before this query is visible to it.
    state = repository.get_tenant_search(session, tenant, search_id).state
    events = repository.events_after(session, search_id, after, limit)
    return EventPage(events, finished=state in TERMINAL and len(events) < limit)


def get_genotype(
    session: Session, artifact_root: Path, search_id: str, epoch: int | None, *, tenant: str
) -> dict[str, Any]:
    """The final genotype, or the one decoded at the end of `epoch` (counted from 1)."""
    search = repository.get_tenant_search(session, tenant, search_id)
    if epoch is not None:
        return _epoch_genotype(session, search, epoch)
    if search.state != State.SUCCEEDED:
        raise GenotypeNotReadyError(
            f"search {search_id} is {search.state}; the final genotype exists once it succeeds "
            "(per-epoch genotypes: ?epoch=N)",
            state=search.state,
        )
    artifact = repository.get_artifact(session, search_id, "genotype", "genotype.json")
    return json.loads((artifact_root / artifact.path).read_text())


def _epoch_genotype(session: Session, search: Search, epoch: int) -> dict[str, Any]:
    epochs = search.spec["training"]["epochs"]
    if not 1 <= epoch <= epochs:
        raise NotFoundError(f"epoch {epoch} is outside 1..{epochs} for search {search.id}")
    event = repository.latest_event(session, search.id, "genotype", epoch=epoch)
    if event is None:
        raise GenotypeNotReadyError(
            f"search {search.id} ({search.state}) has not finished epoch {epoch}",
            state=search.state,
        )
    return event.data["genotype"]


def list_checkpoints(session: Session, search_id: str, *, tenant: str) -> list[Artifact]:
    repository.get_tenant_search(session, tenant, search_id)  # 404 for an unknown id, not []
    return repository.list_artifacts(session, search_id, "checkpoint")


def get_checkpoint(
    session: Session, artifact_root: Path, search_id: str, name: str, *, tenant: str
) -> Artifact:
    repository.get_tenant_search(session, tenant, search_id)  # another tenant's: unknown id
    artifact = repository.get_artifact(session, search_id, "checkpoint", name)
    if not (artifact_root / artifact.path).is_file():
        raise NotFoundError(f"checkpoint {name!r} was recorded but its file is gone")
    return artifact
