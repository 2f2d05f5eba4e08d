"""`python -m worker.health`: the worker container's health check. A running search blocks the
solo worker's event loop, so Celery's own ping can't answer then; instead this checks what the
worker needs: its settings are valid and the database and the broker answer."""

import logging
import sys

from jobs.db import ping, session_factory
from jobs.queue import QueueClient
from jobs.settings import get_settings

log = logging.getLogger("worker.health")


def main() -> int:
    try:
        settings = get_settings()
        ping(session_factory(settings.database_url))
        queue = QueueClient(settings)
        queue.ping()
        queue.close()
    except Exception as exc:  # noqa: BLE001 -- any failure is "unhealthy", said in one line
        logging.basicConfig(level=logging.INFO)
        log.error("unhealthy: %s: %s", type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
