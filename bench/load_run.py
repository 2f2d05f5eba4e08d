"""A load run, not a test: many tiny searches submitted at once to the HTTP API and run by two
Celery worker processes, on PostgreSQL and Redis. Waits until every search has finished, checks
that none ran twice (one claim and one `running` status each) and prints counts and wall time.

    .venv/bin/python bench/load_run.py [--searches 20] [--workers 2]

Uses the PostgreSQL and Redis named by ADL_TEST_POSTGRES_URL / ADL_TEST_REDIS_URL (default: the
local ones on 5432 and 6379), in a database and a queue of its own, dropped afterwards."""

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from jobs.migrate import upgrade  # noqa: E402 -- after the repo root is importable

TERMINAL = {"succeeded", "failed", "cancelled"}
SPEC = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 8, "image_size": 32},
    "search_space": {"layers": 2, "filter_multiplier": 2},
    "training": {"epochs": 2, "arch_start_epoch": 1, "batch_size": 2, "crop_size": 32,
                 "val_batches": 1},
}  # fmt: skip
log = logging.getLogger("load_run")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    server = os.environ.get(
        "ADL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    broker = os.environ.get("ADL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    database = f"adl_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    folder = Path(tempfile.mkdtemp(prefix="adl-load-"))
    env = environment(server.rsplit("/", 1)[0] + f"/{database}", broker, folder)
    processes: list[subprocess.Popen] = []
    try:
        upgrade(env["ADL_DATABASE_URL"])
        processes.append(start([sys.executable, "-m", "api"], env, folder / "api.log"))
        for number in range(args.workers):
            processes.append(start(worker_command(number), env, folder / f"w{number}.log"))
        return run(f"http://127.0.0.1:{env['ADL_PORT']}", args.searches, folder, args.workers)
    finally:
        for process in processes:
            stop(process)
        redis.Redis.from_url(broker).delete(env["ADL_QUEUE"])
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def environment(database_url: str, broker_url: str, folder: Path) -> dict[str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {
        **os.environ,
        "ADL_DATABASE_URL": database_url,
        "ADL_BROKER_URL": broker_url,
        "ADL_QUEUE": f"adl-load-{uuid.uuid4().hex[:8]}",
        "ADL_ARTIFACT_ROOT": str(folder / "artifacts"),
        "ADL_DATA_ROOT": str(folder / "data"),
        "ADL_HOST": "127.0.0.1",
        "ADL_PORT": str(port),
        "ADL_TORCH_THREADS": "1",
    }


def worker_command(number: int) -> list[str]:
    return [
        *(sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker"),
        *("--loglevel=INFO", f"--hostname=load{number}@%h", "--without-gossip", "--without-mingle"),
    ]


def start(command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
    with log_file.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(base_url: str, count: int, folder: Path, workers: int) -> int:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        wait_for_workers(client, folder, workers)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:  # all at once, as many clients would
            ids = list(pool.map(lambda _: submit(client), range(count)))
        submitted = time.monotonic() - started
        while unfinished := [i for i in ids if client.get(f"/searches/{i}").json()["state"]
                             not in TERMINAL]:  # fmt: skip
            log.info("%d of %d searches still to finish", len(unfinished), count)
            time.sleep(5)
        wall = time.monotonic() - started
        return report(client, ids, submitted, wall, workers)


def wait_for_workers(client: httpx.Client, folder: Path, workers: int) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready = sum(" ready." in p.read_text() for p in folder.glob("w*.log"))
        try:
            api_up = client.get("/readyz").status_code == 200
        except httpx.TransportError:
            api_up = False
        if api_up and ready == workers:
            return
        time.sleep(0.5)
    raise TimeoutError("the API and the workers did not start within 180 s")


def submit(client: httpx.Client) -> str:
    response = client.post("/searches", json=SPEC)
    response.raise_for_status()
    return response.json()["id"]


def report(
    client: httpx.Client, ids: list[str], submitted: float, wall: float, workers: int
) -> int:
    searches = [client.get(f"/searches/{i}").json() for i in ids]
    running = {i: count_running(client, i) for i in ids}
    twice = [s["id"] for s in searches if s["attempts"] != 1 or running[s["id"]] != 1]
    states = Counter(s["state"] for s in searches)
    durations = [seconds(s["finished_at"]) - seconds(s["started_at"]) for s in searches
                 if s["started_at"] and s["finished_at"]]  # fmt: skip
    lines = [
        f"searches submitted: {len(ids)} in {submitted:.1f} s, to {workers} worker processes",
        f"final states: {dict(states)}",
        f"attempts: {dict(Counter(s['attempts'] for s in searches))}; "
        f"ran more than once: {len(twice)} {twice}",
        f"wall time, first submit to last finish: {wall:.1f} s "
        f"({len(ids) / wall * 60:.1f} searches/min)",
        f"per search, claim to finish: mean {sum(durations) / len(durations):.1f} s, "
        f"max {max(durations):.1f} s",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if not twice and states["succeeded"] == len(ids) else 1


def count_running(client: httpx.Client, search_id: str) -> int:
    page = client.get(
        f"/searches/{search_id}/events", params={"after": 0}, headers={"accept": "application/json"}
    ).json()  # a tiny search has fewer than 100 events: one page
    return sum(e["type"] == "status" and e["data"]["state"] == "running" for e in page["events"])


def seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


if __name__ == "__main__":
    sys.exit(main())
