"""Segmentation datasets (AUTODEEPLAB.md §7), their augmentation and the seeded torch Dataset."""

from nas_core.data.base import (
    IGNORE_INDEX,
    DatasetError,
    SegmentationSource,
    check_source,
    validate_sample,
)
from nas_core.data.dataset import KINDS, SeededDataset, open_source
from nas_core.data.layouts import ADE20KSource, CityscapesSource, FolderSource, PascalVOCSource
from nas_core.data.synthetic import SyntheticSource
from nas_core.data.transforms import EvalTransform, TrainTransform

__all__ = [
    "IGNORE_INDEX",
    "KINDS",
    "ADE20KSource",
    "CityscapesSource",
    "DatasetError",
    "EvalTransform",
    "FolderSource",
    "PascalVOCSource",
    "SeededDataset",
    "SegmentationSource",
    "SyntheticSource",
    "TrainTransform",
    "check_source",
    "open_source",
    "validate_sample",
]
