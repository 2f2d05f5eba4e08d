"""Dataset layouts, fail-early checks, transforms and the seeded Dataset, on tiny trees."""

from pathlib import Path

import numpy as np
import pytest
import torch
from _helpers_data import (
    HEIGHT,
    WIDTH,
    make_ade20k,
    make_cityscapes,
    make_folder,
    make_voc,
    save_mask,
)

from nas_core.data import (
    DatasetError,
    EvalTransform,
    SeededDataset,
    TrainTransform,
    check_source,
    open_source,
)


def check_folder(root: Path) -> None:
    for split in ("train", "val"):
        check_source(open_source("folder", root, split, num_classes=3))


def first_pixels(label: np.ndarray, count: int) -> list[int]:
    return label.flatten()[:count].tolist()


def test_cityscapes_maps_label_ids_to_train_ids(tmp_path: Path) -> None:
    make_cityscapes(tmp_path)
    source = open_source("cityscapes", tmp_path, "train")
    image, label = source.load(0)
    assert (len(source), source.num_classes) == (3, 19)
    assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.uint8
    assert label.shape == (HEIGHT, WIDTH) and label.dtype == np.uint8
    assert first_pixels(label, 6) == [0, 255, 18, 13, 255, 255]  # ids 7, 0, 33, 26, 255, 0
    check_source(source)


def test_pascal_voc_keeps_palette_indices(tmp_path: Path) -> None:
    make_voc(tmp_path)
    train, val = (open_source("pascal_voc", tmp_path, split) for split in ("train", "val"))
    assert (len(train), len(val), train.num_classes) == (2, 1, 21)
    image, label = val.load(0)
    assert image.shape == (HEIGHT, WIDTH, 3) and label.dtype == np.uint8
    assert first_pixels(label, 4) == [0, 15, 20, 255]
    check_source(train)


def test_ade20k_shifts_labels_and_ignores_zero(tmp_path: Path) -> None:
    make_ade20k(tmp_path)
    train, val = (open_source("ade20k", tmp_path, split) for split in ("train", "val"))
    assert (len(train), len(val), train.num_classes) == (3, 2, 150)
    image, label = train.load(2)
    assert image.shape == (HEIGHT, WIDTH, 3) and label.shape == (HEIGHT, WIDTH)
    assert first_pixels(label, 4) == [255, 0, 149, 255]
    check_source(val)


def test_folder_reads_class_ids(tmp_path: Path) -> None:
    make_folder(tmp_path, 4, num_classes=3)
    source = open_source("folder", tmp_path, "train", num_classes=3)
    assert (len(source), source.num_classes) == (3, 3)
    assert first_pixels(source.load(0)[1], 3) == [2, 255, 0]
    check_source(source)


def test_missing_mask_fails_on_open(tmp_path: Path) -> None:
    make_cityscapes(tmp_path)
    next((tmp_path / "gtFine").rglob("bremen_*.png")).unlink()
    with pytest.raises(DatasetError, match="bremen_000002_000019_leftImg8bit.png: missing mask"):
        open_source("cityscapes", tmp_path, "train")


def test_size_mismatch_names_the_file(tmp_path: Path) -> None:
    make_folder(tmp_path, 10)
    save_mask(tmp_path / "masks" / "img03.png", np.zeros((HEIGHT, WIDTH + 1)))
    with pytest.raises(DatasetError, match=r"img03\.jpg.*image is 16x12 .* mask is 17x12"):
        check_folder(tmp_path)


def test_label_outside_classes_names_the_file(tmp_path: Path) -> None:
    make_folder(tmp_path, 10)
    save_mask(tmp_path / "masks" / "img04.png", np.full((HEIGHT, WIDTH), 3))
    with pytest.raises(DatasetError, match=r"img04\.png.*class ids \[3\] outside 0\.\.2"):
        check_folder(tmp_path)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    make_folder(tmp_path, 10)
    (tmp_path / "images" / "img02.png").write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match=r"img02\.png: cannot read image"):
        check_folder(tmp_path)


