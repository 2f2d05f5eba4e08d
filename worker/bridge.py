"""nas_core's callbacks, written into the search's rows: throttled progress (which renews the
lease), per-epoch metrics and genotypes, checkpoints as artifacts, and the stop check. Every write
names this attempt; once another attempt owns the search they raise StaleAttemptError, which
ends the search loop without another write."""

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jobs import lifecycle
from jobs.db import unit_of_work
from jobs.settings import Settings
from nas_core import CheckpointInfo, EpochInfo, SearchCallbacks, StepInfo


class SearchBridge:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        search_id: str,
        attempt: int,
        shutdown: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions, self._settings = sessions, settings
        self._search_id, self._attempt = search_id, attempt
        self._shutdown, self._clock = shutdown, clock
        self._last_progress = self._last_cancel_check = -math.inf
        self._stop = False

    def callbacks(self) -> SearchCallbacks:
        return SearchCallbacks(
            on_step=self.on_step,
            on_epoch=self.on_epoch,
            should_stop=self.should_stop,
            on_checkpoint=self.on_checkpoint,
        )

    def on_step(self, info: StepInfo) -> None:
        """At most one progress write per progress interval (about 2 a second by default)."""
        if self._settings.step_delay_seconds:
            self._shutdown.wait(self._settings.step_delay_seconds)  # a warm shutdown cuts it short
        now = self._clock()
        if now - self._last_progress < self._settings.progress_interval_seconds:
            return
        self._last_progress = now
        with unit_of_work(self._sessions) as session:
            lifecycle.record_progress(
                session,
                self._search_id,
                self._attempt,
                self._settings.lease_seconds,
                progress_data(info),
            )

    def on_epoch(self, info: EpochInfo) -> None:
        metrics = {
            "epoch": info.epoch + 1,
            "epochs": info.epochs,
            "miou": finite(info.miou),
            "pixel_accuracy": finite(info.pixel_accuracy),
            "val_loss": finite(info.val_loss),
            "seconds": finite(info.seconds),
        }
        genotype = {
            "epoch": info.epoch + 1,
            "genotype": info.genotype.to_dict(),
            "alphas": info.alphas,
            "betas": info.betas,
        }
        with unit_of_work(self._sessions) as session:
            lifecycle.record_epoch(
                session,
                self._search_id,
                self._attempt,
                self._settings.lease_seconds,
                metrics,
                genotype,
            )

    def on_checkpoint(self, info: CheckpointInfo) -> None:
        checkpoint = {
            "path": info.path,
            "epoch": info.epoch,
            "step": info.step,
            "size": info.size,
            "sha256": info.sha256,
            "is_best": info.is_best,
        }
        removed = [Path(path) for path in info.removed]
        with unit_of_work(self._sessions) as session:
            lifecycle.record_checkpoint(
                session,
                self._settings.artifact_root,
                self._search_id,
                self._attempt,
                checkpoint,
                removed,
            )

    def should_stop(self) -> bool:
        """True on worker shutdown or a cancel or pause request; reads the row at most once a
        second (and raises StaleAttemptError when another attempt owns the search)."""
        if self._shutdown.is_set():
            return True
        now = self._clock()
        if now - self._last_cancel_check >= self._settings.cancel_check_seconds:
            self._last_cancel_check = now
            with self._sessions() as session:
                self._stop = lifecycle.stop_requested(session, self._search_id, self._attempt)
        return self._stop


def progress_data(info: StepInfo) -> dict[str, Any]:
    """A progress event; epochs are counted from 1 in everything the service shows."""
    return {
        "epoch": info.epoch + 1,
        "epochs": info.epochs,
        "step": info.step,
        "steps": info.steps_per_epoch,
        "global_step": info.global_step,
        "total_steps": info.total_steps,
        "phase": info.phase,
        "weight_loss": finite(info.weight_loss),
        "arch_loss": finite(info.arch_loss),
        "lr": finite(info.lr),
        "images_per_second": finite(info.images_per_second),
        "eta_seconds": finite(info.eta_seconds),
    }


def finite(value: float | None) -> float | None:
    """JSON (and PostgreSQL's jsonb) has no NaN or infinity: report those as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
