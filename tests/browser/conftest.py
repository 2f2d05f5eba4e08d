"""Browser tests: Debian's Chromium, driven by Playwright, against the service started for real
as the e2e tests start it (uvicorn and a Celery worker on PostgreSQL and Redis). Screenshots go
to var/screenshots/. Without Chromium these tests fail: `make test` installs it."""

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from browser_support import SCREENSHOTS, Server
from e2e.conftest import WORKER, start, stop, tenant_key
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from service_fixtures import postgres_database, service_environment, wait_until

from jobs.migrate import upgrade

CHROMIUM = Path("/usr/bin/chromium")
API = [sys.executable, "-m", "api"]
CHROMIUM_ARGS = [
    *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
]
log = logging.getLogger(__name__)
expect.set_options(timeout=30_000)  # a busy 2-core machine; FINISHED where a search must run


@pytest.fixture(scope="package")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/ensure_server_binaries.sh`")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),  # a new, empty user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A new tab (so a new browser session); uncaught script errors fail the test."""
    tab = browser_context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture(scope="package")
def service(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The API and one worker, as `make run` serves them on loopback: ADL_AUTH=off, so the
    dashboard never asks for a key."""
    folder = tmp_path_factory.mktemp("browser-service")
    # 2 s a step: the tiny search A lasts about 8 s, so its page still finds it running
    extra = {"ADL_AUTH": "off", "ADL_STEP_DELAY_SECONDS": "2"}
    with started(postgres_server_url, redis_url, folder, extra, with_worker=True) as server:
        yield server


@pytest.fixture(scope="package")
def keyed_service(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The API alone, with API keys (ADL_AUTH=keys, as service_environment sets it) and a key
    of the tenant `browser`: its searches stay queued, which is all its tests need."""
    folder = tmp_path_factory.mktemp("keyed-service")
    with started(postgres_server_url, redis_url, folder, {}, with_worker=False) as server:
        yield server


@contextlib.contextmanager
def started(
    postgres_server_url: str, redis_url: str, folder: Path, extra: dict[str, str], with_worker: bool
) -> Iterator[Server]:
    """A migrated database of its own, the API (and a worker) on it, stopped and dropped after."""
    with postgres_database(postgres_server_url) as database_url:
        upgrade(database_url)
        key = tenant_key(database_url, "browser")
        env = {**service_environment(database_url, redis_url, folder), **extra}
        commands = {"api": API} | ({"worker": WORKER} if with_worker else {})
        processes = {
            name: start(command, env, folder / f"{name}.log") for name, command in commands.items()
        }
        server = Server(f"http://127.0.0.1:{env['ADL_PORT']}", folder, key)
        try:
            wait_until(lambda: _ready(server, with_worker), 120, "the API (and worker) to start")
            yield server
        finally:
            for name, process in processes.items():
                stop(process)
                log.info("%s output:\n%s", name, (folder / f"{name}.log").read_text()[-5000:])
            redis.Redis.from_url(redis_url).delete(env["ADL_QUEUE"])


def _ready(server: Server, with_worker: bool) -> bool:
    try:
        ready = httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
    return ready and (not with_worker or " ready." in (server.folder / "worker.log").read_text())
