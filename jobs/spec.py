"""SearchSpec: what a client submits. Every field has the paper's default; unknown fields are
rejected. The worker maps it onto nas_core's configs (worker/mapping.py), the one place that
knows both vocabularies."""

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

# The search space's op names in α's order. jobs must not import nas_core (it needs no torch,
# but the API image has none of it); tests/worker checks this equals nas_core.space.PRIMITIVES.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
Primitive = Literal[PRIMITIVES]  # type: ignore[valid-type]
DIL_CONV_STYLES: tuple[str, ...] = ("dense", "separable")  # likewise nas_core.space's
DilConv = Literal[DIL_CONV_STYLES]  # type: ignore[valid-type]
DatasetKind = Literal["synthetic", "folder", "cityscapes", "pascal_voc", "ade20k"]
FIXED_CLASSES = {"cityscapes": 19, "pascal_voc": 21, "ade20k": 150}
SYNTHETIC_CLASSES = 5
# Numbers are strict: JSON true or "4" is not a batch size (pydantic's lax mode takes both).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
# A relative path of plain segments: no leading '/', no '..', no backslashes.
DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_EPOCHS = 1000  # also bounds ?epoch= on the routes that read per-epoch results


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(Section):
    kind: DatasetKind = "cityscapes"
    name: str | None = Field(default=None, max_length=255, description="folder under the data root")
    num_classes: Int | None = Field(default=None, ge=2, le=255)
    num_samples: Int | None = Field(default=None, ge=4, le=100_000, description="synthetic only")
    image_size: Int | None = Field(default=None, ge=8, le=4096, description="synthetic only")

    @field_validator("name")
    @classmethod
    def _relative_name(cls, name: str | None) -> str | None:
        if name is not None and not DATASET_NAME.fullmatch(name):
            raise ValueError(
                "name is a folder relative to the data root (letters, digits, '.', '_', '-', "
                "'/' between parts), never an absolute path or '..'"
            )
        return name

    @model_validator(mode="after")
    def _fill_kind_defaults(self) -> Self:
        synthetic = self.kind == "synthetic"
        if synthetic and self.name is not None:
            raise ValueError("a synthetic dataset has no name: it is generated from the seed")
        if not synthetic and (self.num_samples is not None or self.image_size is not None):
            raise ValueError("num_samples and image_size apply to kind 'synthetic' only")
        if self.kind == "folder" and (self.name is None or self.num_classes is None):
            raise ValueError(
                "kind 'folder' needs a name (its folder under the data root) and num_classes"
            )
        fixed = FIXED_CLASSES.get(self.kind)
        if fixed is not None and self.num_classes not in (None, fixed):
            raise ValueError(
                f"{self.kind} has {fixed} classes; leave num_classes out or set {fixed}"
            )
        defaults = {
            "name": None if synthetic else self.name or self.kind,
            "num_classes": self.num_classes or fixed or SYNTHETIC_CLASSES,
            "num_samples": (self.num_samples or 64) if synthetic else None,
            "image_size": (self.image_size or 64) if synthetic else None,
        }
        for field, value in defaults.items():
            object.__setattr__(self, field, value)  # frozen: fill the defaults once, here
        return self


class SearchSpaceSpec(Section):
    layers: Int = Field(default=12, ge=1, le=24)
    filter_multiplier: Int = Field(default=8, ge=1, le=64)
    blocks: Int = Field(default=5, ge=1, le=10)
    primitives: tuple[Primitive, ...] = Field(
        default=PRIMITIVES, min_length=1, max_length=len(PRIMITIVES)
    )
    dil_conv: DilConv = Field(
        default="dense",
        description="how the dil_conv ops convolve: 'dense' (ReLU, dense kxk conv at rate 2, BN:"
        " the paper's) or 'separable' (ReLU, depthwise kxk at rate 2, pointwise 1x1, BN: DARTS'"
        " and the public PyTorch code's, far fewer weights)",
    )

    @field_validator("primitives")
    @classmethod
    def _usable_primitives(cls, primitives: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(primitives)) != len(primitives):
            raise ValueError("primitives must not repeat")
        if all(p == "none" for p in primitives):
            raise ValueError("primitives need at least one op other than 'none'")
        return primitives


class TrainingSpec(Section):
    epochs: Int = Field(default=40, ge=1, le=MAX_EPOCHS)
    arch_start_epoch: Int = Field(default=20, ge=0, le=MAX_EPOCHS - 1)  # below epochs
    batch_size: Int = Field(default=2, ge=2, le=1024, description="at least 2 for batch norm")
    crop_size: Int = Field(default=321, ge=8, le=4096)
    weight_lr: Float = Field(default=0.025, gt=0, le=10)
    weight_lr_min: Float = Field(default=0.001, ge=0, le=10)  # at most weight_lr
    momentum: Float = Field(default=0.9, ge=0, lt=1)
    # L2 decays: the paper uses 3e-4 and 1e-3; 1 is far past any useful value.
    weight_decay: Float = Field(default=3e-4, ge=0, le=1)
    arch_lr: Float = Field(default=3e-3, gt=0, le=10)
    arch_weight_decay: Float = Field(default=1e-3, ge=0, le=1)
    seed: Int = Field(default=0, ge=0, le=2**31 - 1)  # torch and numpy take 32-bit seeds
    val_batches: Int | None = Field(
        default=None, ge=1, le=100_000, description="None: the whole val split"
    )
    keep_checkpoints: Int = Field(default=3, ge=1, le=100, description="latest K, plus the best")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.arch_start_epoch >= self.epochs:
            raise ValueError(
                f"arch_start_epoch ({self.arch_start_epoch}) must be less than epochs "
                f"({self.epochs}), or the architecture is never trained"
            )
        if self.weight_lr_min > self.weight_lr:
            raise ValueError("weight_lr_min must not exceed weight_lr")
        return self


class ResourcesSpec(Section):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    checkpoint_activations: Annotated[bool, Strict()] = Field(
        default=False,
        description="recompute the activations of the cells on the two finest levels in the "
        "backward pass: less memory (2.1 -> 1.5 GiB at 128 px on the CPU), 20-40% more time",
    )


class SearchSpec(Section):
    dataset: DatasetSpec = DatasetSpec()
    search_space: SearchSpaceSpec = SearchSpaceSpec()
    training: TrainingSpec = TrainingSpec()
    resources: ResourcesSpec = ResourcesSpec()
