"""Frozen configs with the paper's defaults (AUTODEEPLAB.md §2-3)."""

from dataclasses import dataclass, field

from nas_core.space import DIL_CONV_STYLES, PRIMITIVES

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class SupernetConfig:
    num_classes: int = 19
    layers: int = 12
    filter_multiplier: int = 8
    blocks: int = 5
    primitives: tuple[str, ...] = PRIMITIVES
    dil_conv: str = "dense"  # one of DIL_CONV_STYLES

    def __post_init__(self) -> None:
        _require(self.num_classes >= 2, "num_classes must be at least 2")
        _require(self.layers >= 1, "layers must be at least 1")
        _require(self.filter_multiplier >= 1, "filter_multiplier must be at least 1")
        _require(self.blocks >= 1, "blocks must be at least 1")
        unknown = [p for p in self.primitives if p not in PRIMITIVES]
        _require(not unknown, f"unknown primitives {unknown}; known: {list(PRIMITIVES)}")
        _require(any(p != "none" for p in self.primitives), "primitives need a non-zero op")
        _require(len(set(self.primitives)) == len(self.primitives), "primitives repeat")
        _require(self.dil_conv in DIL_CONV_STYLES, f"dil_conv must be one of {DIL_CONV_STYLES}")


@dataclass(frozen=True)
class SearchConfig:
    epochs: int = 40
    arch_start_epoch: int = 20
    batch_size: int = 2
    crop_size: int = 321
    weight_lr: float = 0.025
    weight_lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    arch_lr: float = 3e-3
    arch_betas: tuple[float, float] = (0.9, 0.999)
    arch_weight_decay: float = 1e-3
    grad_clip: float | None = 5.0  # weight-gradient norm clip, as DARTS does; None turns it off
    seed: int = 0
    val_batches: int | None = None  # None: the whole validation set each epoch
    device: str = "auto"
    precision: str = "fp32"
    keep_checkpoints: int = 3  # the latest K epoch checkpoints are kept, plus the best
    num_workers: int = 0
    # the batched supernet path (same parameters and, within float rounding, the same results
    # as the reference; tests/nas_core/test_fast_path.py); False runs the reference path
    fast_supernet: bool = True
    # recompute each node's activations in the backward pass: less memory, more time
    checkpoint_activations: bool = False
    # on the CPU, run up to this many of a layer's nodes at once on worker threads; 0: as many
    # as torch has threads (at most 4), 1: one node at a time
    node_workers: int = 0
    scale_range: tuple[float, float] = field(default=(0.5, 2.0))

    def __post_init__(self) -> None:
        _require(self.epochs >= 1, "epochs must be at least 1")
        _require(self.arch_start_epoch >= 0, "arch_start_epoch must be >= 0")
        _require(self.batch_size >= 2, "batch_size must be at least 2 (batch norm needs it)")
        _require(self.crop_size >= 8, "crop_size must be at least 8")
        _require(self.device in DEVICES, f"device must be one of {DEVICES}")
        _require(self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}")
        _require(self.keep_checkpoints >= 1, "keep_checkpoints must be at least 1")
        _require(self.node_workers >= 0, "node_workers must be >= 0 (0: automatic)")
        _require(self.val_batches is None or self.val_batches >= 1, "val_batches must be >= 1")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
