"""What the search loop reports to whoever runs it (the CLI, the service's worker).

Plain data only (floats, ints, lists, the Genotype), so a caller can serialise it as JSON.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nas_core.genotype import Genotype


@dataclass(frozen=True)
class StepInfo:
    epoch: int  # 0-based
    epochs: int
    step: int  # 1-based within the epoch: steps done so far
    steps_per_epoch: int
    global_step: int
    total_steps: int
    phase: str  # "weights" before arch_start_epoch, "weights+arch" from then on
    weight_loss: float
    arch_loss: float | None
    lr: float
    images_per_second: float
    eta_seconds: float


@dataclass(frozen=True)
class EpochInfo:
    epoch: int  # 0-based, the epoch just finished
    epochs: int
    miou: float
    pixel_accuracy: float
    val_loss: float
    genotype: Genotype  # decoded at the end of this epoch
    alphas: list[list[float]]  # softmax per edge, (edges, primitives)
    betas: list[list[list[float]]]  # normalised per source node, invalid entries 0, (L, 4, 3)
    seconds: float


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    epoch: int  # epochs completed when saved
    step: int  # steps done inside the next epoch (0 at an epoch boundary)
    size: int
    sha256: str
    is_best: bool
    removed: list[Path] = field(default_factory=list)  # older checkpoints deleted by retention


@dataclass
class SearchCallbacks:
    on_step: Callable[[StepInfo], None] | None = None
    on_epoch: Callable[[EpochInfo], None] | None = None
    should_stop: Callable[[], bool] | None = None  # checked every step: True saves and stops
    on_checkpoint: Callable[[CheckpointInfo], None] | None = None
