"""Augmentation and normalisation from (uint8 image, uint8 label) to training tensors.

All randomness comes from the `rng` argument, so a sample is a pure function of its seed.
"""

import numpy as np
import torch
from PIL import Image

from nas_core.data.base import IGNORE_INDEX

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def normalise(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD


def rescale(image: np.ndarray, label: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear for the image; nearest for the label, so no id is invented between classes."""
    height, width = label.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image, label
    image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    label = np.asarray(Image.fromarray(label).resize(size, Image.Resampling.NEAREST))
    return image, label


def crop_or_pad(
    image: np.ndarray, label: np.ndarray, top: int, left: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The size x size window at (top, left), which may reach outside the image.

    Outside pixels are 0 in the normalised image (the mean colour) and ignore in the label.
    Only the window is normalised, which keeps large rescaled images cheap.
    """
    height, width = label.shape
    y0, y1 = max(top, 0), min(top + size, height)
    x0, x1 = max(left, 0), min(left + size, width)
    out_image = np.zeros((size, size, 3), dtype=np.float32)
    out_label = np.full((size, size), IGNORE_INDEX, dtype=np.int64)
    out_image[y0 - top : y1 - top, x0 - left : x1 - left] = normalise(image[y0:y1, x0:x1])
    out_label[y0 - top : y1 - top, x0 - left : x1 - left] = label[y0:y1, x0:x1]
    return out_image, out_label


def to_tensors(image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))
    return torch.from_numpy(chw), torch.from_numpy(np.ascontiguousarray(label))


class TrainTransform:
    """Random scale, random crop (padding when smaller), random horizontal flip, normalise."""

    def __init__(
        self, crop_size: int, scale_range: tuple[float, float] = (0.5, 2.0), flip: bool = True
    ) -> None:
        if crop_size < 1:
            raise ValueError(f"crop_size must be at least 1, got {crop_size}")
        if not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range must be 0 < low <= high, got {scale_range}")
        self.crop_size = crop_size
        self.scale_range = scale_range
        self.flip = flip

    def __call__(
        self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = rescale(image, label, rng.uniform(*self.scale_range))
        height, width = label.shape
        top = int(rng.integers(0, max(height - self.crop_size, 0) + 1))
        left = int(rng.integers(0, max(width - self.crop_size, 0) + 1))
        image, label = crop_or_pad(image, label, top, left, self.crop_size)
        if self.flip and rng.random() < 0.5:
            image, label = image[:, ::-1], label[:, ::-1]
        return to_tensors(image, label)


class EvalTransform:
    """Deterministic centre crop, or centred padding (label 255) when the image is smaller."""

    def __init__(self, crop_size: int) -> None:
        if crop_size < 1:
            raise ValueError(f"crop_size must be at least 1, got {crop_size}")
        self.crop_size = crop_size

    def __call__(
        self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = label.shape
        top, left = (height - self.crop_size) // 2, (width - self.crop_size) // 2
        return to_tensors(*crop_or_pad(image, label, top, left, self.crop_size))
