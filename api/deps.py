"""Request dependencies as Annotated aliases: settings, a session, the queue client, auth."""

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from jobs.errors import ServiceError
from jobs.queue import QueueClient
from jobs.settings import Settings


class UnauthorizedError(ServiceError):
    status = 401
    code = "unauthorized"


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


def require_token(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Bearer-token auth, applied to the whole searches router; off when ADL_API_TOKEN is unset
    (settings only allow that on a loopback address or when explicitly asked)."""
    if settings.api_token is None:
        return
    expected = f"Bearer {settings.api_token.get_secret_value()}"
    if authorization is None or not secrets.compare_digest(authorization, expected):
        raise UnauthorizedError("send the header 'Authorization: Bearer <ADL_API_TOKEN>'")
