"""The service as it runs in production, started for real: uvicorn (`python -m api`) and a
Celery worker process, on PostgreSQL and Redis, configured only by ADL_* variables, with API keys
(ADL_AUTH=keys) and one key made as an operator makes it (jobs.admin)."""

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from service_fixtures import postgres_database, service_environment, wait_until

from jobs import admin
from jobs.allocator import allocator_env
from jobs.db import session_factory
from jobs.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
WORKER = [
    *(sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker"),
    *("--loglevel=INFO", "--hostname=e2e@%h", "--without-gossip", "--without-mingle"),
]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveService:
    base_url: str
    worker_log: Path
    key: str  # an API key of the tenant `e2e`

    def worker_output(self) -> str:
        return self.worker_log.read_text()


@pytest.fixture(scope="module")
def live_service(
    postgres_server_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    folder = tmp_path_factory.mktemp("e2e")
    with postgres_database(postgres_server_url) as database_url:
        upgrade(database_url)
        key = tenant_key(database_url, "e2e")
        env = service_environment(database_url, redis_url, folder)
        processes = {  # the worker with the malloc that `make run` and the image preload
            "worker": start(WORKER, allocator_env(env), folder / "worker.log"),
            "api": start([sys.executable, "-m", "api"], env, folder / "api.log"),
        }
        try:
            base_url = f"http://127.0.0.1:{env['ADL_PORT']}"
            service = LiveService(base_url, folder / "worker.log", key)
            wait_until(lambda: _ready(service), 120, "the API and the worker to start")
            yield service
        finally:
            for name, process in processes.items():
                stop(process)
                log.info("%s output:\n%s", name, (folder / f"{name}.log").read_text()[-5000:])
            redis.Redis.from_url(redis_url).delete(env["ADL_QUEUE"])


def tenant_key(database_url: str, tenant: str) -> str:
    """A new tenant and an API key of it, through jobs.admin as `python -m jobs.admin` does."""
    sessions = session_factory(database_url)
    admin.create_tenant(sessions, tenant)
    key = admin.create_key(sessions, tenant, label="tests").secret
    return key


def start(command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
    with log_file.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group (a warm shutdown), then SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _ready(service: LiveService) -> bool:
    try:
        ready = httpx.get(f"{service.base_url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
    return ready and " ready." in service.worker_output()
