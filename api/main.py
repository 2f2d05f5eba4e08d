"""The FastAPI application. Settings are read in the lifespan, not at import, so tests hand
their own to create_app()."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from api import errors
from api.cors import CorsFromSettings
from api.deps import AUTH_RESPONSES, get_tenant
from api.limits import BodySizeLimit
from api.responses import DATABASE_UNAVAILABLE
from api.routes import architecture, artifacts, dashboard, events, health, searches
from jobs.db import session_factory
from jobs.queue import QueueClient
from jobs.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or get_settings()
        app.state.sessions = session_factory(app.state.settings.database_url)
        app.state.queue = QueueClient(app.state.settings)
        yield
        app.state.queue.close()

    app = FastAPI(
        title="Auto-DeepLab search service",
        summary="Submit Auto-DeepLab architecture searches, follow them, download the results.",
        version="0.1.0",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(CorsFromSettings)  # outermost: a 413 carries CORS headers too
    protected = APIRouter(
        dependencies=[Depends(get_tenant)], responses={**AUTH_RESPONSES, **DATABASE_UNAVAILABLE}
    )
    for module in (searches, events, artifacts, architecture, dashboard):
        protected.include_router(module.router)
    app.include_router(protected)
    app.include_router(health.router)
    app.include_router(dashboard.pages)
    dashboard.mount_static(app)
    return app


app = create_app()
