"""Tiny dataset trees in their real on-disk layouts, written by the tests themselves."""

from pathlib import Path

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 12, 16


def save_image(path: Path, seed: int = 0, size: tuple[int, int] = (HEIGHT, WIDTH)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def save_mask(path: Path, mask: np.ndarray, palette: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    if not palette:
        Image.fromarray(mask).save(path)
        return
    # A palette whose colours differ from the indices, to prove that indices are what is read.
    image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    image.putpalette([(255 - i) % 256 for i in range(768)])
    image.save(path)


def mask_with(values: list[int]) -> np.ndarray:
    """A HEIGHT x WIDTH mask whose first pixels hold `values` (the rest 0)."""
    mask = np.zeros(HEIGHT * WIDTH, dtype=np.uint8)
    mask[: len(values)] = values
    return mask.reshape(HEIGHT, WIDTH)


def make_cityscapes(root: Path, split: str = "train") -> None:
    for index, city in enumerate(("aachen", "aachen", "bremen")):
        stem = f"{city}_00000{index}_000019"
        save_image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", index)
        mask = mask_with([7, 0, 33, 26, 255])
        save_mask(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", mask)


def make_voc(root: Path) -> None:
    ids = {"train": ["2007_000032", "2007_000039"], "val": ["2007_000063"]}
    for split, names in ids.items():
        listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{name}\n" for name in names))
        for seed, name in enumerate(names):
            save_image(root / "JPEGImages" / f"{name}.jpg", seed)
            save_mask(root / "SegmentationClass" / f"{name}.png", mask_with([0, 15, 20, 255]), True)


def make_ade20k(root: Path) -> None:
    for split_dir, count in (("training", 3), ("validation", 2)):
        for index in range(count):
            stem = f"ADE_{split_dir}_{index:08d}"
            save_image(root / "images" / split_dir / f"{stem}.jpg", index)
            save_mask(root / "annotations" / split_dir / f"{stem}.png", mask_with([0, 1, 150]))


def make_folder(root: Path, count: int, num_classes: int = 3) -> None:
    for index in range(count):
        suffix = ".jpg" if index % 2 else ".png"
        save_image(root / "images" / f"img{index:02d}{suffix}", index)
        save_mask(root / "masks" / f"img{index:02d}.png", mask_with([num_classes - 1, 255]))
