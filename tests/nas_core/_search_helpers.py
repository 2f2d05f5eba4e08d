"""A tiny search used by the search-loop tests; run as a script it resumes one in a new process.

python _search_helpers.py CHECKPOINT_DIR OUT_FILE
"""

import sys
from pathlib import Path

import torch

from nas_core import SearchCallbacks, SearchConfig, Searcher, SupernetConfig
from nas_core.data import open_source

NET = SupernetConfig(num_classes=3, layers=2, filter_multiplier=2)
SEARCH = SearchConfig(epochs=2, arch_start_epoch=1, batch_size=2, crop_size=16, val_batches=1)


def tiny_searcher(
    folder: Path,
    callbacks: SearchCallbacks | None = None,
    net: SupernetConfig = NET,
    **overrides: object,
) -> Searcher:
    search = SearchConfig(**{**SEARCH.__dict__, **overrides})
    train = open_source("synthetic", None, "train", num_classes=3, num_samples=8, image_size=20)
    val = open_source("synthetic", None, "val", num_classes=3, num_samples=2, image_size=20)
    return Searcher(net, search, train, val, folder, callbacks)


def final_state(searcher: Searcher) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in searcher.model.state_dict().items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    resumed = tiny_searcher(Path(sys.argv[1]))
    if not resumed.resume():
        sys.exit("no checkpoint to resume from")
    resumed.run()
    torch.save(final_state(resumed), sys.argv[2])
