"""The Auto-DeepLab supernet: a trellis of search cells over layers x levels (§2)."""

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.arch import beta_mask, normalize_alphas, normalize_betas, source_levels
from nas_core.config import SupernetConfig
from nas_core.fast_cell import bind_weight_run, fast_node_forward, weight_runs
from nas_core.flat import FlatWeights, flatten_parameters
from nas_core.ops import ReLUConvBN
from nas_core.parallel_nodes import run_layer, serial_main_thread
from nas_core.search_cell import SearchCell
from nas_core.space import (
    DIRECTIONS,
    NUM_LEVELS,
    downsample_rate,
    level_sizes,
    node_exists,
    num_edges,
    reachable_levels,
)

STEM_CHANNELS = 128  # the stem's 1/4 output feeds layer 0 and is layer -1's level-0 node
Size = tuple[int, int]


class ArchParameters(nn.Module):
    """α (edges, primitives), shared by all cells, and β (layers, 4, 3); 1e-3·N(0, 1)."""

    def __init__(self, config: SupernetConfig) -> None:
        super().__init__()
        alphas = torch.randn(num_edges(config.blocks), len(config.primitives))
        betas = torch.randn(config.layers, NUM_LEVELS, len(DIRECTIONS))
        self.alphas = nn.Parameter(1e-3 * alphas)
        self.betas = nn.Parameter(1e-3 * betas)
        self.register_buffer("beta_mask", beta_mask(config.layers), persistent=False)


