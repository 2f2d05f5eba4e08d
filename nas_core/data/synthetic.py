"""Shapes of several classes on textured backgrounds, generated from a seed (no download).

Each class has its own colour, noise level and shape, so a small network separates them within a
few hundred steps and a search on any machine learns something real.
"""

import colorsys

import numpy as np

SPLIT_CODES = {"train": 0, "val": 1}
SHAPES = ("disc", "rectangle", "triangle", "ring", "diamond", "cross", "ellipse")
SHAPES_PER_IMAGE = 3


def class_colour(class_id: int, num_classes: int) -> np.ndarray:
    """Saturated hues spread around the wheel; alternating brightness keeps neighbours apart."""
    hue = (class_id - 1) / max(num_classes - 1, 1)
    value = 0.95 if class_id % 2 else 0.6
    return np.array(colorsys.hsv_to_rgb(hue, 0.85, value)) * 255.0


def shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:
    """Pixels of `shape` centred at the origin of the offset grids (dy, dx)."""
    if shape == "disc":
        return dy**2 + dx**2 <= radius**2
    if shape == "rectangle":
        return (np.abs(dx) <= radius) & (np.abs(dy) <= 0.6 * radius)
    if shape == "triangle":
        return (dy >= -radius) & (dy <= 0.6 * radius) & (np.abs(dx) <= 0.6 * (dy + radius))
    if shape == "ring":
        return (dy**2 + dx**2 <= radius**2) & (dy**2 + dx**2 >= (0.5 * radius) ** 2)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= radius
    if shape == "cross":
        arm = radius / 3
        inside = (np.abs(dx) <= radius) & (np.abs(dy) <= radius)
        return inside & ((np.abs(dx) <= arm) | (np.abs(dy) <= arm))
    return (dx / radius) ** 2 + (dy / (0.5 * radius)) ** 2 <= 1  # ellipse


class SyntheticSource:
    """`num_samples` images of `image_size` px; sample i is a pure function of (seed, split, i)."""

    def __init__(
        self, num_classes: int, num_samples: int, image_size: int, seed: int, split: str
    ) -> None:
        self.num_classes = num_classes
        self.num_samples = num_samples
        self.image_size = image_size
        self.seed = seed
        self.split = split

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return f"SyntheticSource({self.split}, {self.num_samples} samples, seed {self.seed})"

    def describe(self, index: int) -> str:
        return f"synthetic {self.split} sample {index} (seed {self.seed})"

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"sample {index} out of range 0..{self.num_samples - 1}")
        rng = np.random.default_rng([self.seed, SPLIT_CODES[self.split], index])
        size = self.image_size
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        image = _background(rng, yy, xx)
        label = np.zeros((size, size), dtype=np.uint8)
        shapes = [(cls, rng.uniform(0.12, 0.3) * size) for cls in self._classes_for(index)]
        # Largest first, so smaller shapes land on top and none is hidden completely.
        for class_id, radius in sorted(shapes, key=lambda item: -item[1]):
            cy, cx = rng.uniform(0.1, 0.9, size=2) * size
            mask = shape_mask(SHAPES[(class_id - 1) % len(SHAPES)], yy - cy, xx - cx, radius)
            noise = rng.normal(0.0, 6.0 + 4.0 * (class_id % 3), size=(size, size, 3))
            image[mask] = class_colour(class_id, self.num_classes) + noise[mask]
            label[mask] = class_id
        return np.clip(image, 0, 255).astype(np.uint8), label

    def _classes_for(self, index: int) -> list[int]:
        """Foreground classes cycle with the index, so every class shows up within a few samples."""
        count = min(SHAPES_PER_IMAGE, self.num_classes - 1)
        start = index * count
        return [1 + (start + k) % (self.num_classes - 1) for k in range(count)]


def _background(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Greyish stripes plus noise: texture that carries no class colour."""
    size = yy.shape[0]
    base = rng.uniform(70.0, 150.0)
    angle, period = rng.uniform(0.0, np.pi), rng.uniform(4.0, 16.0)
    stripes = 20.0 * np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi / period)
    tint = rng.uniform(-10.0, 10.0, size=3)
    noise = rng.normal(0.0, 12.0, size=(size, size, 3))
    return base + stripes[..., None] + tint + noise
