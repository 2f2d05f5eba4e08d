"""SearchSpec -> nas_core configs and data sources: the only place that knows both vocabularies."""

from pathlib import Path

from jobs.datasets import resolve_dataset
from jobs.errors import ServiceError
from jobs.spec import SearchSpec
from nas_core import SearchConfig, SupernetConfig
from nas_core.data import DatasetError, SegmentationSource, open_source


def supernet_config(spec: SearchSpec) -> SupernetConfig:
    space = spec.search_space
    return SupernetConfig(
        num_classes=spec.dataset.num_classes,
        layers=space.layers,
        filter_multiplier=space.filter_multiplier,
        blocks=space.blocks,
        primitives=tuple(space.primitives),
        dil_conv=space.dil_conv,
    )


def search_config(spec: SearchSpec) -> SearchConfig:
    training, resources = spec.training, spec.resources
    return SearchConfig(
        epochs=training.epochs,
        arch_start_epoch=training.arch_start_epoch,
        batch_size=training.batch_size,
        crop_size=training.crop_size,
        weight_lr=training.weight_lr,
        weight_lr_min=training.weight_lr_min,
        momentum=training.momentum,
        weight_decay=training.weight_decay,
        arch_lr=training.arch_lr,
        arch_weight_decay=training.arch_weight_decay,
        seed=training.seed,
        val_batches=training.val_batches,
        keep_checkpoints=training.keep_checkpoints,
        device=resources.device,
        precision=resources.precision,
        checkpoint_activations=resources.checkpoint_activations,
    )


def open_sources(
    spec: SearchSpec, data_root: Path
) -> tuple[SegmentationSource, SegmentationSource]:
    """The train and val splits; a dataset is named relative to the data root."""
    dataset = spec.dataset
    root = dataset_folder(data_root, dataset.name) if dataset.name else None
    options = {"num_classes": dataset.num_classes, "seed": spec.training.seed}
    if dataset.kind == "synthetic":
        options.update(num_samples=dataset.num_samples, image_size=dataset.image_size)
    train = open_source(dataset.kind, root, "train", **options)
    val = open_source(dataset.kind, root, "val", **options)
    return train, val


def dataset_folder(data_root: Path, name: str) -> Path:
    """Resolved again here, not trusted from submission: a link swapped in since is refused.
    The folder is opened by its resolved path, so swapping the link later changes nothing."""
    try:
        return resolve_dataset(data_root, name)
    except ServiceError as exc:
        raise DatasetError(str(exc.detail)) from exc  # a fatal "dataset problem" for the user