class Node(nn.Module):
    """The cell at (layer, level), applied once per incoming direction with shared weights."""

    def __init__(
        self, config: SupernetConfig, layer: int, level: int, channels_at: Callable
    ) -> None:
        super().__init__()
        self.level = level
        width = config.filter_multiplier * 2**level
        self.cell = SearchCell(width, config.blocks, config.primitives, config.dil_conv)
        self.preprocess = nn.ModuleDict()
        for d, step in enumerate(DIRECTIONS):
            v_src = level - step
            if v_src in source_levels(layer):
                # coarser: a stride-2 3x3 conv; same and finer (after upsampling): a 1x1 conv
                kernel, stride = (3, 2) if step == 1 else (1, 1)
                in_chs = channels_at(layer - 1, v_src)
                self.preprocess[str(d)] = ReLUConvBN(in_chs, width, kernel, stride, affine=False)
        self.prev_prev = None
        if node_exists(layer - 2, level):
            in_chs = channels_at(layer - 2, level)
            self.prev_prev = ReLUConvBN(in_chs, width, 1, affine=False)

    def branch_inputs(
        self,
        prev: dict[int, torch.Tensor],
        prev_prev: dict[int, torch.Tensor],
        sizes: list[Size],
        layer_betas: torch.Tensor,
    ) -> tuple[torch.Tensor | None, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The preprocessed pre-previous input, and per incoming direction (input, its β)."""
        s0 = self.prev_prev(prev_prev[self.level]) if self.prev_prev is not None else None
        branches = []
        for key, preprocess in self.preprocess.items():
            d = int(key)
            step = DIRECTIONS[d]
            x = prev[self.level - step]
            if step == -1:  # from a coarser level: upsample to this level's exact size first
                x = F.interpolate(x, size=sizes[self.level], mode="bilinear", align_corners=False)
            branches.append((preprocess(x), layer_betas[self.level - step, d]))
        return s0, branches

    def forward(
        self,
        prev: dict[int, torch.Tensor],
        prev_prev: dict[int, torch.Tensor],
        sizes: list[Size],
        alpha_weights: torch.Tensor,
        layer_betas: torch.Tensor,
    ) -> torch.Tensor:
        s0, branches = self.branch_inputs(prev, prev_prev, sizes, layer_betas)
        out = 0.0
        for s1, beta in branches:
            out = out + beta * self.cell(s0, s1, alpha_weights)
        return out


class SearchHead(nn.Module):
    """ASPP with 1x1, 3x3 rate 96/s and image-pooling branches, then 1x1 to the classes."""

    def __init__(self, in_chs: int, level: int, num_classes: int) -> None:
        super().__init__()
        rate = 96 // downsample_rate(level)
        self.conv1x1 = _conv_bn_relu(in_chs, in_chs, 1, 1)
        self.atrous = _conv_bn_relu(in_chs, in_chs, 3, rate)
        self.pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), _conv_bn_relu(in_chs, in_chs, 1, 1))
        self.classifier = nn.Conv2d(3 * in_chs, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pooling(x).expand(-1, -1, *x.shape[2:])
        return self.classifier(torch.cat([self.conv1x1(x), self.atrous(x), pooled], dim=1))


def _conv_bn_relu(in_chs: int, out_chs: int, kernel: int, rate: int) -> nn.Sequential:
    padding = rate * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_chs, out_chs, kernel, padding=padding, dilation=rate, bias=False),
        nn.BatchNorm2d(out_chs),
        nn.ReLU(inplace=True),
    )


def _stem() -> nn.Sequential:
    """Two stride-2 3x3 convs (64, 64, 128 channels) bring the input to 1/4."""
    layers: list[nn.Module] = []
    for in_chs, out_chs, stride in ((3, 64, 2), (64, 64, 1), (64, STEM_CHANNELS, 2)):
        layers += [
            nn.Conv2d(in_chs, out_chs, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_chs),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


# A cell's activations scale with channels x pixels, F*2^v x (H/2^(v+2))^2: each level holds half
# of the one above it, so levels 0 and 1 hold 80% of them, and recomputing their cells costs about
# half the time of recomputing all (the per-node work is much the same at every level). At 64 px
# (fast path, 2 threads): 1.36 -> 1.20 GiB for 38% more time; all levels give 1.17 GiB for 63%.
CHECKPOINTED_LEVELS = (0, 1)


class Supernet(nn.Module):
    """Stem -> layers of nodes over the reachable levels -> an ASPP head per last-layer level.

    `fast` routes each node through `fast_node_forward` (same parameters, same result, far fewer
    kernels) instead of `Node.forward`, the reference; it can be flipped at any time.
    `checkpoint_activations` (fast path only) keeps no activations inside the cells of the
    finest levels for the backward pass and recomputes them there instead: less memory, more
    time (see CHECKPOINTED_LEVELS).
    `node_workers` > 1 (fast path, CPU) runs that many of a layer's nodes at once on worker
    threads, forward and backward (see nas_core/parallel_nodes.py).
    """

    def __init__(
        self,
        config: SupernetConfig,
        fast: bool = False,
        checkpoint_activations: bool = False,
        node_workers: int = 1,
    ) -> None:
        super().__init__()
        self.config = config
        self.fast, self.checkpoint_activations = fast, checkpoint_activations
        self.node_workers = node_workers
        self.arch = ArchParameters(config)
        self.stem = _stem()
        self.nodes = nn.ModuleDict()
        for layer in range(config.layers):
            for level in reachable_levels(layer):
                self.nodes[f"{layer}_{level}"] = Node(config, layer, level, self.channels_at)
        last = reachable_levels(config.layers - 1)
        self.heads = nn.ModuleDict(
            {str(v): SearchHead(self.channels_at(0, v), v, config.num_classes) for v in last}
        )

    @property
    def alphas(self) -> nn.Parameter:
        return self.arch.alphas

    @property
    def betas(self) -> nn.Parameter:
        return self.arch.betas

    def channels_at(self, layer: int, level: int) -> int:
        if layer == -1:
            return STEM_CHANNELS
        return self.config.blocks * self.config.filter_multiplier * 2**level

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch.parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def flatten_weights(self) -> FlatWeights:
        """The weights as views of one flat parameter (see nas_core/flat.py), laid out so that
        each stack of conv weights the fast path builds is one stacked leaf over them."""
        runs = [run for node in self.nodes.values() for run in weight_runs(node.cell)]
        flat = flatten_parameters(self.weight_parameters(), [[c.weight for c in r] for r in runs])
        for run, leaf in zip(runs, flat.stacked, strict=True):
            bind_weight_run(run, leaf)
        return flat

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.arch.alphas, self.arch.betas]

    def normalized_betas(self) -> torch.Tensor:
        return normalize_betas(self.arch.betas, self.arch.beta_mask)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        sizes = level_sizes(images.shape[2], images.shape[3])
        alpha_weights = normalize_alphas(self.arch.alphas)
        beta_weights = self.normalized_betas()
        prev_prev: dict[int, torch.Tensor] = {}
        prev = {0: self.stem(images)}  # only two layers of node outputs stay alive
        for layer in range(self.config.layers):
            current = self._layer(layer, sizes, prev, prev_prev, alpha_weights, beta_weights[layer])
            prev_prev, prev = prev, current
        return self._logits(prev, images.shape[2:])

    def _layer(self, layer: int, sizes: list[Size], *args) -> dict[int, torch.Tensor]:
        """The layer's nodes: {level: output}; side by side on worker threads where that helps."""
        levels = reachable_levels(layer)

        def run_node(level: int, *node_args) -> torch.Tensor:
            return self._node(layer, level, sizes[level], (*node_args[:2], sizes, *node_args[2:]))

        if self._parallel(args[-2]) and len(levels) > 1:
            return run_layer(run_node, levels, *args, workers=self.node_workers)
        return {level: run_node(level, *args) for level in levels}

    def serial_main_thread(self, autocast: bool = False) -> contextlib.AbstractContextManager:
        """Around a whole step (forward, backward, optimiser): where node workers run, the
        calling thread's own kernels run on one thread (see parallel_nodes.serial_main_thread).
        `autocast`: whether the step runs under CPU autocast, where no workers run."""
        parallel = self._workers_run(self.arch.alphas.device, autocast)
        return serial_main_thread(self.node_workers if parallel else 1)

    def _parallel(self, like: torch.Tensor) -> bool:
        return self._workers_run(like.device, torch.is_autocast_enabled("cpu"))

    def _workers_run(self, device: torch.device, cpu_autocast: bool) -> bool:
        """Worker threads pay off on the CPU, on the fast path, outside autocast (whose
        state is per thread)."""
        return self.node_workers > 1 and self.fast and device.type == "cpu" and not cpu_autocast

    def _node(self, layer: int, level: int, size: Size, args: tuple) -> torch.Tensor:
        node = self.nodes[f"{layer}_{level}"]
        # Below 2x2 pixels batch norm sees two values per channel and its gradient is rounding
        # noise that the fast path's other summation order amplifies: use the reference there.
        if not self.fast or min(size) < 2:
            return node(*args)
        checkpointed = self.checkpoint_activations and level in CHECKPOINTED_LEVELS
        return fast_node_forward(node, *args, checkpointed=checkpointed)

    def _logits(self, last: dict[int, torch.Tensor], size: torch.Size) -> torch.Tensor:
        """Each level's logits, upsampled bilinearly to the input size, summed."""
        logits = [
            F.interpolate(head(last[int(v)]), size=size, mode="bilinear", align_corners=False)
            for v, head in self.heads.items()
        ]
        return torch.stack(logits).sum(dim=0)
