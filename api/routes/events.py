"""The event log of a search as Server-Sent Events (id = seq) or, for Accept:
application/json, as pages. Both read the same table, so nothing is lost or counted twice."""

import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import SessionsDep, SettingsDep, TenantDep
from api.responses import NOT_FOUND
from api.schemas import Event, EventPage
from jobs import service
from jobs.errors import InvalidRequestError
from jobs.models import MAX_SEQ

router = APIRouter(tags=["events"])
PAGE = 100


@router.get(
    "/searches/{search_id}/events",
    response_model=EventPage,
    responses={200: {"content": {"text/event-stream": {}}}, **NOT_FOUND},
)
async def search_events(
    search_id: str,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    tenant: TenantDep,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="events after this seq")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response | EventPage:
    """SSE that ends after the terminal event; resumes after Last-Event-ID or ?after=."""
    start = after if after is not None else _parse_last_event_id(last_event_id)
    read = partial(_read_page, sessions, tenant, search_id)
    first = await anyio.to_thread.run_sync(read, start)  # 404 here
    if _wants_json(request):
        return first
    stream = _stream(read, first, settings.event_poll_seconds)
    return EventSourceResponse(stream, ping=15)


def _parse_last_event_id(value: str | None) -> int:
    if value is None:
        return 0
    text = value.strip()
    # isascii: str.isdigit() also takes digits such as '²' that int() refuses; the length check
    # comes before int(), which refuses (ValueError) strings of more than 4300 digits
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_SEQ))
    if not digits or int(text) > MAX_SEQ:
        raise InvalidRequestError(
            f"Last-Event-ID must be the seq of an event: an integer from 0 to {MAX_SEQ}"
        )
    return int(text)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


def _read_page(
    sessions: sessionmaker[Session], tenant: str, search_id: str, after: int
) -> EventPage:
    with sessions() as session:
        page = service.read_events(session, search_id, after, PAGE, tenant=tenant)
        events = [Event.model_validate(event) for event in page.events]
    next_after = events[-1].seq if events else after
    return EventPage(events=events, next_after=next_after, finished=page.finished)


async def _stream(
    read: Callable[[int], EventPage], page: EventPage, poll_seconds: float
) -> AsyncIterator[ServerSentEvent]:
    while True:
        for event in page.events:
            yield ServerSentEvent(
                data=json.dumps(event.model_dump(mode="json")), event=event.type, id=str(event.seq)
            )
        if page.finished:
            return
        if not page.events:
            await anyio.sleep(poll_seconds)
        page = await anyio.to_thread.run_sync(read, page.next_after)
