"""The bridge from nas_core's callbacks into the rows, on the real databases, with a clock the
test moves by hand (throttling is about counts per interval, not wall time)."""

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker
from worker_support import queued_search

from jobs import lifecycle, repository, service
from jobs.db import unit_of_work
from jobs.errors import StaleAttemptError
from jobs.settings import Settings
from jobs.tenants import LOCAL
from nas_core import StepInfo
from worker.bridge import SearchBridge, finite


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def step(number: int) -> StepInfo:
    return StepInfo(
        epoch=0,
        epochs=2,
        step=number,
        steps_per_epoch=4,
        global_step=number,
        total_steps=8,
        phase="weights",
        weight_loss=1.5,
        arch_loss=None,
        lr=0.025,
        images_per_second=float("inf"),
        eta_seconds=3.0,
    )


def running_bridge(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock, shutdown: threading.Event
) -> SearchBridge:
    search_id = queued_search(sessions)
    with unit_of_work(sessions) as session:
        attempt = lifecycle.claim(session, search_id, 60, 3).attempts
    return SearchBridge(sessions, settings, search_id, attempt, shutdown, clock)


def progress_events(sessions: sessionmaker[Session]) -> list[dict]:
    with sessions() as session:
        events = repository.events_after(session, "s-1", 0, 100)
    return [e.data for e in events if e.type == "progress"]


def test_progress_is_throttled(sessions: sessionmaker[Session], settings: Settings) -> None:
    clock = Clock()
    bridge = running_bridge(sessions, settings, clock, threading.Event())
    for number in range(1, 4):  # three steps inside one interval: one write
        bridge.on_step(step(number))
    clock.now += settings.progress_interval_seconds
    bridge.on_step(step(4))
    written = progress_events(sessions)
    assert [p["step"] for p in written] == [1, 4]
    assert written[0]["epoch"] == 1  # counted from 1 for users
    assert written[0]["images_per_second"] is None  # no infinity in JSON


class RecordedWaits(threading.Event):
    """A shutdown event that notes how long each wait asked for, and never sleeps."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout)
        return self.is_set()


@pytest.mark.parametrize("delay", [0.0, 0.25])
def test_the_step_delay_waits_on_the_shutdown_event(
    sessions: sessionmaker[Session], settings: Settings, delay: float
) -> None:
    shutdown = RecordedWaits()
    slowed = settings.model_copy(update={"step_delay_seconds": delay})
    bridge = running_bridge(sessions, slowed, Clock(), shutdown)
    bridge.on_step(step(1))
    bridge.on_step(step(2))
    assert shutdown.asked == ([delay, delay] if delay else [])
    assert [p["step"] for p in progress_events(sessions)] == [1]  # still throttled


def test_should_stop_reads_the_cancel_flag_once_per_interval(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    clock = Clock()
    bridge = running_bridge(sessions, settings, clock, threading.Event())
    assert bridge.should_stop() is False
    with sessions() as session:
        service.cancel_search(session, "s-1", tenant=LOCAL)
    assert bridge.should_stop() is False  # not read again within the interval
    clock.now += settings.cancel_check_seconds
    assert bridge.should_stop() is True


def test_a_worker_shutdown_stops_without_a_query(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    shutdown = threading.Event()
    bridge = running_bridge(sessions, settings, Clock(), shutdown)
    shutdown.set()
    assert bridge.should_stop() is True


def test_finite_turns_nan_and_infinity_into_null() -> None:
    assert [finite(v) for v in (1.5, float("nan"), float("-inf"), None)] == [1.5, None, None, None]


def test_a_written_off_attempt_stops_without_writing(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    bridge = running_bridge(sessions, settings, Clock(), threading.Event())
    with unit_of_work(sessions) as session:  # its lease ran out and attempt 2 took over
        search = repository.get_search(session, "s-1", lock=True)
        lifecycle.release(session, search, reason=lifecycle.LEASE_EXPIRED, lost=True)
    with unit_of_work(sessions) as session:
        lifecycle.claim(session, "s-1", 60, 3)
    with pytest.raises(StaleAttemptError):
        bridge.should_stop()
    with pytest.raises(StaleAttemptError):
        bridge.on_step(step(1))
    assert progress_events(sessions) == []


def test_a_pause_request_stops_the_loop(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    bridge = running_bridge(sessions, settings, Clock(), threading.Event())
    with sessions() as session:
        service.pause_search(session, "s-1", tenant=LOCAL)
    assert bridge.should_stop() is True
