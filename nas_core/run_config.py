"""A search described in one JSON file: the supernet, the search loop and the dataset.

    {"supernet": {"layers": 4, "filter_multiplier": 4, "num_classes": 3},
     "search": {"epochs": 4, "arch_start_epoch": 2, "crop_size": 64},
     "dataset": {"kind": "synthetic", "num_samples": 32, "image_size": 64}}

Every key is optional and defaults to the paper's value; an unknown key is an error.
"""

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nas_core.config import SearchConfig, SupernetConfig
from nas_core.data import SegmentationSource, check_source, open_source


@dataclass(frozen=True)
class DatasetConfig:
    kind: str = "synthetic"
    root: str | None = None
    num_samples: int = 64
    image_size: int = 64
    check: bool = True  # read every file once before the search starts, to fail early


@dataclass(frozen=True)
class RunConfig:
    supernet: SupernetConfig
    search: SearchConfig
    dataset: DatasetConfig

    def sources(self) -> tuple[SegmentationSource, SegmentationSource]:
        """The train and val sources, checked up front so a broken file fails in seconds."""
        data = self.dataset
        opened = [
            open_source(
                data.kind,
                data.root,
                split,
                num_classes=self.supernet.num_classes,
                num_samples=data.num_samples if split == "train" else max(data.num_samples // 4, 2),
                image_size=data.image_size,
                seed=self.search.seed,
            )
            for split in ("train", "val")
        ]
        if data.check:
            for source in opened:
                check_source(source)
        return opened[0], opened[1]


SECTIONS = {"supernet": SupernetConfig, "search": SearchConfig, "dataset": DatasetConfig}


def load_run_config(path: Path) -> RunConfig:
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    return parse_run_config(raw)


def parse_run_config(raw: dict[str, Any]) -> RunConfig:
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; known: {sorted(SECTIONS)}")
    return RunConfig(
        **{name: _build(cls, raw.get(name, {}), name) for name, cls in SECTIONS.items()}
    )


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"{section}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    # JSON has lists where the configs hold tuples (primitives, betas, ranges)
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{section}: {exc}") from exc
