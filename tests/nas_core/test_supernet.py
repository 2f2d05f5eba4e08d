"""The supernet: the op table on every edge, parameter shapes, sizes and gradients."""

import pytest
import torch

from nas_core import PRIMITIVES, Supernet, SupernetConfig
from nas_core.arch import beta_mask
from nas_core.ops import OPS, build_op
from nas_core.search_cell import MixedOp
from nas_core.space import DIRECTIONS, node_exists, num_edges

TINY = SupernetConfig(num_classes=3, layers=4, filter_multiplier=2)


@pytest.fixture(scope="module")
def default_net() -> Supernet:
    return Supernet(SupernetConfig())


@pytest.fixture(scope="module")
def tiny_net() -> Supernet:
    torch.manual_seed(0)
    return Supernet(TINY)


def test_default_config_has_the_papers_shapes(default_net: Supernet) -> None:
    assert default_net.alphas.shape == (20, 8)
    assert default_net.betas.shape == (12, 4, 3)
    assert len(default_net.nodes) == 45
    assert num_edges(5) == 20


def test_arch_parameters_start_near_zero(default_net: Supernet) -> None:
    for param in (default_net.alphas, default_net.betas):
        assert 0 < param.abs().max() < 1e-2
        assert float(param.detach().std()) == pytest.approx(1e-3, rel=0.5)


def test_every_edge_holds_every_primitive_in_table_order(tiny_net: Supernet) -> None:
    edges = [m for m in tiny_net.modules() if isinstance(m, MixedOp)]
    assert len(edges) == 13 * 20  # 13 nodes at 4 layers, one shared cell each
    for edge in edges:
        assert edge.primitives == PRIMITIVES
        assert len(edge.ops) == len(PRIMITIVES)


@pytest.mark.parametrize("name", PRIMITIVES)
def test_each_primitive_keeps_shape_and_search_bn_is_not_affine(name: str) -> None:
    op = build_op(name, 4, 1, affine=False)
    x = torch.randn(2, 4, 9, 7)
    assert op(x).shape == x.shape
    norms = [m for m in op.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not bn.affine for bn in norms)
    assert tuple(OPS) == PRIMITIVES


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [3, 5])
def test_separable_dil_convs_are_depthwise_at_rate_2_then_pointwise(kernel: int, stride: int):
    name, x = f"dil_conv_{kernel}x{kernel}", torch.randn(2, 8, 9, 7)
    dense, separable = build_op(name, 8, stride), build_op(name, 8, stride, dil_conv="separable")
    convs = [m for m in separable.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.groups, c.kernel_size, c.dilation) for c in convs] == [
        (8, (kernel, kernel), (3 - stride, 3 - stride)),  # rate 2; strided: downsampled, rate 1
        (1, (1, 1), (1, 1)),
    ]
    size = (9, 7) if stride == 1 else (5, 4)  # strided: halved, rounding up
    assert separable(x).shape == dense(x).shape == (2, 8, *size)
    count = sum(p.numel() for p in separable.parameters())
    assert count == 8 * kernel**2 + 8 * 8 + 2 * 8 < sum(p.numel() for p in dense.parameters())


def test_the_supernet_builds_the_configured_dil_convs() -> None:
    config = SupernetConfig(num_classes=3, layers=1, filter_multiplier=2, dil_conv="separable")
    edge = Supernet(config).nodes["0_0"].cell.edges[0]
    dil = edge.ops[PRIMITIVES.index("dil_conv_3x3")]
    assert [m.groups for m in dil.modules() if isinstance(m, torch.nn.Conv2d)] == [2, 1]


def test_none_is_a_true_zero() -> None:
    assert torch.count_nonzero(build_op("none", 4)(torch.randn(2, 4, 5, 5))) == 0


def test_beta_mask_matches_the_trellis() -> None:
    """Count the edges of the trellis by walking it, independently of the mask code."""
    layers = 12
    expected = sum(
        node_exists(layer - 1, src) and node_exists(layer, src + step)
        for layer in range(layers)
        for src in range(4)
        for step in DIRECTIONS
    )
    assert int(beta_mask(layers).sum()) == expected == 105


@pytest.mark.parametrize("size", [(32, 32), (33, 47), (41, 30)])
def test_logits_come_out_at_the_input_size(tiny_net: Supernet, size: tuple[int, int]) -> None:
    logits = tiny_net(torch.randn(2, 3, *size))
    assert logits.shape == (2, TINY.num_classes, *size)
    assert torch.isfinite(logits).all()


def test_one_backward_reaches_every_alpha_and_every_valid_beta(tiny_net: Supernet) -> None:
    tiny_net.zero_grad(set_to_none=True)
    images, labels = torch.randn(2, 3, 33, 30), torch.randint(0, 3, (2, 33, 30))
    torch.nn.functional.cross_entropy(tiny_net(images), labels).backward()
    assert torch.count_nonzero(tiny_net.alphas.grad) == tiny_net.alphas.numel()
    mask = beta_mask(TINY.layers)
    grad = tiny_net.betas.grad
    assert torch.count_nonzero(grad[mask]) == int(mask.sum())
    assert torch.count_nonzero(grad[~mask]) == 0


def test_normalised_betas_sum_to_one_per_source_node(tiny_net: Supernet) -> None:
    weights = tiny_net.normalized_betas().detach()
    mask = beta_mask(TINY.layers)
    sums = weights.sum(dim=-1)
    has_edges = mask.any(dim=-1)
    assert torch.allclose(sums[has_edges], torch.ones(int(has_edges.sum())))
    assert torch.count_nonzero(weights[~mask]) == 0


def test_weights_and_arch_parameters_partition_the_model(tiny_net: Supernet) -> None:
    weights, arch = tiny_net.weight_parameters(), tiny_net.arch_parameters()
    assert len(weights) + len(arch) == len(list(tiny_net.parameters()))
    assert {id(p) for p in arch} == {id(tiny_net.alphas), id(tiny_net.betas)}


def test_a_subset_of_primitives_shrinks_alphas() -> None:
    config = SupernetConfig(
        num_classes=3,
        layers=2,
        filter_multiplier=2,
        blocks=2,
        primitives=("none", "skip_connect", "sep_conv_3x3"),
    )
    net = Supernet(config)
    assert net.alphas.shape == (5, 3)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 3, 16, 16)


def test_bad_configs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="unknown primitives"):
        SupernetConfig(primitives=("none", "conv_7x7"))
    with pytest.raises(ValueError, match="layers"):
        SupernetConfig(layers=0)
