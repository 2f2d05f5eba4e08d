"""The derived network: a genotype compiled into a discrete model for retraining (§6, TF semantics).

The structure is computed by walking `genotype.network_path`; every cell on the path is a
`DiscreteCell` built from the same block table, with its own weights.
"""

import torch
from torch import nn

from nas_core.genotype import Block, Genotype, GenotypeError
from nas_core.heads import DeepLabV3PlusHead, Size, conv_bn_relu, resize
from nas_core.ops import OPS, ReLUConvBN, build_op
from nas_core.space import downsample_rate, level_sizes

STEM_HALF_CHANNELS = 64
STEM_CHANNELS = 128
NO_CELL = -1  # `low_level_cell` when no cell sits at 1/4: the stem's output is used


class Stem(nn.Module):
    """3x3 s2 (64) -> 3x3 (64) -> 3x3 s2 (128); returns the 1/2 and 1/4 outputs.

    The last conv has no ReLU because every cell starts its preprocessing with one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.to_half = nn.Sequential(
            conv_bn_relu(3, STEM_HALF_CHANNELS, 3, stride=2),
            conv_bn_relu(STEM_HALF_CHANNELS, STEM_HALF_CHANNELS, 3),
        )
        self.to_quarter = nn.Sequential(
            nn.Conv2d(STEM_HALF_CHANNELS, STEM_CHANNELS, 3, 2, 1, bias=False),
            nn.BatchNorm2d(STEM_CHANNELS),
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = self.to_half(images)
        return half, self.to_quarter(half)


class DiscreteCell(nn.Module):
    """B blocks, each the sum of two ops on earlier states; the output concatenates them.

    With stride 2 only the ops reading a cell input stride, so both inputs stay at the
    previous resolution and every block sum lines up with the already reduced blocks.
    """

    def __init__(
        self,
        cell: tuple[Block, ...],
        prev_prev_chs: int,
        prev_chs: int,
        width: int,
        stride: int,
        dil_conv: str = "dense",
    ) -> None:
        super().__init__()
        self.width = width
        self.out_chs = len(cell) * width
        self.preprocess_prev = ReLUConvBN(prev_chs, width, 1)
        self.preprocess_prev_prev: nn.Module = (
            nn.Identity() if prev_prev_chs == width else ReLUConvBN(prev_prev_chs, width, 1)
        )
        edges = [edge for block in cell for edge in block]
        self.sources = tuple(src for src, _ in edges)
        self.ops = nn.ModuleList(
            build_op(op, width, stride if src < 2 else 1, affine=True, dil_conv=dil_conv)
            for src, op in edges
        )

    def forward(self, prev_prev: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        if prev_prev.shape[2:] != prev.shape[2:]:
            prev_prev = resize(prev_prev, prev.shape[2:])
        states = [self.preprocess_prev_prev(prev_prev), self.preprocess_prev(prev)]
        for first in range(0, len(self.ops), 2):
            pair = (first, first + 1)
            states.append(sum(self.ops[j](states[self.sources[j]]) for j in pair))
        return torch.cat(states[2:], dim=1)


class DerivedNetwork(nn.Module):
    """Stem -> one DiscreteCell per layer along the path -> DeepLabv3+ head -> input size."""

    def __init__(self, genotype: Genotype, filter_multiplier: int, num_classes: int) -> None:
        super().__init__()
        _check_arguments(genotype, filter_multiplier, num_classes)
        self.levels = genotype.network_path
        self.stem = Stem()
        self.cells = nn.ModuleList(_build_cells(genotype, filter_multiplier))
        at_quarter = [n for n, level in enumerate(self.levels) if level == 0]
        self.low_level_cell = at_quarter[-1] if at_quarter else NO_CELL
        low_level_chs = self.cells[at_quarter[-1]].out_chs if at_quarter else STEM_CHANNELS
        out_stride = downsample_rate(self.levels[-1])
        self.head = DeepLabV3PlusHead(
            self.cells[-1].out_chs, out_stride, low_level_chs, num_classes
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        half, quarter = self.stem(images)
        features, low_level = self._run_cells(half, quarter, level_sizes(*images.shape[2:]))
        return resize(self.head(features, low_level), images.shape[2:])

    def _run_cells(
        self, half: torch.Tensor, quarter: torch.Tensor, sizes: list[Size]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Only the last two cell outputs and the decoder's stride-4 feature stay alive."""
        prev_prev, prev, low_level, previous_level = half, quarter, quarter, 0
        for n, (cell, level) in enumerate(zip(self.cells, self.levels, strict=True)):
            inputs = resize(prev, sizes[level]) if level < previous_level else prev
            prev_prev, prev = prev, cell(prev_prev, inputs)
            if n == self.low_level_cell:
                low_level = prev
            previous_level = level
        return prev, low_level


def _build_cells(genotype: Genotype, filter_multiplier: int) -> list[DiscreteCell]:
    """Width F·2^v per level; going coarser the cell strides its ops on the cell inputs."""
    channels, cells, previous_level = [STEM_HALF_CHANNELS, STEM_CHANNELS], [], 0
    for level in genotype.network_path:
        stride = 2 if level > previous_level else 1
        width = filter_multiplier * 2**level
        cell = DiscreteCell(
            genotype.cell, channels[-2], channels[-1], width, stride, genotype.dil_conv
        )
        cells.append(cell)
        channels.append(cell.out_chs)
        previous_level = level
    return cells


def _check_arguments(genotype: Genotype, filter_multiplier: int, num_classes: int) -> None:
    genotype.validate()
    unknown = sorted({op for block in genotype.cell for _, op in block} - set(OPS))
    if unknown:
        raise GenotypeError(f"ops {unknown} have no implementation in nas_core.ops")
    if filter_multiplier < 1:
        raise ValueError(f"filter_multiplier must be >= 1, got {filter_multiplier}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")


def build_network(genotype: Genotype, filter_multiplier: int, num_classes: int) -> DerivedNetwork:
    """The retraining network of a genotype; F = 20 / 32 / 48 gives Auto-DeepLab-S / M / L."""
    return DerivedNetwork(genotype, filter_multiplier, num_classes)
