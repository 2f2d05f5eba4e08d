"""CORS, off unless ADL_CORS_ORIGINS names origins. The settings are read in the lifespan, after
the middleware stack is built, so Starlette's CORSMiddleware is made on the first request."""

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from jobs.settings import Settings

# Bearer tokens, not cookies: no credentials mode, so no cookie ever rides a cross-site call.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"]
EXPOSED_HEADERS = ["Location", "ETag", "Retry-After", "Idempotent-Replayed"]


class CorsFromSettings:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._settings: Settings | None = None
        self._handler: ASGIApp = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        if settings is not self._settings:
            self._settings, self._handler = settings, self._build(settings)
        await self._handler(scope, receive, send)

    def _build(self, settings: Settings) -> ASGIApp:
        if not settings.cors_origins:
            return self.app
        return CORSMiddleware(
            self.app,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
        )
