"""The contract every dataset honours, and the checks that make bad data fail early."""

import logging
from typing import Protocol, runtime_checkable

import numpy as np

IGNORE_INDEX = 255

logger = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset that cannot be used as it is; the message names the file and the problem."""


@runtime_checkable
class SegmentationSource(Protocol):
    """Indexable image/label pairs, independent of any augmentation."""

    num_classes: int

    def __len__(self) -> int: ...

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Image (H, W, 3) uint8 RGB, label (H, W) uint8: class ids 0..num_classes-1, 255 ignore."""
        ...

    def describe(self, index: int) -> str:
        """Where sample `index` comes from (e.g. its image path), for error messages."""
        ...


def validate_sample(image: np.ndarray, label: np.ndarray, num_classes: int, name: str) -> None:
    """Raise DatasetError when a loaded pair breaks the SegmentationSource contract."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DatasetError(
            f"{name}: image must be (H, W, 3) uint8, got {image.shape} {image.dtype}"
        )
    if label.dtype != np.uint8 or label.ndim != 2:
        raise DatasetError(f"{name}: mask must be (H, W) uint8, got {label.shape} {label.dtype}")
    if image.shape[:2] != label.shape:
        raise DatasetError(
            f"{name}: image is {image.shape[1]}x{image.shape[0]} (WxH) "
            f"but mask is {label.shape[1]}x{label.shape[0]}"
        )
    bad = np.unique(label[(label >= num_classes) & (label != IGNORE_INDEX)])
    if bad.size:
        raise DatasetError(
            f"{name}: mask has class ids {bad[:8].tolist()} outside 0..{num_classes - 1} "
            f"(and not {IGNORE_INDEX} = ignore)"
        )


def check_source(source: SegmentationSource, limit: int | None = None) -> None:
    """Load every sample (or the first `limit`) so that a broken file fails before training."""
    if len(source) == 0:
        raise DatasetError(f"dataset is empty: {source!r}")
    count = len(source) if limit is None else min(limit, len(source))
    for index in range(count):
        image, label = source.load(index)
        validate_sample(image, label, source.num_classes, source.describe(index))
    logger.info("checked %d of %d samples", count, len(source))
