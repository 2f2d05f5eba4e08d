"""A cap on request bodies, checked before a body is read into memory: a declared
Content-Length over the cap is refused at once, and a chunked body is counted as it streams in.
The cap is ADL_MAX_BODY_BYTES, read from the settings the lifespan put on app.state."""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response


class BodyTooLargeError(HTTPException):
    """Raised while the body streams in. An HTTPException, so FastAPI's body parsing passes it
    through to the error handlers (it turns other exceptions into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))


class BodySizeLimit:
    """Pure ASGI, so it never buffers a body itself and leaves SSE responses alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = scope["app"].state.settings.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            refusal = error_response(413, "body_too_large", too_large_detail(limit))
            await refusal(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (ADL_MAX_BODY_BYTES)"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we are called
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError(limit)
        return message

    return receive_within_limit
