"""Files under the artifact root: one folder per search. Rows in `artifacts` name them; a download
looks the name up there and never joins user input into a path."""

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


def search_folder(root: Path, search_id: str) -> Path:
    return root / search_id


def checkpoint_folder(root: Path, search_id: str) -> Path:
    return search_folder(root, search_id) / "checkpoints"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, document: dict[str, Any]) -> tuple[int, str]:
    """Write to a temp file, fsync, rename: a reader sees the old file or the whole new one.
    Returns (size, sha256)."""
    payload = json.dumps(document, indent=2, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return len(payload), hashlib.sha256(payload).hexdigest()


def relative_to_root(root: Path, path: Path) -> str:
    """The path stored in the table: relative, so the artifact root can move."""
    return str(Path(path).resolve().relative_to(Path(root).resolve()))
