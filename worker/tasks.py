"""The task: claim the search, run it, persist the outcome. Sent by name from the API."""

import logging

from celery import Task
from celery.exceptions import Reject

from jobs import lifecycle
from jobs.db import session_factory, unit_of_work
from jobs.errors import NotFoundError, StaleAttemptError
from jobs.queue import RUN_SEARCH
from jobs.settings import Settings, get_settings
from jobs.spec import SearchSpec
from jobs.states import State
from nas_core import SearchResult
from worker import pipeline
from worker.celery_app import SHUTDOWN, app
from worker.failures import RETRYABLE, classify

log = logging.getLogger(__name__)
STOPPED = "stopped at a step boundary after saving a checkpoint (a pause, a cancel or a shutdown)"
BLIP = "a database or broker blip; retrying"


# max_retries=None: how often a search may be retried is counted in its row (lost_attempts),
# not per message; a message that ran out of retries would leave a queued search unsent.
@app.task(name=RUN_SEARCH, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_search(self: Task, search_id: str) -> str:
    """Returns what happened, for the worker log."""
    if SHUTDOWN.is_set():  # received during a warm shutdown: leave it for the next worker
        raise Reject(f"worker shutting down; search {search_id} stays queued", requeue=True)
    settings = get_settings()
    sessions = session_factory(settings.database_url)
    try:
        with unit_of_work(sessions) as session:
            search = lifecycle.claim(
                session, search_id, settings.lease_seconds, settings.max_attempts
            )
    except NotFoundError:
        log.warning("search %s does not exist; dropping its task", search_id)
        return "unknown"
    except RETRYABLE as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    if search is None:
        return "skipped"  # a duplicate delivery, or a search that is no longer queued
    log.info("search %s: attempt %d claimed", search_id, search.attempts)
    return _attempt(
        self, settings, search_id, SearchSpec.model_validate(search.spec), search.attempts
    )


def _attempt(task: Task, settings: Settings, search_id: str, spec: SearchSpec, attempt: int) -> str:
    try:
        return _run(task, settings, search_id, spec, attempt)
    except StaleAttemptError as exc:  # written off: the row belongs to another attempt now
        log.warning("search %s: %s; stopping without another write", search_id, exc.detail)
        return "stale"


def _run(task: Task, settings: Settings, search_id: str, spec: SearchSpec, attempt: int) -> str:
    sessions = session_factory(settings.database_url)
    try:
        result = pipeline.run(sessions, settings, search_id, spec, attempt, SHUTDOWN)
    except StaleAttemptError:
        raise
    except Exception as exc:  # noqa: BLE001 -- every failure is classified and recorded
        return _fail_or_retry(task, settings, search_id, attempt, spec, exc)
    return _conclude(settings, search_id, attempt, result)


def _conclude(settings: Settings, search_id: str, attempt: int, result: SearchResult) -> str:
    sessions = session_factory(settings.database_url)
    with unit_of_work(sessions) as session:
        if result.stopped:  # a cancel, a pause or a warm shutdown
            state = lifecycle.hand_back(session, search_id, attempt, STOPPED, lost=False)
        else:
            genotype = {
                **result.genotype.to_dict(),
                "search_id": search_id,
                "epochs": result.epochs_completed,
                "best_miou": result.best_miou,
            }
            lifecycle.finish(session, settings.artifact_root, search_id, attempt, genotype)
            state = State.SUCCEEDED
    if state == State.QUEUED:  # shut down mid-search: the message goes back to the queue
        raise Reject(f"worker shutting down; search {search_id} resumes later", requeue=True)
    return state


def _fail_or_retry(
    task: Task, settings: Settings, search_id: str, attempt: int, spec: SearchSpec, exc: Exception
) -> str:
    failure = classify(exc, spec)
    sessions = session_factory(settings.database_url)
    if not failure.retryable:
        log.error("search %s failed: %s", search_id, failure.message, exc_info=exc)
        with unit_of_work(sessions) as session:
            lifecycle.fail(session, search_id, attempt, failure.message)
        return State.FAILED
    log.warning("search %s: %s", search_id, failure.message)
    try:
        with unit_of_work(sessions) as session:
            state = lifecycle.hand_back(session, search_id, attempt, BLIP, lost=True)
    except RETRYABLE:
        # The database is still away: retry once the lease has run out, when the claim may
        # take the search over (and counts this attempt as lost).
        raise task.retry(exc=exc, countdown=settings.lease_seconds + 10) from exc
    if state != State.QUEUED:  # a pending cancel or pause completed instead
        return state
    # The retry's claim fails the search once its lost attempts reach ADL_MAX_ATTEMPTS.
    raise task.retry(exc=exc, countdown=min(5 * 2**task.request.retries, 300))
