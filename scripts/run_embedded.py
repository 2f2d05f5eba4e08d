"""`make run`: the whole service on one machine with no servers to install.

Migrates the SQLite database, starts one Celery worker subprocess on the folder broker, and
serves the API on ADL_HOST:ADL_PORT (127.0.0.1:8000). Ctrl-C stops both: the worker is asked to
shut down warmly, so a running search saves a checkpoint and resumes on the next start.

Authentication is off unless ADL_AUTH says otherwise, as long as the API listens on a loopback
address: only this machine can reach it, and a laptop demo should not need a key.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from api.__main__ import start_up
from jobs import lifecycle
from jobs.allocator import allocator_env
from jobs.db import session_factory, unit_of_work
from jobs.migrate import upgrade
from jobs.queue import QueueClient
from jobs.settings import Settings, get_settings, redacted

WORKER_STOP_SECONDS = 60
WORKER_COMMAND = [
    *(sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker"),
    *("--loglevel=INFO", "--hostname=embedded@%h"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
]
log = logging.getLogger("embedded")


def main() -> int:
    settings = start_up(embedded_settings)
    if settings is None:
        return 2
    prepare(settings)
    # Its own session: Ctrl-C reaches only this process, which then stops the worker in order.
    env = allocator_env(os.environ, settings.allocator)  # a faster malloc for the steps
    worker = subprocess.Popen(WORKER_COMMAND, start_new_session=True, env=env)
    server = uvicorn.Server(uvicorn.Config("api.main:app", host=settings.host, port=settings.port))
    threading.Thread(target=_stop_server_if_worker_dies, args=(worker, server), daemon=True).start()
    try:
        server.run()
    finally:
        stop_worker(worker)
    return 0 if worker.returncode == 0 else 1


def embedded_settings() -> Settings:
    """The settings, with ADL_AUTH=off when it is unset and the API listens on loopback. Set
    in the environment, so the API app (which reads the settings itself) sees the same."""
    settings = get_settings()
    if "ADL_AUTH" not in os.environ and settings.on_loopback:
        os.environ["ADL_AUTH"] = "off"
        get_settings.cache_clear()
        settings = get_settings()
    return settings


def prepare(settings: Settings) -> None:
    for folder in (settings.artifact_root, settings.data_root):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        database_file = settings.database_url.removeprefix("sqlite:///")
        Path(database_file).parent.mkdir(parents=True, exist_ok=True)
    log.info("migrating %s", redacted(settings.database_url))
    upgrade(settings.database_url)
    requeue_interrupted(settings)


def requeue_interrupted(settings: Settings) -> None:
    """A search left running by a killed embedded worker goes back to the queue at once: in the
    embedded mode this launcher's worker is the only one, so no live worker holds a lease."""
    with unit_of_work(session_factory(settings.database_url)) as session:
        search_ids = lifecycle.requeue_expired(session, now=datetime.max.replace(tzinfo=UTC))
    queue = QueueClient(settings)
    for search_id in search_ids:
        log.info("search %s was interrupted; it resumes from its last checkpoint", search_id)
        queue.send_run_search(search_id)
    queue.close()


def _stop_server_if_worker_dies(worker: subprocess.Popen, server: uvicorn.Server) -> None:
    worker.wait()
    if not server.should_exit:
        log.error("the worker exited with status %s; stopping the API", worker.returncode)
        server.should_exit = True


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    log.info("stopping the worker (a running search saves a checkpoint first)")
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("the worker did not stop within %ss; killing it", WORKER_STOP_SECONDS)
        worker.kill()
        worker.wait()


if __name__ == "__main__":
    sys.exit(main())
