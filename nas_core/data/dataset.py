"""Opening a dataset by kind, and the seeded torch Dataset the search loop iterates."""

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from nas_core.data.base import DatasetError, SegmentationSource
from nas_core.data.layouts import ADE20KSource, CityscapesSource, FolderSource, PascalVOCSource
from nas_core.data.synthetic import SyntheticSource

KINDS = ("synthetic", "folder", "cityscapes", "pascal_voc", "ade20k")
SPLITS = ("train", "val")
FILE_LAYOUTS = {
    "cityscapes": CityscapesSource,
    "pascal_voc": PascalVOCSource,
    "ade20k": ADE20KSource,
}
FIXED_CLASSES = {"cityscapes": 19, "pascal_voc": 21, "ade20k": 150}
DEFAULT_SYNTHETIC_CLASSES = 5

logger = logging.getLogger(__name__)

Transform = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[torch.Tensor, ...]]


def open_source(
    kind: str,
    root: str | Path | None,
    split: str,
    *,
    num_classes: int | None = None,
    num_samples: int = 64,
    image_size: int = 64,
    seed: int = 0,
) -> SegmentationSource:
    """The dataset `kind` at `root`; layout problems (e.g. a missing mask) fail here.

    `num_classes` is required for "folder", optional for "synthetic" (default 5) and, for the
    fixed-class datasets, must match their class count when given. `root` is ignored for
    "synthetic"; `num_samples`, `image_size` and `seed` only apply to it.
    """
    if kind not in KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; known: {list(KINDS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; known: {list(SPLITS)}")
    if kind in FIXED_CLASSES and num_classes not in (None, FIXED_CLASSES[kind]):
        raise DatasetError(f"{kind} has {FIXED_CLASSES[kind]} classes, not {num_classes}")
    if kind == "synthetic":
        source = _open_synthetic(split, num_classes, num_samples, image_size, seed)
    else:
        source = _open_files(kind, root, split, num_classes)
    logger.info("opened %s %s: %r", kind, split, source)
    return source


def _open_synthetic(
    split: str, num_classes: int | None, num_samples: int, image_size: int, seed: int
) -> SyntheticSource:
    classes = DEFAULT_SYNTHETIC_CLASSES if num_classes is None else num_classes
    _require_classes("synthetic", classes)
    if num_samples < 1 or image_size < 8:
        raise DatasetError("synthetic needs num_samples >= 1 and image_size >= 8")
    return SyntheticSource(classes, num_samples, image_size, seed, split)


def _open_files(
    kind: str, root: str | Path | None, split: str, num_classes: int | None
) -> SegmentationSource:
    if root is None or not Path(root).is_dir():
        raise DatasetError(f"{root}: dataset root directory not found")
    if kind != "folder":
        return FILE_LAYOUTS[kind](Path(root), split)
    if num_classes is None:
        raise DatasetError(f"{root}: a folder dataset needs num_classes")
    _require_classes(kind, num_classes)
    return FolderSource(Path(root), split, num_classes)


def _require_classes(kind: str, num_classes: int) -> None:
    # 255 is the ignore id, so at most 255 real classes fit a uint8 label.
    if not 2 <= num_classes <= 255:
        raise DatasetError(f"{kind}: num_classes must be within 2..255, got {num_classes}")


class SeededDataset(Dataset):
    """Indexed by (index, sample_seed): each sample is a pure function of that key.

    The search loop chooses the order and the seeds, so data order and augmentation are
    reproducible and resumable, with any number of DataLoader workers.
    """

    def __init__(self, source: SegmentationSource, transform: Transform) -> None:
        self.source = source
        self.transform = transform

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, sample_seed = key
        image, label = self.source.load(int(index))
        return self.transform(image, label, np.random.default_rng(int(sample_seed)))
