"""nas_core: a faithful PyTorch implementation of Auto-DeepLab (Liu et al., CVPR 2019).

The science of the service, with no knowledge of HTTP, SQL or Celery. Public surface:

- `PRIMITIVES`: the 8 op names in α's column order; `OPS` in `nas_core.ops` builds them.
- `SupernetConfig`, `SearchConfig`: frozen configs with the paper's defaults.
- `Supernet`: the search network; `.alphas` (edges, primitives), `.betas` (layers, 4, 3).
- `Searcher`: the bi-level search loop with callbacks (`SearchCallbacks`) and resumable
  checkpoints; `SearchResult` is what `run()` returns.
- `decode_cell`, `decode_path`, `decode_genotype`: from α and β to a discrete architecture.
- `Genotype`, `PAPER_GENOTYPE`: the architecture as plain data with a JSON round-trip.
- `build_network`: the derived network of a genotype, for retraining.
- `nas_core.data`: dataset layouts, transforms; `nas_core.metrics`: mIoU and pixel accuracy.
"""

from nas_core.callbacks import CheckpointInfo, EpochInfo, SearchCallbacks, StepInfo
from nas_core.config import SearchConfig, SupernetConfig
from nas_core.decode import decode_cell, decode_genotype, decode_path
from nas_core.derived import build_network
from nas_core.genotype import PAPER_GENOTYPE, Genotype, GenotypeError
from nas_core.searcher import Searcher, SearchResult
from nas_core.space import PRIMITIVES
from nas_core.supernet import Supernet

__all__ = [
    "PAPER_GENOTYPE",
    "PRIMITIVES",
    "CheckpointInfo",
    "EpochInfo",
    "Genotype",
    "GenotypeError",
    "SearchCallbacks",
    "SearchConfig",
    "SearchResult",
    "Searcher",
    "StepInfo",
    "Supernet",
    "SupernetConfig",
    "build_network",
    "decode_cell",
    "decode_genotype",
    "decode_path",
]
