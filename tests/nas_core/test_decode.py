"""Decoding α and β: the DARTS cell rule and the Viterbi network path."""

import pytest
import torch

from nas_core import PRIMITIVES, decode_cell, decode_genotype, decode_path
from nas_core.arch import beta_mask
from nas_core.space import DIRECTIONS, edge_offsets


def planted_betas(path: tuple[int, ...], strength: float = 5.0) -> torch.Tensor:
    """Random β with the edges along `path` made the strongest out of their source."""
    torch.manual_seed(1)
    betas = torch.randn(len(path), 4, 3) * 0.1
    previous = 0
    for layer, level in enumerate(path):
        betas[layer, previous, DIRECTIONS.index(level - previous)] += strength
        previous = level
    return betas


@pytest.mark.parametrize(
    "path",
    [(0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1), (1, 2, 3, 3, 3, 2), (0, 1, 0, 1), (1,), (0, 0)],
)
def test_a_planted_path_is_recovered(path: tuple[int, ...]) -> None:
    assert decode_path(planted_betas(path)) == path


def test_viterbi_beats_the_greedy_choice() -> None:
    """Greedy takes the slightly stronger first edge into a dead end; Viterbi does not."""
    betas = torch.zeros(2, 4, 3)
    betas[0, 0, 2] = 0.1  # stem -> level 1 slightly preferred
    betas[1, 1, :] = 0.0  # from level 1, all three ways equal (1/3 each)
    betas[1, 0, 1] = 10.0  # from level 0, staying is almost certain
    assert decode_path(betas) == (0, 0)


def test_the_path_never_uses_a_masked_edge() -> None:
    betas = torch.zeros(4, 4, 3)
    betas[~beta_mask(4)] = 100.0  # huge weights on edges that do not exist
    path = decode_path(betas)
    assert path[0] in (0, 1)
    assert all(abs(b - a) <= 1 for a, b in zip((0, *path), path, strict=False))


def test_decode_cell_follows_the_darts_rule() -> None:
    alphas = torch.zeros(20, 8)
    plan = {0: [(0, 7, 3.0), (1, 4, 2.0)], 1: [(0, 4, 1.0), (2, 5, 4.0), (1, 6, 0.5)]}
    for block, edges in plan.items():
        for src, op, value in edges:
            alphas[edge_offsets(5)[block] + src, op] = value
    cell = decode_cell(alphas)
    assert cell[0] == ((0, "dil_conv_5x5"), (1, "sep_conv_3x3"))
    assert cell[1] == ((0, "sep_conv_3x3"), (2, "sep_conv_5x5"))  # strongest two, sorted


def test_decode_cell_never_returns_none_even_when_none_dominates() -> None:
    torch.manual_seed(0)
    alphas = torch.randn(20, 8)
    alphas[:, 0] = 50.0
    cell = decode_cell(alphas)
    for i, block in enumerate(cell):
        sources = [src for src, _ in block]
        assert sources == sorted(sources) and len(set(sources)) == 2
        assert all(op != "none" and op in PRIMITIVES for _, op in block)
        assert all(src < 2 + i for src in sources)


def test_decoded_genotypes_from_random_parameters_validate() -> None:
    for seed in range(20):
        torch.manual_seed(seed)
        genotype = decode_genotype(torch.randn(20, 8), torch.randn(12, 4, 3))
        assert genotype.validate() is genotype
        assert genotype.layers == 12 and genotype.blocks == 5
        assert genotype.dil_conv == "dense"
    separable = decode_genotype(torch.randn(20, 8), torch.randn(12, 4, 3), dil_conv="separable")
    assert separable.dil_conv == "separable"
