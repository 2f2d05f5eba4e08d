"""Image/mask pairs on disk: reading with Pillow and pairing images with their masks."""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from nas_core.data.base import DatasetError, validate_sample

# Pillow signals unreadable or corrupt files with these (UnidentifiedImageError is an OSError).
_PILLOW_ERRORS = (OSError, ValueError, Image.DecompressionBombError)


def read_rgb(path: Path) -> np.ndarray:
    """The image as (H, W, 3) uint8 RGB, whatever its mode on disk."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except _PILLOW_ERRORS as error:
        raise DatasetError(f"{path}: cannot read image ({error})") from error


def read_mask(path: Path) -> np.ndarray:
    """The mask's pixel values as (H, W) uint8; palette PNGs give their indices, not colours."""
    try:
        with Image.open(path) as image:
            mode, mask = image.mode, np.asarray(image)
    except _PILLOW_ERRORS as error:
        raise DatasetError(f"{path}: cannot read mask ({error})") from error
    if mask.ndim != 2:
        raise DatasetError(f"{path}: mask must be single-channel (grey or palette), got {mode}")
    if mask.dtype != np.uint8:
        # 16-bit or 1-bit PNGs are fine as long as the ids fit the uint8 label contract.
        if mask.size and (mask.min() < 0 or mask.max() > 255):
            raise DatasetError(f"{path}: mask values must be within 0..255 ({mode})")
        mask = mask.astype(np.uint8)
    return mask


def pair_with_masks(
    images: Sequence[Path], mask_for: Callable[[Path], Path]
) -> list[tuple[Path, Path]]:
    """Pair each image with its mask; a missing mask fails now, not mid-training."""
    pairs = [(image, mask_for(image)) for image in images]
    for image, mask in pairs:
        if not mask.is_file():
            raise DatasetError(f"{image}: missing mask {mask}")
    return pairs


def require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: directory not found")
    return path


class PairedFileSource:
    """A SegmentationSource over (image, mask) files, with an optional id lookup table."""

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        num_classes: int,
        where: Path,
        lut: np.ndarray | None = None,
    ) -> None:
        if not pairs:
            raise DatasetError(f"{where}: no images found (empty dataset)")
        self.pairs = list(pairs)
        self.num_classes = num_classes
        self.lut = lut

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, {self.num_classes} classes)"

    def describe(self, index: int) -> str:
        image, mask = self.pairs[index]
        return f"{image} (mask {mask})"

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = self.pairs[index]
        image, label = read_rgb(image_path), read_mask(mask_path)
        if self.lut is not None:
            label = self.lut[label]
        # Cheap next to PNG decoding, and a bad id would otherwise surface as a CUDA assert.
        validate_sample(image, label, self.num_classes, self.describe(index))
        return image, label
