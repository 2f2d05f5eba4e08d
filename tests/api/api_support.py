"""Helpers for the API tests: the tiny spec, tenants with keys made as the admin CLI makes
them, a client that sends one, and a look at what reached the real broker."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from jobs import admin, lifecycle
from jobs.db import unit_of_work
from jobs.queue import celery_config
from jobs.settings import Settings
from jobs.spec import PRIMITIVES

TINY_SPEC: dict[str, Any] = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 16, "image_size": 48},
    "search_space": {"layers": 3, "filter_multiplier": 2},
    "training": {"epochs": 2, "arch_start_epoch": 1, "batch_size": 2, "crop_size": 48},
}


def tenant_key(sessions: sessionmaker[Session], tenant: str, **quota: int | None) -> str:
    """A new tenant (with quota overrides, if given) and a key of it, through jobs.admin."""
    admin.create_tenant(sessions, tenant, **quota)
    return admin.create_key(sessions, tenant, label="tests").secret


@contextmanager
def keyed_client(settings: Settings, key: str | None) -> Iterator[TestClient]:
    """A client of a new app on `settings` that sends `key` with every request."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    with TestClient(create_app(settings), headers=headers) as client:
        yield client


def sent_tasks(settings: Settings) -> list[tuple[str, list[Any]]]:
    """Take every message off the test's queue: (task name, args)."""
    celery = Celery(set_as_current=False)
    celery.conf.update(celery_config(settings))
    found = []
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue(settings.queue)
        while True:
            try:
                message = queue.get_nowait()
            except queue.Empty:
                break
            found.append((message.headers["task"], message.decode()[0]))
            message.ack()
        queue.close()
    return found


def run_until_epoch(sessions: sessionmaker[Session], search_id: str, epochs_done: int) -> int:
    """Play the worker's part through jobs.lifecycle: claim, progress, per-epoch events.
    Returns the attempt number."""
    with unit_of_work(sessions) as session:
        attempt = lifecycle.claim(session, search_id, lease_seconds=60, max_attempts=3).attempts
    for epoch in range(1, epochs_done + 1):
        progress = {"epoch": epoch, "epochs": 2, "step": 4, "steps": 4, "eta_seconds": 5.0}
        metrics = {"epoch": epoch, "miou": 0.25 * epoch, "pixel_accuracy": 0.5}
        genotype = {"epoch": epoch, "genotype": genotype_doc(level=epoch % 2)}
        with unit_of_work(sessions) as session:
            lifecycle.record_progress(session, search_id, attempt, 60, progress)
            lifecycle.record_epoch(session, search_id, attempt, 60, metrics, genotype)
    return attempt


def genotype_doc(level: int = 0) -> dict[str, Any]:
    return {
        "format": "autodeeplab.genotype/v1",
        "primitives": list(PRIMITIVES),
        "network_path": [0, level, level],
        "cell": [[[0, "sep_conv_3x3"], [1, "skip_connect"]]],
        "blocks": 1,
    }


def write_checkpoint(settings: Settings, sessions: sessionmaker[Session], search_id: str) -> bytes:
    """Run the search through epoch 1 and record a checkpoint file of it; returns its bytes."""
    attempt = run_until_epoch(sessions, search_id, epochs_done=1)
    content = b"weights" * 1000
    path = settings.artifact_root / search_id / "checkpoints" / "epoch-0001.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    checkpoint = {
        "path": path,
        "epoch": 1,
        "step": 0,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    with unit_of_work(sessions) as session:
        lifecycle.record_checkpoint(
            session, settings.artifact_root, search_id, attempt, checkpoint, []
        )
    return content
