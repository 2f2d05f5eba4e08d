"""Queries and writes on the tables. These functions flush, never commit: the caller's unit of
work does. Every state write goes through `transition`, which checks the state table. What a
client asks for is scoped to its tenant here (`get_tenant_search`, `list_searches`, idempotency
keys); the tenant-blind `get_search` is the worker's, which runs every tenant's searches."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from jobs.db import utcnow
from jobs.errors import NotFoundError
from jobs.models import Artifact, IdempotencyKey, Search, SearchEvent
from jobs.states import LIVE, State, check_transition


def add_search(session: Session, search_id: str, spec: dict[str, Any], *, tenant: str) -> Search:
    search = Search(
        id=search_id,
        tenant=tenant,
        state=State.QUEUED,
        spec=spec,
        attempts=0,
        lost_attempts=0,
        last_event_seq=0,
    )
    session.add(search)
    session.flush()
    append_event(session, search_id, "status", {"state": State.QUEUED})
    return search


def get_search(session: Session, search_id: str, *, lock: bool = False) -> Search:
    """The row, locked against concurrent writers when `lock` (a no-op on SQLite, where every
    transaction already holds the write lock). Any tenant's: for the worker."""
    return _one_search(session, select(Search).where(Search.id == search_id), search_id, lock)


def get_tenant_search(
    session: Session, tenant: str, search_id: str, *, lock: bool = False
) -> Search:
    """A search of `tenant`. Another tenant's is NotFoundError exactly as an unknown id is (the
    same message), so a caller learns nothing about ids that are not its own."""
    query = select(Search).where(Search.id == search_id, Search.tenant == tenant)
    return _one_search(session, query, search_id, lock)


def _one_search(
    session: Session, query: Select[tuple[Search]], search_id: str, lock: bool
) -> Search:
    search = None
    if _storable(search_id):
        search = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if search is None:
        raise NotFoundError(f"no search with id {search_id!r}")
    return search


def _storable(text: str) -> bool:
    """No stored id or name holds a NUL, and PostgreSQL refuses one in a text parameter (a
    DataError, so a 500, where SQLite just finds nothing): such a lookup skips the database."""
    return "\x00" not in text


def transition(session: Session, search: Search, target: State, **fields: Any) -> Search:
    """Move a locked search to `target` (IllegalTransitionError if the table forbids it), set
    `fields`, and log a status event with them."""
    search.state = check_transition(search.state, target)
    for name, value in fields.items():
        setattr(search, name, value)
    session.flush()
    details = {k: v for k, v in fields.items() if k in ("error", "attempts")}
    append_event(session, search.id, "status", {"state": target, **details})
    return search


def list_searches(
    session: Session,
    tenant: str,
    state: State | None,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list[Search]:
    """A tenant's searches, newest first; `before` is the (created_at, id) of the last row of
    the previous page."""
    query = (
        select(Search)
        .where(Search.tenant == tenant)
        .order_by(Search.created_at.desc(), Search.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(Search.state == state)
    if before is not None:
        created_at, search_id = before
        query = query.where(
            or_(
                Search.created_at < created_at,
                and_(Search.created_at == created_at, Search.id < search_id),
            )
        )
    return list(session.scalars(query))


def count_searches(session: Session, tenant: str, states: Collection[str]) -> int:
    query = select(func.count()).where(Search.tenant == tenant, Search.state.in_(states))
    return session.scalar(query) or 0


def append_event(session: Session, search_id: str, type_: str, data: dict[str, Any]) -> int:
    """Append one event; returns its seq. The counter UPDATE locks the search row, so events of
    one search commit in seq order and a reader never sees a gap filled later."""
    seq = session.execute(
        update(Search)
        .where(Search.id == search_id)
        .values(last_event_seq=Search.last_event_seq + 1)
        .returning(Search.last_event_seq)
    ).scalar_one()
    session.add(SearchEvent(search_id=search_id, seq=seq, type=type_, data=data))
    session.flush()
    return seq


def events_after(session: Session, search_id: str, after: int, limit: int) -> list[SearchEvent]:
    query = (
        select(SearchEvent)
        .where(SearchEvent.search_id == search_id, SearchEvent.seq > after)
        .order_by(SearchEvent.seq)
        .limit(limit)
    )
    return list(session.scalars(query))


def events_of_type(session: Session, search_id: str, type_: str) -> list[dict[str, Any]]:
    """The data of every event of one type, oldest first."""
    query = (
        select(SearchEvent.data)
        .where(SearchEvent.search_id == search_id, SearchEvent.type == type_)
        .order_by(SearchEvent.seq)
    )
    return list(session.scalars(query))


def latest_event(
    session: Session, search_id: str, type_: str, epoch: int | None = None
) -> SearchEvent | None:
    """The newest event of a type (of one epoch's, when given)."""
    query = select(SearchEvent).where(SearchEvent.search_id == search_id, SearchEvent.type == type_)
    if epoch is not None:
        query = query.where(SearchEvent.data["epoch"].as_integer() == epoch)
    return session.scalars(query.order_by(SearchEvent.seq.desc()).limit(1)).one_or_none()


def add_artifact(session: Session, artifact: Artifact) -> Artifact:
    """Insert, or replace the row of the same (search, kind, name): a re-saved file."""
    session.execute(
        delete(Artifact).where(
            Artifact.search_id == artifact.search_id,
            Artifact.kind == artifact.kind,
            Artifact.name == artifact.name,
        )
    )
    session.add(artifact)
    session.flush()
    return artifact


def delete_artifacts(session: Session, search_id: str, paths: list[str]) -> None:
    if paths:
        session.execute(
            delete(Artifact).where(Artifact.search_id == search_id, Artifact.path.in_(paths))
        )


def list_artifacts(session: Session, search_id: str, kind: str) -> list[Artifact]:
    query = (
        select(Artifact)
        .where(Artifact.search_id == search_id, Artifact.kind == kind)
        .order_by(Artifact.epoch, Artifact.name)
    )
    return list(session.scalars(query))


def get_artifact(session: Session, search_id: str, kind: str, name: str) -> Artifact:
    query = select(Artifact).where(
        Artifact.search_id == search_id, Artifact.kind == kind, Artifact.name == name
    )
    artifact = session.scalars(query).one_or_none() if _storable(name) else None
    if artifact is None:
        raise NotFoundError(f"search {search_id!r} has no {kind} named {name!r}")
    return artifact


def get_idempotency_key(session: Session, tenant: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (tenant, key))


def add_idempotency_key(
    session: Session, tenant: str, key: str, request_sha256: str, search_id: str
) -> None:
    row = IdempotencyKey(tenant=tenant, key=key, request_sha256=request_sha256, search_id=search_id)
    session.add(row)
    session.flush()


def expired_leases(session: Session, now: datetime | None = None) -> list[Search]:
    query = select(Search).where(
        Search.state.in_(LIVE),
        Search.lease_expires_at < (now or utcnow()),
    )
    return list(session.scalars(query.with_for_update()))


def delete_idempotency_keys(session: Session, search_id: str) -> None:
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.search_id == search_id))
