"""Submit, list, inspect, cancel, pause and resume searches."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from api.deps import QueueDep, SessionDep, SettingsDep, TenantDep
from api.responses import CONFLICT, NOT_FOUND, QUEUE_OR_DATABASE_UNAVAILABLE
from api.schemas import Progress, SearchDetail, SearchPage, SearchSummary
from jobs import service
from jobs.models import Search
from jobs.spec import SearchSpec
from jobs.states import State
from jobs.tenants import Quota

router = APIRouter(tags=["searches"])
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


@router.post(
    "/searches",
    status_code=status.HTTP_201_CREATED,
    response_model=SearchDetail,
    responses={
        409: {"description": "the Idempotency-Key was used for another spec"},
        429: {"description": "the tenant's quota is reached (code `quota_exceeded`)"},
        **QUEUE_OR_DATABASE_UNAVAILABLE,
    },
)
def submit_search(
    spec: SearchSpec,
    response: Response,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    tenant: TenantDep,
    idempotency_key: IdempotencyKey = None,
) -> SearchDetail:
    """Queue a search. A repeat with the same Idempotency-Key returns the first search. 429
    with Retry-After while the tenant has its quota of unfinished searches."""
    quota = Quota(settings.tenant_max_queued, settings.tenant_max_active)
    submission = service.submit_search(
        session, queue, spec, settings.data_root, idempotency_key, tenant=tenant, quota=quota
    )
    response.headers["Location"] = f"/searches/{submission.search.id}"
    if submission.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _detail(session, submission.search)


@router.get("/searches", response_model=SearchPage)
def list_searches(
    session: SessionDep,
    tenant: TenantDep,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> SearchPage:
    """The caller's searches, newest first; follow next_cursor for older ones."""
    searches, next_cursor = service.list_searches(session, state, limit, cursor, tenant=tenant)
    items = [SearchSummary.model_validate(search) for search in searches]
    return SearchPage(items=items, next_cursor=next_cursor)


@router.get("/searches/{search_id}", response_model=SearchDetail, responses=NOT_FOUND)
def get_search(search_id: str, session: SessionDep, tenant: TenantDep) -> SearchDetail:
    return _detail(session, service.get_search(session, search_id, tenant=tenant))


@router.post(
    "/searches/{search_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SearchDetail,
    responses={**NOT_FOUND, **CONFLICT},
)
def cancel_search(search_id: str, session: SessionDep, tenant: TenantDep) -> SearchDetail:
    """Queued or paused: cancelled at once. Running or pausing: stops at its next step, after
    a checkpoint."""
    return _detail(session, service.cancel_search(session, search_id, tenant=tenant))


@router.post(
    "/searches/{search_id}/pause",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SearchDetail,
    responses={**NOT_FOUND, 409: {"description": "the search is cancelling or finished"}},
)
def pause_search(search_id: str, session: SessionDep, tenant: TenantDep) -> SearchDetail:
    """Queued: paused at once. Running: `pausing` until the worker has saved a checkpoint at
    its next step and let go, then `paused`. Asking again while pausing or paused is a no-op."""
    return _detail(session, service.pause_search(session, search_id, tenant=tenant))


@router.post(
    "/searches/{search_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SearchDetail,
    responses={
        **NOT_FOUND,
        409: {"description": "the search is not paused (code `not_paused`)"},
        503: {"description": "the task queue (the search stays paused) or the database is down"},
    },
)
def resume_search(
    search_id: str, session: SessionDep, queue: QueueDep, tenant: TenantDep
) -> SearchDetail:
    """Paused: queued again; a worker continues it from its latest verified checkpoint."""
    return _detail(session, service.resume_search(session, queue, search_id, tenant=tenant))


def _detail(session: SessionDep, search: Search) -> SearchDetail:
    detail = SearchDetail.model_validate(search, from_attributes=True)
    snapshot = service.progress_snapshot(session, detail.id)
    return detail.model_copy(update={"progress": snapshot and Progress(**snapshot)})
