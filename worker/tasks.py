"""The task: claim the search, run it, persist the outcome. Sent by name from the API."""

import logging

from celery import Task
from celery.exceptions import Reject
from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import session_factory, unit_of_work
from jobs.errors import NotFoundError
from jobs.lifecycle import LeaseLostError
from jobs.queue import RUN_SEARCH
from jobs.settings import Settings, get_settings
from jobs.spec import SearchSpec
from jobs.states import State
from nas_core import SearchResult
from worker import pipeline
from worker.celery_app import SHUTDOWN, app
from worker.failures import RETRYABLE, classify

log = logging.getLogger(__name__)


@app.task(name=RUN_SEARCH, bind=True, acks_late=True, reject_on_worker_lost=True)
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
    return _attempt(
        self, settings, search_id, SearchSpec.model_validate(search.spec), search.attempts
    )


def _attempt(task: Task, settings: Settings, search_id: str, spec: SearchSpec, attempt: int) -> str:
    sessions = session_factory(settings.database_url)
    try:
        result = pipeline.run(sessions, settings, search_id, spec, attempt, SHUTDOWN)
    except LeaseLostError:
        log.warning("search %s: lease lost to another attempt; leaving it alone", search_id)
        return "lease lost"
    except Exception as exc:  # noqa: BLE001 -- every failure is classified and recorded
        return _fail_or_retry(task, settings, search_id, spec, exc)
    return _conclude(settings, search_id, result)


def _conclude(settings: Settings, search_id: str, result: SearchResult) -> str:
    sessions = session_factory(settings.database_url)
    with unit_of_work(sessions) as session:
        if result.stopped:
            state = lifecycle.hand_back(session, search_id, "the worker shut down; resumes later")
        else:
            genotype = {
                **result.genotype.to_dict(),
                "search_id": search_id,
                "epochs": result.epochs_completed,
                "best_miou": result.best_miou,
            }
            lifecycle.finish(session, settings.artifact_root, search_id, genotype)
            state = State.SUCCEEDED
    if state == State.QUEUED:  # shut down mid-search: the message goes back to the queue
        raise Reject(f"worker shutting down; search {search_id} resumes later", requeue=True)
    return state


def _fail_or_retry(
    task: Task, settings: Settings, search_id: str, spec: SearchSpec, exc: Exception
) -> str:
    failure = classify(exc, spec)
    sessions = session_factory(settings.database_url)
    if failure.retryable and task.request.retries < settings.max_attempts:
        log.warning("search %s: %s", search_id, failure.message)
        raise task.retry(exc=exc, countdown=_backoff(sessions, search_id, task, settings))
    log.error("search %s failed: %s", search_id, failure.message, exc_info=exc)
    with unit_of_work(sessions) as session:
        lifecycle.fail(session, search_id, failure.message)
    return State.FAILED


def _backoff(
    sessions: sessionmaker[Session], search_id: str, task: Task, settings: Settings
) -> int:
    """Hand the search back now when the database answers; else wait out the lease, after
    which the next attempt may take it over."""
    try:
        with unit_of_work(sessions) as session:
            lifecycle.hand_back(session, search_id, "a database or broker blip; retrying")
    except RETRYABLE:
        return settings.lease_seconds + 10
    return 10 * 2**task.request.retries
