"""Complexity counts: exact on known layers, sane on the derived network, side-effect free."""

import pytest
from torch import nn

from nas_core.complexity import Complexity, count_complexity, format_complexity
from nas_core.derived import build_network
from nas_core.genotype import PAPER_GENOTYPE


def test_conv_macs_are_exact() -> None:
    model = nn.Conv2d(3, 8, 3, padding=1)
    complexity = count_complexity(model, (10, 10))
    assert complexity.macs == 10 * 10 * 8 * 3 * 9
    assert complexity.params == 8 * 3 * 9 + 8


def test_grouped_conv_and_linear_macs_are_exact() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3),  # 10x10 -> 5x5
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 5 * 5, 7),
    )
    complexity = count_complexity(model, (10, 10))
    assert complexity.macs == 6 * 5 * 5 * 1 * 9 + 150 * 7
    assert complexity.params == sum(p.numel() for p in model.parameters())


def test_macs_scale_with_the_batch() -> None:
    model = nn.Conv2d(3, 8, 3, padding=1)
    assert count_complexity(model, (10, 10), batch=3).macs == 3 * 10 * 10 * 8 * 3 * 9


def test_derived_network_macs_grow_with_the_area() -> None:
    model = build_network(PAPER_GENOTYPE, 4, 5)
    small = count_complexity(model, (32, 32))
    large = count_complexity(model, (64, 64))
    assert small.params == large.params == sum(p.numel() for p in model.parameters())
    assert 3.5 <= large.macs / small.macs <= 4.5


@pytest.mark.parametrize("training", [True, False])
def test_training_flags_and_hooks_are_restored(training: bool) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    model.train(training)
    model[1].train(not training)  # a mixed state survives too
    count_complexity(model, (6, 6))
    assert model.training is training
    assert model[0].training is training
    assert model[1].training is (not training)
    assert all(not m._forward_hooks for m in model.modules())


def test_gflops_and_format() -> None:
    complexity = Complexity(params=2_310_000, macs=12_400_000_000)
    assert complexity.gflops == pytest.approx(24.8)
    assert format_complexity(complexity) == "2.31 M params, 12.4 GMACs"
