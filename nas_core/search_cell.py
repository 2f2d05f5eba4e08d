"""The weighted search cell: every earlier state feeds every block through a mixed op."""

import torch
from torch import nn

from nas_core.ops import build_op
from nas_core.space import edge_offsets


class MixedOp(nn.Module):
    """sum_k softmax(α_edge)_k · O_k(x), with every primitive of the table on the edge."""

    def __init__(self, channels: int, primitives: tuple[str, ...], dil_conv: str = "dense") -> None:
        super().__init__()
        self.primitives = primitives
        self.ops = nn.ModuleList(
            build_op(name, channels, 1, affine=False, dil_conv=dil_conv) for name in primitives
        )

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # `none` adds exactly zero, so it is not computed; its α still gets a gradient
        # through the softmax that normalises the other weights.
        terms = [
            w * op(x)
            for name, w, op in zip(self.primitives, weights, self.ops, strict=True)
            if name != "none"
        ]
        return torch.stack(terms).sum(dim=0)


class SearchCell(nn.Module):
    """B blocks over the states [pre-previous, previous, block 0, ...]; output = concat."""

    def __init__(
        self, channels: int, blocks: int, primitives: tuple[str, ...], dil_conv: str = "dense"
    ) -> None:
        super().__init__()
        self.blocks = blocks
        self.offsets = edge_offsets(blocks)
        edges = self.offsets[-1] + blocks + 1
        self.edges = nn.ModuleList(MixedOp(channels, primitives, dil_conv) for _ in range(edges))

    def forward(
        self, s0: torch.Tensor | None, s1: torch.Tensor, alpha_weights: torch.Tensor
    ) -> torch.Tensor:
        states = [s0, s1]
        for offset in self.offsets:
            inputs = enumerate(states)  # a missing pre-previous skips its edges, rows stay aligned
            block = sum(
                self.edges[offset + j](state, alpha_weights[offset + j])
                for j, state in inputs
                if state is not None
            )
            states.append(block)
        return torch.cat(states[2:], dim=1)
