"""`python -m api`: serve the API on ADL_HOST:ADL_PORT after validating the settings."""

import logging
import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError

from jobs.keys import describe_auth
from jobs.settings import Settings, get_settings

log = logging.getLogger("api")


def start_up(load: Callable[[], Settings]) -> Settings | None:
    """Logging configured, then the settings from `load`, validated, with the auth mode logged;
    None (after logging why) when they are invalid. Shared with `make run`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load()
    except ValidationError as exc:
        log.error("invalid settings:\n%s", exc)
        return None
    log.info(describe_auth(settings))
    return settings


def main() -> int:
    settings = start_up(get_settings)
    if settings is None:
        return 2
    uvicorn.run("api.main:app", host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
