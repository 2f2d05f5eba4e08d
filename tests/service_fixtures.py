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
    folder = Path(tempfile.mkdtemp(prefix="adl-pg-", dir="/tmp"))  # readable by user postgres
    data, port = folder / "data", free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 {FAST_BUT_UNSAFE}"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    _pg_tool("initdb", "-D", data, "-U", "postgres", "--auth=trust")
    _pg_tool("pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _pg_tool("pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


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
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="adl-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: redis_answers(url), 30, "the throwaway redis-server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


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
