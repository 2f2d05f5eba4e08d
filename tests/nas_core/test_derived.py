"""The derived network: shapes, gradients, widths and the path walk, at tiny CPU sizes."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from nas_core.derived import NO_CELL, STEM_CHANNELS, build_network, level_sizes
from nas_core.genotype import PAPER_GENOTYPE, Genotype, GenotypeError
from nas_core.heads import aspp_rates
from nas_core.space import PRIMITIVES

CLASSES = 5
MULTIPLIER = 4
OPS = [name for name in PRIMITIVES if name != "none"]
PATHS = {
    "coarser-same-finer": (1, 2, 2, 1, 0),
    "level-0": (0, 0, 0),
}


def uniform_genotype(op: str, path: tuple[int, ...]) -> Genotype:
    """Three blocks that all use `op`, reading both cell inputs and earlier blocks."""
    cell = (((0, op), (1, op)), ((1, op), (2, op)), ((0, op), (3, op)))
    return Genotype(network_path=path, cell=cell)


def cell_outputs(model: torch.nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    outputs: list[torch.Tensor] = []
    handles = [
        cell.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for cell in model.cells
    ]
    try:
        model(images)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


@pytest.mark.parametrize("size", [(33, 47), (64, 64)])
def test_paper_genotype_trains_at_odd_and_even_sizes(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build_network(PAPER_GENOTYPE, MULTIPLIER, CLASSES).train()
    images = torch.randn(2, 3, *size)
    logits = model(images)
    assert logits.shape == (2, CLASSES, *size)
    targets = torch.randint(0, CLASSES, (2, *size))
    F.cross_entropy(logits, targets).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None for g in grads.values()), [n for n, g in grads.items() if g is None]
    assert all(torch.isfinite(g).all() for g in grads.values())
    nonzero = sum(bool(g.abs().sum() > 0) for g in grads.values())
    assert nonzero >= 0.95 * len(grads)


def test_paper_genotype_eval_mode_with_batch_one() -> None:
    model = build_network(PAPER_GENOTYPE, MULTIPLIER, CLASSES).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 41, 30))
    assert logits.shape == (1, CLASSES, 41, 30)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("op", OPS)
def test_every_primitive_walks_every_direction(op: str, path: tuple[int, ...]) -> None:
    model = build_network(uniform_genotype(op, path), MULTIPLIER, CLASSES).train()
    images = torch.randn(2, 3, 37, 30)
    sizes = level_sizes(37, 30)
    outputs = cell_outputs(model, images)
    for level, out in zip(path, outputs, strict=True):
        assert out.shape == (2, 3 * MULTIPLIER * 2**level, *sizes[level])
    assert model(images).shape == (2, CLASSES, 37, 30)


def test_a_separable_genotype_builds_separable_dil_convs() -> None:
    genotype = dataclasses.replace(
        uniform_genotype("dil_conv_5x5", PATHS["coarser-same-finer"]), dil_conv="separable"
    )
    model = build_network(genotype, MULTIPLIER, CLASSES).train()
    depthwise = [
        m for m in model.cells.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1
    ]
    assert len(depthwise) == 6 * len(genotype.network_path)  # one per op: 3 blocks x 2
    assert all(m.groups == m.in_channels and m.kernel_size == (5, 5) for m in depthwise)
    assert model(torch.randn(2, 3, 37, 30)).shape == (2, CLASSES, 37, 30)


def test_cell_widths_follow_the_level() -> None:
    model = build_network(PAPER_GENOTYPE, MULTIPLIER, CLASSES)
    blocks = PAPER_GENOTYPE.blocks
    for cell, level in zip(model.cells, PAPER_GENOTYPE.network_path, strict=True):
        width = MULTIPLIER * 2**level
        assert cell.width == width
        assert cell.preprocess_prev[1].out_channels == width
        assert cell.out_chs == blocks * width
    outputs = cell_outputs(model.eval(), torch.randn(1, 3, 32, 32))
    channels = [out.shape[1] for out in outputs]
    assert channels == [blocks * MULTIPLIER * 2**v for v in PAPER_GENOTYPE.network_path]


def test_first_cells_read_the_stem_outputs() -> None:
    model = build_network(PAPER_GENOTYPE, MULTIPLIER, CLASSES)
    assert model.cells[0].preprocess_prev_prev[1].in_channels == 64
    assert model.cells[0].preprocess_prev[1].in_channels == STEM_CHANNELS
    assert model.cells[1].preprocess_prev_prev[1].in_channels == STEM_CHANNELS


def test_decoder_reads_the_last_stride_4_cell() -> None:
    model = build_network(PAPER_GENOTYPE, MULTIPLIER, CLASSES)
    assert model.low_level_cell == 2  # path (0, 0, 0, 1, ...)
    assert model.head.decoder.reduce[0].in_channels == PAPER_GENOTYPE.blocks * MULTIPLIER
    assert model.head.aspp.rates == (12, 24, 36)  # the paper's path ends at 1/8


def test_decoder_falls_back_to_the_stem_without_a_stride_4_cell() -> None:
    model = build_network(uniform_genotype("skip_connect", (1, 2, 3)), MULTIPLIER, CLASSES)
    assert model.low_level_cell == NO_CELL
    assert model.head.decoder.reduce[0].in_channels == STEM_CHANNELS


def test_aspp_rates_scale_with_the_output_stride() -> None:
    assert aspp_rates(16) == (6, 12, 18)
    assert aspp_rates(32) == (3, 6, 9)
    assert aspp_rates(4) == (24, 48, 72)


def test_level_sizes_halve_with_ceil() -> None:
    assert level_sizes(33, 47) == [(9, 12), (5, 6), (3, 3), (2, 2)]


@pytest.mark.parametrize(
    "genotype",
    [
        Genotype(network_path=(0, 2), cell=PAPER_GENOTYPE.cell),
        Genotype(network_path=(0,), cell=(((0, "none"), (1, "skip_connect")),)),
        Genotype(network_path=(0,), cell=(((0, "skip_connect"), (2, "skip_connect")),)),
    ],
    ids=["level-jump", "none-op", "later-input"],
)
def test_invalid_genotype_is_rejected_at_build_time(genotype: Genotype) -> None:
    with pytest.raises(GenotypeError):
        build_network(genotype, MULTIPLIER, CLASSES)


@pytest.mark.parametrize("multiplier, classes", [(0, CLASSES), (MULTIPLIER, 0)])
def test_bad_sizes_are_rejected(multiplier: int, classes: int) -> None:
    with pytest.raises(ValueError):
        build_network(PAPER_GENOTYPE, multiplier, classes)
