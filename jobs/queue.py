"""The queue client: Celery configuration shared by the API (which only sends) and the worker,
and the one send, by task name, so the API never imports the worker."""

import logging
from pathlib import Path
from typing import Any

from celery import Celery
from kombu.exceptions import KombuError, OperationalError

from jobs.errors import BrokerUnavailableError
from jobs.settings import Settings

RUN_SEARCH = "worker.run_search"
log = logging.getLogger(__name__)


def celery_config(settings: Settings) -> dict[str, Any]:
    """Settings both sides need. acks_late + prefetch 1: a task whose worker dies is delivered
    again; the visibility timeout outlasts any search so Redis never re-delivers a live one."""
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout_seconds},
        "task_default_queue": settings.queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        # JSON only, every way: a pickled message from whoever reaches the broker would run code.
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.2},
    }
    folder = settings.broker_folder
    if folder is not None:
        config.update(_filesystem_broker(folder))
    return config


def _filesystem_broker(folder: Path) -> dict[str, Any]:
    """kombu's folder transport: the embedded mode's broker, with no server to run."""
    return {
        "broker_url": "filesystem://localhost/",  # a host, so kombu does not warn about none
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
        },
        "worker_enable_remote_control": False,  # broadcast needs a fanout the folder lacks
    }


def prepare_broker(settings: Settings) -> None:
    """Create a folder broker's folders (kombu does not); nothing to do for Redis."""
    folder = settings.broker_folder
    if folder is not None:
        for name in ("queue", "processed", "control"):
            (folder / name).mkdir(parents=True, exist_ok=True)


class QueueClient:
    """Sends tasks by name; the API's only contact with Celery."""

    def __init__(self, settings: Settings) -> None:
        prepare_broker(settings)
        self._celery = Celery("autodeeplab-client", set_as_current=False)
        self._celery.conf.update(celery_config(settings))

    def send_run_search(self, search_id: str) -> None:
        try:
            self._celery.send_task(RUN_SEARCH, args=[search_id])
        except (OperationalError, KombuError, OSError) as exc:
            log.warning("could not send %s for %s: %s", RUN_SEARCH, search_id, exc)
            raise BrokerUnavailableError(f"the task queue is unreachable: {exc}") from exc

    def ping(self) -> None:
        with self._celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    def close(self) -> None:
        self._celery.close()
