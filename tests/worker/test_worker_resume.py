"""Which checkpoint a new attempt resumes from: the newest whose sha256 matches the recorded one."""

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from worker_support import queued_search

from jobs import lifecycle, repository
from jobs.db import unit_of_work
from jobs.settings import Settings
from worker.pipeline import verified_checkpoint


def save(settings: Settings, sessions: sessionmaker[Session], name: str, epoch: int) -> Path:
    """A checkpoint file and its artifact row, as the bridge records them (attempt 1)."""
    path = settings.artifact_root / "s-1" / "checkpoints" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    content = f"state after {name}".encode()
    path.write_bytes(content)
    checkpoint = {
        "path": path,
        "epoch": epoch,
        "step": 0,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    with unit_of_work(sessions) as session:
        lifecycle.record_checkpoint(session, settings.artifact_root, "s-1", 1, checkpoint, [])
    return path


def claimed(sessions: sessionmaker[Session]) -> None:
    queued_search(sessions)
    with unit_of_work(sessions) as session:
        lifecycle.claim(session, "s-1", 60, 3)


def log_messages(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        events = repository.events_after(session, "s-1", 0, 100)
    return [e.data["message"] for e in events if e.type == "log"]


def test_the_newest_intact_checkpoint_is_chosen(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    claimed(sessions)
    save(settings, sessions, "epoch-0001.pt", 1)
    newest = save(settings, sessions, "epoch-0002.pt", 2)
    assert verified_checkpoint(sessions, "s-1", 1, newest.parent) == newest
    assert log_messages(sessions) == []


def test_a_damaged_checkpoint_is_named_and_passed_over(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    claimed(sessions)
    older = save(settings, sessions, "epoch-0001.pt", 1)
    newest = save(settings, sessions, "epoch-0001-step-000002.pt", 1)
    newest.write_bytes(newest.read_bytes()[:5])  # truncated on disk
    assert verified_checkpoint(sessions, "s-1", 1, newest.parent) == older
    (message,) = log_messages(sessions)
    assert message.startswith("checkpoint epoch-0001-step-000002.pt is damaged")


def test_an_unrecorded_file_is_not_trusted(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    claimed(sessions)
    older = save(settings, sessions, "epoch-0001.pt", 1)
    (older.parent / "epoch-0002.pt").write_bytes(b"saved, then the worker died")
    assert verified_checkpoint(sessions, "s-1", 1, older.parent) == older


def test_nothing_to_resume_from(sessions: sessionmaker[Session], settings: Settings) -> None:
    claimed(sessions)
    assert verified_checkpoint(sessions, "s-1", 1, settings.artifact_root / "none") is None
