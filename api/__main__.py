"""`python -m api`: serve the API on ADL_HOST:ADL_PORT after validating the settings."""

import logging
import sys

import uvicorn
from pydantic import ValidationError

from jobs.keys import describe_auth
from jobs.settings import get_settings

log = logging.getLogger("api")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = get_settings()
    except ValidationError as exc:
        log.error("invalid settings:\n%s", exc)
        return 2
    log.info(describe_auth(settings))
    uvicorn.run("api.main:app", host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
