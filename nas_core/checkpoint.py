"""Checkpoint files: atomic writes, content hashes, safe loads, retention of latest K + best."""

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)
NAME = re.compile(r"^epoch-(\d{4})(?:-step-(\d{6}))?\.pt$")


def checkpoint_name(epoch: int, step: int = 0) -> str:
    """`epoch-0003.pt` after 3 epochs; `epoch-0003-step-000017.pt` 17 steps into the 4th."""
    return f"epoch-{epoch:04d}.pt" if step == 0 else f"epoch-{epoch:04d}-step-{step:06d}.pt"


def save_atomic(state: dict[str, Any], path: Path) -> str:
    """Write to a temp file, fsync, rename over `path`, fsync the folder; return sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state(path: Path) -> dict[str, Any]:
    """Load with weights_only=True: a checkpoint can hold tensors and plain data, no code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def list_checkpoints(folder: Path) -> list[Path]:
    """Checkpoints in `folder`, oldest first by (epoch, step)."""
    if not folder.is_dir():
        return []
    found = [(NAME.match(p.name), p) for p in folder.iterdir()]
    keyed = [((int(m[1]), int(m[2] or 0)), p) for m, p in found if m]
    return [p for _, p in sorted(keyed)]


def load_latest(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads; a damaged one is skipped for the one before it."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return path, load_state(path)
        except (RuntimeError, OSError, EOFError, ValueError) as exc:
            log.warning("checkpoint %s is unreadable (%s); trying the previous one", path, exc)
    return None


def prune(folder: Path, keep: int, best: Path | None) -> list[Path]:
    """Delete all but the latest `keep` checkpoints and the best one; return what went."""
    checkpoints = list_checkpoints(folder)
    doomed = [p for p in checkpoints[: max(len(checkpoints) - keep, 0)] if p != best]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
