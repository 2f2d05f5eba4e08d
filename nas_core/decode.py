"""Decoding the architecture parameters into a discrete genotype (AUTODEEPLAB.md §4)."""

import torch

from nas_core.arch import beta_mask, normalize_alphas, normalize_betas
from nas_core.genotype import Block, Genotype
from nas_core.space import DIRECTIONS, NUM_LEVELS, PRIMITIVES, edge_offsets


def decode_cell(
    alphas: torch.Tensor, blocks: int = 5, primitives: tuple[str, ...] = PRIMITIVES
) -> tuple[Block, ...]:
    """DARTS rule: per block the two edges with the strongest non-zero op, sorted by input."""
    weights = normalize_alphas(alphas.detach().float().cpu())
    usable = torch.tensor([name != "none" for name in primitives])
    weights = weights.masked_fill(~usable, -1.0)  # `none` can never win
    cell = []
    for block, offset in enumerate(edge_offsets(blocks)):
        strength, best_op = weights[offset : offset + 2 + block].max(dim=-1)
        top_two = sorted(strength.topk(2).indices.tolist())
        cell.append(tuple((src, primitives[best_op[src]]) for src in top_two))
    return tuple(cell)


def decode_path(betas: torch.Tensor) -> tuple[int, ...]:
    """Viterbi over the normalised β: the most probable level path from the stem, free end."""
    layers = betas.shape[0]
    mask = beta_mask(layers)
    log_weights = normalize_betas(betas.detach().float().cpu(), mask).clamp_min(1e-30).log()
    score = torch.full((NUM_LEVELS,), float("-inf"))
    score[0] = 0.0  # the stem sits at level 0
    back = torch.zeros(layers, NUM_LEVELS, dtype=torch.long)
    for layer in range(layers):
        score, back[layer] = _viterbi_step(score, log_weights[layer], mask[layer])
    level = int(score.argmax())
    path = [level]
    for layer in range(layers - 1, 0, -1):
        level = int(back[layer, level])
        path.append(level)
    return tuple(reversed(path))


def _viterbi_step(
    score: torch.Tensor, log_weights: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best score for each target level of one layer, and the source level it came from."""
    best = torch.full((NUM_LEVELS,), float("-inf"))
    source = torch.zeros(NUM_LEVELS, dtype=torch.long)
    for v_src in range(NUM_LEVELS):
        for d, step in enumerate(DIRECTIONS):
            target = v_src + step
            if not mask[v_src, d]:
                continue
            candidate = score[v_src] + log_weights[v_src, d]
            if candidate > best[target]:
                best[target], source[target] = candidate, v_src
    return best, source


def decode_genotype(
    alphas: torch.Tensor,
    betas: torch.Tensor,
    primitives: tuple[str, ...] = PRIMITIVES,
    dil_conv: str = "dense",
) -> Genotype:
    """The architecture α and β choose; `dil_conv` is the supernet's, for the derived network."""
    blocks = _blocks_for_edges(alphas.shape[0])
    cell = decode_cell(alphas, blocks, primitives)
    path = decode_path(betas)
    return Genotype(path, cell, primitives=primitives, dil_conv=dil_conv).validate()


def _blocks_for_edges(edges: int) -> int:
    blocks, total = 0, 0
    while total < edges:
        total += 2 + blocks
        blocks += 1
    if total != edges:
        raise ValueError(f"{edges} alpha rows do not match any number of blocks")
    return blocks
