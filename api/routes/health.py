"""Liveness (the process answers) and readiness (the database and the broker answer)."""

import logging
from collections.abc import Callable

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import QueueDep, SessionsDep
from jobs.db import ping

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "the database or the broker does not answer"}}
)
async def readyz(sessions: SessionsDep, queue: QueueDep) -> JSONResponse:
    checks = {
        "database": await _check(ping, sessions),
        "broker": await _check(queue.ping),
    }
    if all(result == "ok" for result in checks.values()):
        return JSONResponse({"status": "ready", **checks})
    return JSONResponse({"error": "not_ready", "detail": checks}, status_code=503)


async def _check(probe: Callable[..., object], *args: object) -> str:
    try:
        with anyio.fail_after(5):
            await anyio.to_thread.run_sync(probe, *args, abandon_on_cancel=True)
    except Exception as exc:  # noqa: BLE001 -- any failure means "not ready", reported as text
        # The page is public: the driver's message (hosts, ports, user names) goes to the log only.
        log.warning("readiness probe failed: %s: %s", type(exc).__name__, exc)
        return f"error: {type(exc).__name__}"
    return "ok"
