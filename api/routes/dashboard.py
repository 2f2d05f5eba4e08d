"""The dashboard: its pages and static files at `/`, and the searches list it polls."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.dashboard.schemas import Overview
from api.deps import SessionDep, TenantDep
from api.schemas import Progress, SearchDetail
from jobs import service
from jobs.states import State

STATIC = Path(__file__).resolve().parents[1] / "dashboard" / "static"
pages = APIRouter(include_in_schema=False)  # public: the data they fetch needs an API key
router = APIRouter(tags=["dashboard"])


@pages.get("/")
def searches_page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@pages.get("/ui/searches/{search_id}")
def search_page(search_id: str) -> FileResponse:
    """One page for every search: its script reads the id from the address."""
    return FileResponse(STATIC / "search.html")


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@router.get("/dashboard/searches", response_model=Overview)
def overview(
    session: SessionDep,
    tenant: TenantDep,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> Overview:
    """Like GET /searches, with each search's spec and progress snapshot (state, progress,
    ETA), so the searches page needs one request."""
    searches, next_cursor = service.list_searches(session, state, limit, cursor, tenant=tenant)
    items = []
    for search in searches:
        detail = SearchDetail.model_validate(search, from_attributes=True)
        snapshot = service.progress_snapshot(session, search.id)
        items.append(detail.model_copy(update={"progress": snapshot and Progress(**snapshot)}))
    return Overview(items=items, next_cursor=next_cursor)
