"""Request dependencies as Annotated aliases: settings, a session, the queue client, and the
caller's tenant (auth)."""

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from jobs import keys, tenants
from jobs.db import unit_of_work
from jobs.errors import UnauthorizedError
from jobs.queue import QueueClient
from jobs.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request. Service functions that write commit it themselves (one unit
    of work each, before anything is sent to the queue); closing rolls back the rest."""
    with request.app.state.sessions() as session:
        yield session


def get_queue(request: Request) -> QueueClient:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
QueueDep = Annotated[QueueClient, Depends(get_queue)]
# Documents the scheme in the OpenAPI schema (the Authorize button of /docs); get_tenant words
# the refusals itself, so this never answers on its own.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="APIKey",
    description="a tenant's API key: `python -m jobs.admin keys create --tenant NAME`",
)


def get_tenant(
    request: Request,
    settings: SettingsDep,
    sessions: SessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str:
    """The caller's tenant, from its API key; `local` for everyone when ADL_AUTH=off (settings
    allow that on a loopback address only). Applied to the whole protected router; routes that
    need the tenant ask for TenantDep and get this same, cached, value."""
    if settings.auth == "off":
        with unit_of_work(sessions) as session:
            return tenants.ensure_tenant(session, tenants.LOCAL).name
    if credentials is None:
        raise UnauthorizedError(_why_no_key(request.headers.get("authorization")))
    with unit_of_work(sessions) as session:  # commits the key's last_used_at
        return keys.authenticate(session, credentials.credentials)


def _why_no_key(header: str | None) -> str:
    if header is None:
        return "send your API key in the header 'Authorization: Bearer <key>'"
    return "the Authorization header must be 'Bearer <key>', with the API key after one space"


TenantDep = Annotated[str, Depends(get_tenant)]
# what every protected route may answer, for its OpenAPI entry
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no API key, or a malformed, unknown or revoked one (`unauthorized`)"}
}
