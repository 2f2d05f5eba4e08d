"""Real PostgreSQL and Redis for the tests: the ones already running where they answer, else
throwaway servers in a temporary folder (ENV.md). Plain helpers; the fixtures are in conftest."""

import contextlib
import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
FAST_BUT_UNSAFE = "-c fsync=off -c synchronous_commit=off"  # a test database may lose writes
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backend:
    """A database and a broker that go together: PostgreSQL + Redis or SQLite + a folder."""

    name: str
    database_url: str
    broker_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_environment(database_url: str, redis_url: str, folder: Path) -> dict[str, str]:
    """The environment of a service the tests start for real (API and workers as processes):
    its own queue, folders and port, API keys on."""
    return {
        **os.environ,
        "ADL_AUTH": "keys",
        "ADL_DATABASE_URL": database_url,
        "ADL_BROKER_URL": redis_url,
        "ADL_QUEUE": f"adl-service-{uuid.uuid4().hex[:8]}",
        "ADL_ARTIFACT_ROOT": str(folder / "artifacts"),
        "ADL_DATA_ROOT": str(folder / "data"),
        "ADL_HOST": "127.0.0.1",
        "ADL_PORT": str(free_port()),
        "ADL_TORCH_THREADS": "1",
        "ADL_EVENT_POLL_SECONDS": "0.2",
        # The fast path runs a tiny search in about a second: slowed, it is still running when
        # a test looks for it running (this is what broke CI once the supernet got faster).
        "ADL_STEP_DELAY_SECONDS": "1",
    }


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition`; raise TimeoutError naming `what`. Waiting only, never asserting a time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout}s")
        time.sleep(0.1)


def postgres_answers(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """An admin URL (database `postgres`) of a running server."""
    url = os.environ.get("ADL_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if postgres_answers(url):
        yield url
        return
    log.warning("no PostgreSQL at %s; starting a throwaway one", url)
    with _throwaway_postgres() as throwaway:
        yield throwaway


@contextlib.contextmanager
def _throwaway_postgres() -> Iterator[str]:
    server = ThrowawayPostgres()
    try:
        yield server.url
    finally:
        server.close()


class ThrowawayPostgres:
    """A PostgreSQL server of our own in a temporary folder, which a test may restart freely."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="adl-pg-", dir="/tmp"))  # user postgres reads
        self.data, self.port = self.folder / "data", free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        _pg_tool("initdb", "-D", self.data, "-U", "postgres", "--auth=trust")
        self.start()

    @property
    def url(self) -> str:
        """The admin URL (database `postgres`)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {FAST_BUT_UNSAFE}"
        _pg_tool("pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        _pg_tool("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _pg_tool(name: str, *args: object) -> None:
    """Run a PostgreSQL server tool, as user postgres when we are root (it refuses root)."""
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_postgres, found, *map(str, args)], check=True, capture_output=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    url = os.environ.get("ADL_TEST_REDIS_URL", DEFAULT_REDIS)
    if redis_answers(url):
        yield url
        return
    log.warning("no Redis at %s; starting a throwaway one", url)
    server = ThrowawayRedis(persistent=False)
    try:
        yield server.url
    finally:
        server.close()


class ThrowawayRedis:
    """A redis-server of our own, which a test may stop and start again on the same port.
    `persistent`: an append-only file that is fsynced on every write, as a production broker
    keeps one, so queued tasks outlive a restart."""

    def __init__(self, persistent: bool) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
        self.folder, self.port = tempfile.mkdtemp(prefix="adl-redis-"), free_port()
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else []
        self.command = [
            *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *(persistence or ["--appendonly", "no"]),
            *("--dir", self.folder),
        ]
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_until(lambda: redis_answers(self.url), 30, "the throwaway redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database for this run, dropped afterwards; yields its URL."""
    name = f"adl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