@pytest.mark.parametrize(
    ("kind", "layout", "message"),
    [
        ("cityscapes", "leftImg8bit/train", "empty dataset"),
        ("ade20k", "images/training", "empty dataset"),
        ("folder", "images", "need at least 2"),
        ("pascal_voc", "ImageSets", "split list not found"),
    ],
)
def test_empty_dataset(tmp_path: Path, kind: str, layout: str, message: str) -> None:
    (tmp_path / layout).mkdir(parents=True)
    with pytest.raises(DatasetError, match=message) as error:
        open_source(kind, tmp_path, "train", num_classes=3 if kind == "folder" else None)
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize(
    ("kind", "root", "num_classes", "message"),
    [
        ("coco", "", None, "unknown dataset kind 'coco'"),
        ("folder", "", None, "needs num_classes"),
        ("folder", "missing", 3, "missing: dataset root directory not found"),
        ("cityscapes", "", 21, "cityscapes has 19 classes, not 21"),
        ("synthetic", None, 1, "num_classes must be within 2..255"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, kind: str, root: str | None, num_classes: int | None, message: str
) -> None:
    path = None if root is None else tmp_path / root
    with pytest.raises(DatasetError, match=message):
        open_source(kind, path, "train", num_classes=num_classes)


def test_folder_holds_out_a_deterministic_disjoint_val_split(tmp_path: Path) -> None:
    make_folder(tmp_path, 12)

    def files(split: str) -> set[str]:
        source = open_source("folder", tmp_path, split, num_classes=3)
        return {source.describe(index) for index in range(len(source))}

    train, val = files("train"), files("val")
    assert len(val) == 1 and len(train) == 11 and not train & val
    assert (files("train"), files("val")) == (train, val)


def test_folder_val_subfolder(tmp_path: Path) -> None:
    make_folder(tmp_path, 3)
    make_folder(tmp_path / "val", 2)
    train = open_source("folder", tmp_path, "train", num_classes=3)
    val = open_source("folder", tmp_path, "val", num_classes=3)
    assert (len(train), len(val)) == (3, 2)
    assert all(str(tmp_path / "val") in val.describe(index) for index in range(2))
    assert not any(str(tmp_path / "val") in train.describe(index) for index in range(3))


def random_pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    return image, rng.integers(0, 3, size=(HEIGHT, WIDTH), dtype=np.uint8)


@pytest.mark.parametrize("transform", [TrainTransform(32, (1.0, 1.0)), EvalTransform(32)])
def test_crop_larger_than_image_pads_with_ignore(transform) -> None:
    image, label = transform(*random_pair(), np.random.default_rng(0))
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert label.shape == (32, 32) and label.dtype == torch.int64
    padded = label == 255
    assert int(padded.sum()) == 32 * 32 - HEIGHT * WIDTH
    assert torch.all(image[:, padded] == 0)


@pytest.mark.parametrize("transform", [TrainTransform(8), EvalTransform(8)])
def test_crop_smaller_than_image(transform) -> None:
    image, label = transform(*random_pair(), np.random.default_rng(0))
    assert image.shape == (3, 8, 8) and label.shape == (8, 8)
    assert label.dtype == torch.int64 and int(label.max()) < 3


def test_train_transform_is_a_function_of_the_rng_seed() -> None:
    transform, pair = TrainTransform(8), random_pair()
    first, again, other = (transform(*pair, np.random.default_rng(s)) for s in (5, 5, 6))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_flip_moves_image_and_label_together() -> None:
    image, label = (array[:, :HEIGHT].copy() for array in random_pair())  # square: no crop
    label[:, : HEIGHT // 4] = 1  # asymmetric: class 1 only on the left
    label[:, HEIGHT // 4 :] = 2
    crop = HEIGHT
    plain = EvalTransform(crop)(image, label)
    outputs = [
        TrainTransform(crop, (1.0, 1.0))(image, label, np.random.default_rng(s)) for s in range(8)
    ]
    flipped = [out for out in outputs if not torch.equal(out[1], plain[1])]
    assert 0 < len(flipped) < len(outputs)
    for out_image, out_label in flipped:
        # Same size and no scaling, so a flip of the crop is the eval crop mirrored.
        assert torch.equal(out_label, torch.flip(plain[1], dims=[1]))
        assert torch.equal(out_image, torch.flip(plain[0], dims=[2]))


def test_eval_transform_centres_the_crop() -> None:
    image, label = random_pair()
    _, out = EvalTransform(8)(image, label)
    assert torch.equal(out, torch.from_numpy(label[2:10, 4:12].astype(np.int64)))


def test_seeded_dataset_is_a_function_of_the_key() -> None:
    dataset = SeededDataset(
        open_source("synthetic", None, "train", num_samples=4), TrainTransform(32)
    )
    assert len(dataset) == 4
    first, again, other = dataset[(2, 7)], dataset[(2, 7)], dataset[(2, 8)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("num_classes", [2, 5, 21])
def test_synthetic_covers_every_class(num_classes: int) -> None:
    source = open_source("synthetic", None, "train", num_classes=num_classes, num_samples=12)
    labels = [source.load(index)[1] for index in range(len(source))]
    image = source.load(0)[0]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert set(np.unique(np.stack(labels)).tolist()) == set(range(num_classes))
    check_source(source)


def test_synthetic_is_deterministic_and_splits_differ() -> None:
    def sample(split: str, seed: int) -> np.ndarray:
        source = open_source("synthetic", "ignored", split, image_size=32, seed=seed)
        return source.load(3)[0]

    assert np.array_equal(sample("train", 1), sample("train", 1))
    assert not np.array_equal(sample("train", 1), sample("val", 1))
    assert not np.array_equal(sample("train", 1), sample("train", 2))
