"""The worker's Celery app: `celery -A worker.celery_app worker`. Configuration is read from the
settings when Celery first needs it, not at import."""

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_ready, worker_shutting_down

from jobs import lifecycle
from jobs.db import session_factory, unit_of_work
from jobs.queue import RUN_SEARCH, celery_config, prepare_broker
from jobs.settings import get_settings

# Set when the worker begins to shut down; the running search saves a checkpoint and is
# handed back to the queue. The solo pool runs tasks in this very process, so it sees it.
SHUTDOWN = threading.Event()
log = logging.getLogger(__name__)


def worker_config() -> dict[str, Any]:
    # One search at a time per worker (one per GPU); solo: no fork, so no OpenMP-after-fork
    # hang, and the task sees the shutdown signal.
    return {**celery_config(get_settings()), "worker_pool": "solo", "worker_concurrency": 1}


app = Celery("autodeeplab", include=["worker.tasks"])
app.add_defaults(worker_config)


@worker_init.connect
def _prepare_broker(**_: Any) -> None:
    prepare_broker(get_settings())


@worker_shutting_down.connect
def _on_shutdown(**_: Any) -> None:
    SHUTDOWN.set()


@worker_ready.connect
def _start_lease_reaper(**_: Any) -> None:
    threading.Thread(target=_reap_until_shutdown, name="lease-reaper", daemon=True).start()


def _reap_until_shutdown() -> None:
    """Searches whose worker died (lease expired) go back to the queue: checked when the worker
    starts and every third of a lease after. Any worker may do it; the row lock keeps it once."""
    interval = max(2.0, get_settings().lease_seconds / 3)
    while True:
        try:
            requeue_orphans()
        except Exception:  # noqa: BLE001 -- a database blip must not end the reaper
            log.exception("requeueing searches with expired leases failed; trying again later")
        if SHUTDOWN.wait(interval):
            return


def requeue_orphans() -> list[str]:
    sessions = session_factory(get_settings().database_url)
    with unit_of_work(sessions) as session:
        search_ids = lifecycle.requeue_expired(session)
    for search_id in search_ids:
        log.warning("search %s lost its worker; queued again", search_id)
        app.send_task(RUN_SEARCH, args=[search_id])
    return search_ids
