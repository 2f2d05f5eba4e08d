"""Architecture parameters: the valid-edge mask of β and its per-source normalisation."""

import torch

from nas_core.space import DIRECTIONS, NUM_LEVELS, node_exists, reachable_levels

MASK_FILL = -1e9  # finite, so fully masked rows stay NaN-free in softmax and its backward


def source_levels(layer: int) -> list[int]:
    """Levels of the nodes feeding `layer`: the stem (level 0) feeds layer 0."""
    return [level for level in range(NUM_LEVELS) if node_exists(layer - 1, level)]


def beta_mask(layers: int) -> torch.Tensor:
    """Bool (layers, 4, 3): True where β[l, v_src, d] weighs an edge that exists."""
    mask = torch.zeros(layers, NUM_LEVELS, len(DIRECTIONS), dtype=torch.bool)
    for layer in range(layers):
        targets = reachable_levels(layer)
        for v_src in source_levels(layer):
            for d, step in enumerate(DIRECTIONS):
                mask[layer, v_src, d] = (v_src + step) in targets
    return mask


def normalize_betas(betas: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over each source node's valid outgoing directions; invalid entries are 0."""
    weights = betas.masked_fill(~mask, MASK_FILL).softmax(dim=-1)
    return weights * mask


def normalize_alphas(alphas: torch.Tensor) -> torch.Tensor:
    return alphas.softmax(dim=-1)
