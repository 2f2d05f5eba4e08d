"""The on-disk layouts of AUTODEEPLAB.md §7, each a SegmentationSource."""

import logging
from pathlib import Path

import numpy as np

from nas_core.data.base import IGNORE_INDEX, DatasetError
from nas_core.data.files import PairedFileSource, pair_with_masks, require_dir

logger = logging.getLogger(__name__)

# labelIds of the 19 Cityscapes train classes, in train-id order.
CITYSCAPES_TRAIN_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FOLDER_SPLIT_SEED = 0  # fixed, so every run on a folder evaluates on the same held-out images
FOLDER_VAL_FRACTION = 0.1


def cityscapes_lut() -> np.ndarray:
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    lut[list(CITYSCAPES_TRAIN_IDS)] = np.arange(len(CITYSCAPES_TRAIN_IDS))
    return lut


def ade20k_lut() -> np.ndarray:
    # 0 ("other") becomes ignore and 1..150 become 0..149; 151+ stay out of range and get reported.
    return ((np.arange(256) - 1) % 256).astype(np.uint8)


class CityscapesSource(PairedFileSource):
    """leftImg8bit/{split}/<city>/*_leftImg8bit.png with gtFine/{split}/<city>/*_labelIds.png."""

    def __init__(self, root: Path, split: str) -> None:
        images_dir = require_dir(root / "leftImg8bit" / split)
        masks_dir = root / "gtFine" / split

        def mask_for(image: Path) -> Path:
            name = image.name.replace("_leftImg8bit.png", "_gtFine_labelIds.png")
            return masks_dir / image.parent.name / name

        images = sorted(images_dir.glob("*/*_leftImg8bit.png"))
        pairs = pair_with_masks(images, mask_for)
        super().__init__(pairs, len(CITYSCAPES_TRAIN_IDS), images_dir, cityscapes_lut())


class PascalVOCSource(PairedFileSource):
    """JPEGImages/<id>.jpg, palette SegmentationClass/<id>.png, listed in ImageSets/Segmentation."""

    def __init__(self, root: Path, split: str) -> None:
        listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not listing.is_file():
            raise DatasetError(f"{listing}: split list not found")
        ids = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        images = [root / "JPEGImages" / f"{image_id}.jpg" for image_id in ids]
        for image in images:
            if not image.is_file():
                raise DatasetError(f"{image}: listed in {listing} but missing")
        pairs = pair_with_masks(images, lambda p: root / "SegmentationClass" / f"{p.stem}.png")
        super().__init__(pairs, 21, listing)


class ADE20KSource(PairedFileSource):
    """images/{training,validation}/*.jpg with annotations/{training,validation}/*.png."""

    SPLIT_DIRS = {"train": "training", "val": "validation"}

    def __init__(self, root: Path, split: str) -> None:
        split_dir = self.SPLIT_DIRS[split]
        images_dir = require_dir(root / "images" / split_dir)
        masks_dir = root / "annotations" / split_dir
        images = sorted(images_dir.glob("*.jpg"))
        pairs = pair_with_masks(images, lambda p: masks_dir / f"{p.stem}.png")
        super().__init__(pairs, 150, images_dir, ade20k_lut())


class FolderSource(PairedFileSource):
    """images/*.{png,jpg,jpeg} with masks/<same stem>.png holding class ids as pixel values.

    Splits: when `root/val/images` exists, "val" reads `root/val/` and "train" reads `root`.
    Otherwise a fixed-seed random ~10% of the image stems (at least one) is held out as "val"
    and "train" gets the rest, so the two are disjoint and the same on every run.
    """

    def __init__(self, root: Path, split: str, num_classes: int) -> None:
        if (root / "val" / "images").is_dir():
            base = root / "val" if split == "val" else root
            stems = _folder_stems(base)
        else:
            base, stems = root, _held_out_split(_folder_stems(root), split, root)
        masks_dir = base / "masks"
        pairs = pair_with_masks(
            [stems[stem] for stem in sorted(stems)], lambda p: masks_dir / f"{p.stem}.png"
        )
        super().__init__(pairs, num_classes, base / "images")


def _folder_stems(base: Path) -> dict[str, Path]:
    """Image stem -> image path; two images with one stem would share a mask, so refuse them."""
    stems: dict[str, Path] = {}
    for path in sorted(require_dir(base / "images").iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.stem in stems:
            raise DatasetError(f"{path}: another image has the same stem ({stems[path.stem]})")
        stems[path.stem] = path
    return stems


def _held_out_split(stems: dict[str, Path], split: str, root: Path) -> dict[str, Path]:
    if len(stems) < 2:
        raise DatasetError(
            f"{root / 'images'}: {len(stems)} image(s); need at least 2 to hold out a val split "
            f"(or provide {root / 'val' / 'images'})"
        )
    order = np.random.default_rng(FOLDER_SPLIT_SEED).permutation(sorted(stems))
    num_val = max(1, round(len(stems) * FOLDER_VAL_FRACTION))
    chosen = order[:num_val] if split == "val" else order[num_val:]
    logger.debug("folder %s: %s split holds %d of %d images", root, split, len(chosen), len(stems))
    return {str(stem): stems[str(stem)] for stem in chosen}
