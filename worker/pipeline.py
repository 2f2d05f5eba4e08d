"""One search attempt: open the data, build the Searcher, resume from the newest checkpoint whose
sha256 matches the one recorded for it, run."""

import logging
import threading
from pathlib import Path

import torch
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.artifacts import checkpoint_folder
from jobs.db import unit_of_work
from jobs.settings import Settings
from jobs.spec import SearchSpec
from nas_core import Searcher, SearchResult
from nas_core.checkpoint import file_sha256, list_checkpoints
from nas_core.data import check_source
from worker import mapping
from worker.bridge import SearchBridge

CHECKED_SAMPLES = 8  # load a few samples of each split first, so broken files fail in seconds
log = logging.getLogger(__name__)


def run(
    sessions: sessionmaker[Session],
    settings: Settings,
    search_id: str,
    spec: SearchSpec,
    attempt: int,
    shutdown: threading.Event,
) -> SearchResult:
    torch.set_num_threads(settings.worker_threads)  # here, in the process that runs the search
    train, val = mapping.open_sources(spec, settings.data_root)
    check_source(train, limit=CHECKED_SAMPLES)
    check_source(val, limit=CHECKED_SAMPLES)
    bridge = SearchBridge(sessions, settings, search_id, attempt, shutdown)
    folder = checkpoint_folder(settings.artifact_root, search_id)
    searcher = Searcher(
        mapping.supernet_config(spec),
        mapping.search_config(spec),
        train,
        val,
        folder,
        bridge.callbacks(),
    )
    path = verified_checkpoint(sessions, search_id, attempt, folder)
    if path is not None:
        searcher.resume(path)
        log.info("search %s resumes from %s", search_id, path.name)
    with unit_of_work(sessions) as session:  # building the supernet took a while: still ours?
        lifecycle.renew_lease(session, search_id, attempt, settings.lease_seconds)
    result = searcher.run()
    result.genotype.validate()
    return result


def verified_checkpoint(
    sessions: sessionmaker[Session], search_id: str, attempt: int, folder: Path
) -> Path | None:
    """The newest checkpoint file whose sha256 is the one recorded when it was saved. A damaged
    one is named in a `log` event and passed over for the one before it; a file never recorded
    (saved just before a crash, or by a written-off attempt) is passed over too."""
    with sessions() as session:
        recorded = lifecycle.checkpoint_hashes(session, search_id)
    for path in reversed(list_checkpoints(folder)):
        expected = recorded.get(path.name)
        if expected is None:
            log.warning("search %s: checkpoint %s was never recorded; skipped", search_id, path)
        elif file_sha256(path) == expected:
            return path
        else:
            _report_damaged(sessions, search_id, attempt, path.name)
    return None


def _report_damaged(
    sessions: sessionmaker[Session], search_id: str, attempt: int, name: str
) -> None:
    message = f"checkpoint {name} is damaged (its sha256 differs from the recorded one); skipped"
    log.warning("search %s: %s", search_id, message)
    with unit_of_work(sessions) as session:
        lifecycle.record_log(session, search_id, attempt, message)
