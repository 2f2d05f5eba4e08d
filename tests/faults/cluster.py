"""A whole service on servers of its own: a throwaway PostgreSQL and Redis that the tests restart
and stop, the API and two Celery worker processes, each of which a test may kill and start."""

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from service_fixtures import ThrowawayPostgres, ThrowawayRedis, service_environment, wait_until

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 12  # short, so a killed worker's search is taken over within seconds
log = logging.getLogger(__name__)


def worker_command(name: str) -> list[str]:
    return [
        *(sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker"),
        *("--loglevel=INFO", f"--hostname={name}@%h", "--without-gossip", "--without-mingle"),
    ]


class Process:
    """A child in its own process group (stopped as a whole), its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_file: Path) -> None:
        self.log_file = log_file
        with log_file.open("ab") as output:
            self.popen = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, no goodbye: what a crash or an OOM kill looks like."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL if it lingers."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.postgres = ThrowawayPostgres()
        self.redis = ThrowawayRedis(persistent=True)
        self.env: dict[str, str] = {}
        self.workers: dict[str, Process] = {}
        self.api: Process | None = None
        self.http = httpx.Client(timeout=30)

    def start(self, database_url: str, workers: tuple[str, ...], key: str) -> None:
        """`key`: an API key the client sends (the service runs with ADL_AUTH=keys)."""
        self.env = self._environment(database_url)
        self.http.base_url = f"http://127.0.0.1:{self.env['ADL_PORT']}"
        self.http.headers["authorization"] = f"Bearer {key}"
        self.start_api()
        for name in workers:
            self.start_worker(name)

    def _environment(self, database_url: str) -> dict[str, str]:
        return {
            **service_environment(database_url, self.redis.url, self.folder),
            "ADL_LEASE_SECONDS": str(LEASE_SECONDS),
            "ADL_CANCEL_CHECK_SECONDS": "0.2",
            "ADL_STEP_DELAY_SECONDS": "0.5",  # a search lasts long enough to be caught mid-epoch
        }

    # -- processes ---------------------------------------------------------------------

    def start_api(self) -> None:
        self.api = Process([sys.executable, "-m", "api"], self.env, self.folder / "api.log")
        wait_until(self._api_ready, 60, "the API to answer /readyz")

    def _api_ready(self) -> bool:
        try:
            return self.http.get("/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def start_worker(self, name: str) -> Process:
        log_file = self.folder / f"{name}-{uuid.uuid4().hex[:4]}.log"
        worker = self.workers[name] = Process(worker_command(name), self.env, log_file)
        wait_until(lambda: " ready." in worker.output(), 120, f"worker {name} to start")
        return worker

    def worker_running(self, search_id: str) -> str:
        """The name of the worker whose log says it claimed `search_id` last."""
        found = [n for n, w in self.workers.items() if f"search {search_id}: attempt" in w.output()]
        assert len(found) == 1, f"{search_id} claimed by {found}"
        return found[0]

    def stop_processes(self) -> None:
        self.http.close()
        for process in [*self.workers.values(), self.api]:
            if process is not None:
                process.stop()
                log.info("%s:\n%s", process.log_file.name, process.output()[-4000:])

    def close_servers(self) -> None:
        self.redis.close()
        self.postgres.close()

    # -- the API, as a client sees it --------------------------------------------------

    def submit(self, spec: dict[str, Any]) -> str:
        response = self.http.post("/searches", json=spec)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def post(self, search_id: str, action: str) -> httpx.Response:
        return self.http.post(f"/searches/{search_id}/{action}")

    def search(self, search_id: str) -> dict[str, Any]:
        return self.http.get(f"/searches/{search_id}").json()

    def events(self, search_id: str) -> list[dict[str, Any]]:
        """The whole event log, through the JSON pages."""
        events: list[dict[str, Any]] = []
        while True:
            page = self.http.get(
                f"/searches/{search_id}/events",
                params={"after": events[-1]["seq"] if events else 0},
                headers={"accept": "application/json"},
            ).json()
            events += page["events"]
            if not page["events"]:
                return events

    def wait_for(
        self, search_id: str, condition: Callable[[list[dict[str, Any]]], bool], what: str
    ) -> None:
        """Poll the event log until `condition` holds; a server that is away (a restart the
        test made) only means asking again."""

        def holds() -> bool:
            try:
                return condition(self.events(search_id))
            except (httpx.TransportError, ValueError, KeyError):
                time.sleep(0.5)
                return False

        wait_until(holds, 240, f"{what} ({search_id})")

    def wait_state(self, search_id: str, *states: str) -> None:
        self.wait_for(search_id, lambda events: last_state(events) in states, f"state {states}")


def last_state(events: list[dict[str, Any]]) -> str | None:
    statuses = [e["data"]["state"] for e in events if e["type"] == "status"]
    return statuses[-1] if statuses else None


def in_epoch(epoch: int) -> Callable[[list[dict[str, Any]]], bool]:
    """A progress event of `epoch` (counted from 1): the search is inside that epoch."""
    return lambda events: any(
        e["type"] == "progress" and e["data"]["epoch"] == epoch for e in events
    )
