"""One search attempt: open the data, build the Searcher, resume from the latest checkpoint, run."""

import logging
import threading

import torch
from sqlalchemy.orm import Session, sessionmaker

from jobs.artifacts import checkpoint_folder
from jobs.settings import Settings
from jobs.spec import SearchSpec
from nas_core import Searcher, SearchResult
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
    searcher = Searcher(
        mapping.supernet_config(spec),
        mapping.search_config(spec),
        train,
        val,
        checkpoint_folder(settings.artifact_root, search_id),
        bridge.callbacks(),
    )
    if searcher.resume():
        log.info("search %s resumes at epoch %d step %d", search_id, searcher.epoch, searcher.step)
    result = searcher.run()
    result.genotype.validate()
    return result
