"""The bi-level search loop (AUTODEEPLAB.md §3): first-order, alternating, resumable."""

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from nas_core import batches
from nas_core.callbacks import CheckpointInfo, EpochInfo, SearchCallbacks, StepInfo
from nas_core.checkpoint import checkpoint_name, load_latest, load_state, prune, save_atomic
from nas_core.config import SearchConfig, SupernetConfig
from nas_core.data import EvalTransform, SeededDataset, SegmentationSource, TrainTransform
from nas_core.decode import decode_genotype
from nas_core.genotype import Genotype
from nas_core.metrics import ConfusionMatrix
from nas_core.parallel_nodes import resolve_node_workers
from nas_core.stepper import Stepper, resolve_device
from nas_core.supernet import Supernet

log = logging.getLogger(__name__)
FORMAT = "nas_core.search-checkpoint/v1"


@dataclass(frozen=True)
class SearchResult:
    genotype: Genotype
    epochs_completed: int
    stopped: bool  # True when should_stop() ended the run early (a checkpoint was saved)
    best_miou: float
    history: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def batch_statistics(model: torch.nn.Module) -> Iterator[None]:
    """Normalise with each batch's statistics and leave the running statistics untouched.

    Each supernet cell runs once per incoming direction, so its running statistics mix up to
    three distributions (and lag far behind early in a search): evaluating with them makes
    the supernet predict one class. Batch statistics are what the weight and architecture
    steps see, so validation measures the same network.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.track_running_stats = False
    try:
        yield
    finally:
        for norm in norms:
            norm.track_running_stats = True


def saved_supernet_config(state: dict[str, Any]) -> dict[str, Any]:
    """A search checkpoint's supernet config as a dict; a field added since the checkpoint was
    written (dil_conv) had its default then."""
    return {**asdict(SupernetConfig()), **state["supernet_config"]}


class Searcher:
    """Runs a search from configs and data sources; reads no globals and no environment."""

    def __init__(
        self,
        supernet_config: SupernetConfig,
        search_config: SearchConfig,
        train_source: SegmentationSource,
        val_source: SegmentationSource,
        checkpoint_dir: Path,
        callbacks: SearchCallbacks | None = None,
    ) -> None:
        self.net_config, self.config = supernet_config, search_config
        self.checkpoint_dir = Path(checkpoint_dir)
        self.callbacks = callbacks or SearchCallbacks()
        torch.manual_seed(search_config.seed)  # the supernet's initial weights, α and β
        device = resolve_device(search_config.device)
        self.model = Supernet(
            supernet_config,
            fast=search_config.fast_supernet,
            checkpoint_activations=search_config.checkpoint_activations,
            node_workers=resolve_node_workers(search_config.node_workers),
        ).to(device)
        self.stepper = Stepper(self.model, search_config)
        self.half_a, self.half_b = batches.split_halves(len(train_source), search_config.seed)
        self._check_sizes(len(val_source))
        crop = search_config.crop_size
        self.train_set = SeededDataset(
            train_source, TrainTransform(crop, search_config.scale_range)
        )
        self.val_set = SeededDataset(val_source, EvalTransform(crop))
        self.epoch = self.step = self.global_step = 0
        self.best_miou, self.best_name = -1.0, None
        self.history: list[dict[str, Any]] = []
        self._step_seconds: float | None = None

    def _check_sizes(self, val_size: int) -> None:
        need = self.config.batch_size
        if min(len(self.half_a), len(self.half_b)) < need:
            raise ValueError(
                f"the training set is split in two halves of {len(self.half_a)} and "
                f"{len(self.half_b)} samples; each needs at least batch_size={need}"
            )
        if val_size < 2:
            raise ValueError(f"the validation set has {val_size} samples; it needs at least 2")

    @property
    def steps_per_epoch(self) -> int:
        return len(self.half_a) // self.config.batch_size

    def run(self) -> SearchResult:
        while self.epoch < self.config.epochs:
            started = time.perf_counter()
            if self._train_epoch():
                self._save_stop_checkpoint()
                return self._result(stopped=True)
            metrics = self._validate()
            self.stepper.scheduler.step()
            self.epoch, self.step = self.epoch + 1, 0
            self._finish_epoch(metrics, time.perf_counter() - started)
        return self._result(stopped=False)

    def genotype(self) -> Genotype:
        config = self.net_config
        return decode_genotype(
            self.model.alphas, self.model.betas, config.primitives, config.dil_conv
        )

    def _result(self, stopped: bool) -> SearchResult:
        return SearchResult(
            self.genotype(), self.epoch, stopped, max(self.best_miou, 0.0), list(self.history)
        )

    def _train_epoch(self) -> bool:
        """Train the rest of the current epoch; True when should_stop() asked to stop."""
        batch = self.config.batch_size
        loader_a = self._loader(self.half_a, batches.TRAIN_A)
        arch_on = self.epoch >= self.config.arch_start_epoch
        loader_b = self._loader(self.half_b, batches.TRAIN_B) if arch_on else batches.no_batches()
        for batch_a, batch_b in zip(loader_a, loader_b, strict=False):
            if self.callbacks.should_stop and self.callbacks.should_stop():
                return True
            started = time.perf_counter()
            weight_loss = self.stepper.weight_step(*batch_a)
            arch_loss = self.stepper.arch_step(*batch_b) if batch_b is not None else None
            self.step, self.global_step = self.step + 1, self.global_step + 1
            self._report_step(weight_loss, arch_loss, time.perf_counter() - started, batch)
        return False

    def _loader(self, indices: list[int], stream: int):
        cfg = self.config
        count = self.steps_per_epoch * cfg.batch_size
        keys = batches.epoch_keys(indices, cfg.seed, self.epoch, stream, count)
        remaining = batches.batched(keys[self.step * cfg.batch_size :], cfg.batch_size)
        return batches.make_loader(self.train_set, remaining, cfg.num_workers)

    def _report_step(self, weight_loss: float, arch_loss: float | None, seconds: float, n: int):
        previous = self._step_seconds
        self._step_seconds = seconds if previous is None else 0.9 * previous + 0.1 * seconds
        total = self.config.epochs * self.steps_per_epoch
        if self.callbacks.on_step is None:
            return
        arch_on = self.epoch >= self.config.arch_start_epoch
        self.callbacks.on_step(
            StepInfo(
                epoch=self.epoch,
                epochs=self.config.epochs,
                step=self.step,
                steps_per_epoch=self.steps_per_epoch,
                global_step=self.global_step,
                total_steps=total,
                phase="weights+arch" if arch_on else "weights",
                weight_loss=weight_loss,
                arch_loss=arch_loss,
                lr=self.stepper.weight_lr(),
                images_per_second=n * (1 + arch_on) / max(seconds, 1e-9),
                eta_seconds=self._step_seconds * (total - self.global_step),
            )
        )

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        cfg = self.config
        keys = [(index, 0) for index in range(len(self.val_set))]
        groups = batches.batched(keys, cfg.batch_size)
        groups = [g for g in groups if len(g) > 1][: cfg.val_batches]  # BN needs 2 per batch
        matrix = ConfusionMatrix(self.net_config.num_classes)
        loss_sum = 0.0
        with batch_statistics(self.model):
            for images, labels in batches.make_loader(self.val_set, groups, cfg.num_workers):
                logits, loss = self.stepper.evaluate(images, labels)
                loss_sum += loss
                matrix.update(logits, labels)
        val_loss = loss_sum / max(len(groups), 1)
        return {
            "miou": matrix.miou(),
            "pixel_accuracy": matrix.pixel_accuracy(),
            "val_loss": val_loss,
        }

    def _finish_epoch(self, metrics: dict[str, float], seconds: float) -> None:
        genotype = self.genotype()
        is_best = metrics["miou"] > self.best_miou
        if is_best:
            self.best_miou, self.best_name = metrics["miou"], checkpoint_name(self.epoch)
        self.history.append({"epoch": self.epoch - 1, **metrics, "genotype": genotype.to_dict()})
        log.info("epoch %d/%d: mIoU %.4f", self.epoch, self.config.epochs, metrics["miou"])
        if self.callbacks.on_epoch:
            self.callbacks.on_epoch(self._epoch_info(metrics, genotype, seconds))
        self._save_checkpoint(is_best)

    def _epoch_info(self, metrics: dict[str, float], genotype: Genotype, seconds: float):
        return EpochInfo(
            epoch=self.epoch - 1,
            epochs=self.config.epochs,
            miou=metrics["miou"],
            pixel_accuracy=metrics["pixel_accuracy"],
            val_loss=metrics["val_loss"],
            genotype=genotype,
            alphas=self.model.alphas.detach().softmax(-1).cpu().tolist(),
            betas=self.model.normalized_betas().detach().cpu().tolist(),
            seconds=seconds,
        )

    # -- checkpoints -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "supernet_config": asdict(self.net_config),
            "search_config": asdict(self.config),
            "progress": {"epoch": self.epoch, "step": self.step, "global_step": self.global_step},
            "best": {"miou": self.best_miou, "name": self.best_name},
            "history": self.history,
            **self.stepper.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != FORMAT:
            raise ValueError(f"not a search checkpoint (format {state.get('format')!r})")
        if saved_supernet_config(state) != asdict(self.net_config):
            raise ValueError("the checkpoint was made for a different search space")
        progress = state["progress"]
        self.epoch, self.step = progress["epoch"], progress["step"]
        self.global_step = progress["global_step"]
        self.best_miou, self.best_name = state["best"]["miou"], state["best"]["name"]
        self.history = list(state["history"])
        self.stepper.load_state_dict(state)

    def resume(self, path: Path | None = None) -> bool:
        """Restore `path`, or the newest readable checkpoint in the folder; False if none."""
        if path is not None:
            self.load_state_dict(load_state(Path(path)))
            return True
        latest = load_latest(self.checkpoint_dir)
        if latest is None:
            return False
        log.info("resuming from %s", latest[0])
        self.load_state_dict(latest[1])
        return True

    def _save_stop_checkpoint(self) -> None:
        """On a stop at an epoch boundary the epoch's checkpoint already holds this state."""
        if self.step > 0 or not (self.checkpoint_dir / checkpoint_name(self.epoch)).exists():
            self._save_checkpoint(is_best=False)

    def _save_checkpoint(self, is_best: bool) -> None:
        path = self.checkpoint_dir / checkpoint_name(self.epoch, self.step)
        sha256 = save_atomic(self.state_dict(), path)
        best = self.checkpoint_dir / self.best_name if self.best_name else None
        removed = prune(self.checkpoint_dir, self.config.keep_checkpoints, best)
        if self.callbacks.on_checkpoint:
            info = CheckpointInfo(
                path, self.epoch, self.step, path.stat().st_size, sha256, is_best, removed
            )
            self.callbacks.on_checkpoint(info)
