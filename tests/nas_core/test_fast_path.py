"""The fast path computes what the reference computes, from the very same parameters.

One supernet, run with `fast` off and on from the same starting state: logits, every gradient
and the BN running statistics must agree (float64, so the tolerance can be tight).
"""

import contextlib
import copy

import pytest
import torch
import torch.nn.functional as F

from nas_core import Supernet, SupernetConfig, fast_cell
from nas_core.fast_cell import weight_runs
from nas_core.fast_norm import update_coefficients
from nas_core.searcher import batch_statistics

# Every level keeps at least 2x2 pixels: batch norm over two values per channel (1x1 pixels,
# batch 2) has a vanishing true gradient, and both paths would only compare rounding noise.
CONFIGS = {
    "blocks5": (SupernetConfig(num_classes=3, layers=4, filter_multiplier=2), (33, 29)),
    "blocks3": (SupernetConfig(num_classes=4, layers=3, filter_multiplier=3, blocks=3), (41, 35)),
    "subset": (
        SupernetConfig(
            num_classes=3,
            layers=2,
            filter_multiplier=2,
            blocks=2,
            primitives=("skip_connect", "none", "dil_conv_5x5", "avg_pool_3x3", "sep_conv_3x3"),
        ),
        (21, 18),
    ),
    # level 0 at 25x26 px, level 1 at 13x13: channels-last dense convs, the depthwise weight
    # gradient computed as a forward conv, channels-last pools
    "large": (SupernetConfig(num_classes=3, layers=2, filter_multiplier=2, blocks=3), (98, 102)),
    # DARTS' dil convs: a depthwise conv at rate 2 and a pointwise one, stacked in their family
    "separable": (
        SupernetConfig(
            num_classes=3, layers=3, filter_multiplier=2, blocks=3, dil_conv="separable"
        ),
        (41, 35),
    ),
}
TOLERANCE = {"rtol": 1e-9, "atol": 1e-11}


def _run(net: Supernet, state: dict, fast: bool, images, labels) -> dict[str, dict]:
    """Forward and backward from `state`; what comes out, every gradient, every buffer."""
    net.load_state_dict(state)
    net.fast = fast
    net.zero_grad(set_to_none=True)
    logits = net(images)
    F.cross_entropy(logits, labels).backward()
    grads = {name: p.grad for name, p in net.named_parameters() if p.requires_grad}
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    return {"logits": {"": logits.detach()}, "grads": grads, "buffers": buffers}


def _assert_same(reference: dict, fast: dict) -> None:
    for kind, expected in reference.items():
        assert expected.keys() == fast[kind].keys()
        for name, want in expected.items():
            got = fast[kind][name]
            assert (want is None) == (got is None), f"{kind} {name}: gradient only in one path"
            if want is not None:
                torch.testing.assert_close(got, want, **TOLERANCE, msg=f"{kind} {name}")


def _compare(
    key: str,
    train: bool,
    frozen: str | None = None,
    batch_stats: bool = False,
    checkpointed: bool = False,
    workers: int = 1,
) -> None:
    config, size = CONFIGS[key]
    torch.manual_seed(0)
    net = Supernet(config, checkpoint_activations=checkpointed, node_workers=workers)
    net = net.double().train(train)
    for param in {"weights": net.weight_parameters(), "arch": net.arch_parameters()}.get(
        frozen, []
    ):
        param.requires_grad_(False)
    state = copy.deepcopy(net.state_dict())
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    labels = torch.randint(0, config.num_classes, (2, *size))
    with batch_statistics(net) if batch_stats else contextlib.nullcontext():
        reference = _run(net, state, False, images, labels)
        _assert_same(reference, _run(net, state, True, images, labels))


def _compare_from(net: Supernet, config: SupernetConfig, size: tuple[int, int]) -> None:
    """Both paths from the net's present state, on a fresh float64 batch of `size`."""
    state = copy.deepcopy(net.state_dict())
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    labels = torch.randint(0, config.num_classes, (2, *size))
    reference = _run(net, state, False, images, labels)
    _assert_same(reference, _run(net, state, True, images, labels))


@pytest.mark.parametrize("key", list(CONFIGS))
def test_train_mode_matches_the_reference_with_running_statistics(key: str) -> None:
    _compare(key, train=True)


def test_eval_mode_matches_the_reference() -> None:
    _compare("blocks5", train=False)


def test_validation_with_batch_statistics_matches_the_reference() -> None:
    """The Searcher validates with batch statistics and leaves the running ones alone."""
    _compare("blocks5", train=True, batch_stats=True)


@pytest.mark.parametrize("key", ["blocks3", "separable"])
def test_an_architecture_step_builds_the_same_arch_gradients(key: str) -> None:
    """Weights frozen, as in the Stepper's architecture step: only α and β get gradients."""
    _compare(key, train=True, frozen="weights")


@pytest.mark.parametrize("frozen", [None, "weights"])
def test_activation_checkpointing_matches_the_reference(frozen: str | None) -> None:
    """Recomputed in the backward pass: same gradients, and each BN's running statistics
    advanced once, not again by the recomputation (the buffers are compared too)."""
    _compare("blocks3", train=True, frozen=frozen, checkpointed=True)


@pytest.mark.parametrize(
    "case",
    [
        {"key": "blocks5", "train": True},
        {"key": "large", "train": True},
        {"key": "blocks5", "train": False},
        {"key": "blocks5", "train": True, "batch_stats": True},
        {"key": "blocks3", "train": True, "frozen": "weights"},
        {"key": "blocks3", "train": True, "frozen": "arch"},
        {"key": "blocks3", "train": True, "checkpointed": True},
    ],
    ids=["train", "large", "eval", "batch-stats", "arch-step", "weight-step", "checkpointed"],
)
def test_nodes_on_worker_threads_match_the_reference(case: dict) -> None:
    """A layer's nodes run two at a time, forward and backward: still the reference's
    logits, gradients and running statistics."""
    _compare(**case, workers=2)


@pytest.mark.parametrize("frozen", [None, "weights"])
def test_dense_convs_split_by_kernel_size_match_the_reference(monkeypatch, frozen) -> None:
    """The split that pays on large levels, forced on the small test configs."""
    decisions, split_pays = [], fast_cell._split_pays

    def spy(*args) -> bool:
        decisions.append(split_pays(*args))
        return decisions[-1]

    monkeypatch.setattr(fast_cell, "_SPLIT_FROM", 0)
    monkeypatch.setattr(fast_cell, "_split_pays", spy)
    _compare("blocks5", train=True, frozen=frozen)
    assert any(decisions)  # some convs did split (others have one kernel size left there)


def test_activation_checkpointing_keeps_fewer_tensors_for_the_backward_pass() -> None:
    config, size = CONFIGS["blocks3"]
    images = torch.randn(2, 3, *size)
    saved = {}
    for checkpointed in (False, True):
        torch.manual_seed(0)
        net = Supernet(config, fast=True, checkpoint_activations=checkpointed)
        with _saved_bytes() as counted:
            logits = net(images)
        saved[checkpointed] = counted[0]
        logits.sum().backward()
        assert net.alphas.grad is not None and net.alphas.grad.abs().sum() > 0
    # only the cells of the two finest levels recompute: 60% here (3 layers at 41x35 px)
    assert saved[True] < saved[False] * 0.7, saved


@contextlib.contextmanager
def _saved_bytes():
    """Bytes of the tensors autograd keeps for the backward pass while inside."""
    counted = [0]

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        counted[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield counted


def test_update_coefficients_replay_sequential_updates() -> None:
    momentum, start, stats = 0.1, 0.7, [0.3, -1.2, 2.5]
    for branches, repeats in ((3, 1), (1, 3), (2, 1), (1, 1)):
        sequence = [s for s in stats[:branches] for _ in range(repeats)]
        running = start
        for stat in sequence:
            running = (1 - momentum) * running + momentum * stat
        coefficients = update_coefficients(momentum, branches, repeats)
        replayed = (1 - momentum) ** len(sequence) * start + sum(
            c * s for c, s in zip(coefficients, stats, strict=False)
        )
        assert replayed == pytest.approx(running, rel=1e-12)


def test_fast_is_a_switch_on_one_set_of_parameters() -> None:
    config, _ = CONFIGS["blocks3"]
    reference, fast = Supernet(config), Supernet(config, fast=True)
    assert reference.state_dict().keys() == fast.state_dict().keys()
    assert fast.fast and not reference.fast


def test_levels_below_two_pixels_fall_back_to_the_reference() -> None:
    """At 16 px the 1/16 level is 1x1: its nodes run the reference code, the rest run fast.

    (Run fast there, their gradients came out orders of magnitude off and not repeatable.)
    """
    torch.manual_seed(0)
    net = Supernet(SupernetConfig(num_classes=3, layers=2, filter_multiplier=2)).double()
    state = copy.deepcopy(net.state_dict())
    images = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 16, 16))
    reference, fast = (_run(net, state, path, images, labels) for path in (False, True))
    # The 1x1 node's BN amplifies 1e-14 differences from the faster nodes feeding it, so
    # compare each tensor against its own scale rather than element by element.
    for kind, expected in reference.items():
        for name, want in expected.items():
            if want is not None:
                error = (fast[kind][name].double() - want.double()).abs().max()
                assert error <= 1e-7 * want.double().abs().max() + 1e-12, f"{kind} {name}: {error}"


def test_running_statistics_follow_a_dtype_change_after_a_fast_step() -> None:
    """The fast path keeps each group's running statistics as rows of one tensor; `.double()`
    replaces the buffers, and the next fast step must find and use the new ones."""
    config, size = CONFIGS["blocks3"]
    torch.manual_seed(0)
    net = Supernet(config, fast=True).train()
    net(torch.randn(2, 3, *size))  # groups the float32 running statistics
    net.double()
    _compare_from(net, config, size)


def test_stacked_weight_runs_of_the_flat_layout_give_the_reference_gradients() -> None:
    """After `flatten_weights` the fast path reads stacked leaves over the weights' memory
    instead of stacking them: the gradients in the flat buffer must not change."""
    config, size = CONFIGS["blocks3"]
    torch.manual_seed(0)
    net = Supernet(config).double().train()
    state = copy.deepcopy(net.state_dict())
    flat = net.flatten_weights()
    first_run = weight_runs(next(iter(net.nodes.values())).cell)[0]
    assert fast_cell._run_weight(first_run) is flat.stacked[0]  # read, not stacked
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    labels = torch.randint(0, config.num_classes, (2, *size))
    grads = {}
    for fast in (False, True):
        net.load_state_dict(state)
        net.fast = fast
        flat.flat.grad.zero_()
        F.cross_entropy(net(images), labels).backward()
        grads[fast] = flat.flat.grad.clone()
    assert grads[False].abs().sum() > 0
    torch.testing.assert_close(grads[True], grads[False], **TOLERANCE)


def test_a_changed_batch_norm_momentum_counts_from_the_next_step() -> None:
    """The fast path works out each group's running-statistics update once, per momentum."""
    config, size = CONFIGS["blocks3"]
    torch.manual_seed(0)
    net = Supernet(config).double().train()
    state = copy.deepcopy(net.state_dict())
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    labels = torch.randint(0, config.num_classes, (2, *size))
    _run(net, state, True, images, labels)  # the fast path's updates, worked out for 0.1
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.37
    reference = _run(net, state, False, images, labels)
    _assert_same(reference, _run(net, state, True, images, labels))


def test_a_new_input_size_after_fast_steps_matches_the_reference() -> None:
    """The fast path plans each stacked conv once per input shape: a second size must not
    reuse the first size's plans (kernels cropped to the level, dense splits, groups)."""
    config, size = CONFIGS["blocks5"]
    torch.manual_seed(0)
    net = Supernet(config, fast=True).double().train()
    net(torch.randn(2, 3, 41, 35, dtype=torch.float64))  # plans for another size
    _compare_from(net, config, size)


def test_two_forward_passes_before_one_backward_match_the_reference() -> None:
    """Each batch-norm group keeps one scratch buffer for its batch statistics from call to
    call: a second forward pass must neither disturb the first one's backward nor its
    running-statistics update."""
    config, size = CONFIGS["blocks3"]
    torch.manual_seed(0)
    net = Supernet(config).double().train()
    state = copy.deepcopy(net.state_dict())
    batches = [torch.randn(2, 3, *size, dtype=torch.float64) for _ in range(2)]
    labels = torch.randint(0, config.num_classes, (2, *size))
    results = []
    for fast in (False, True):
        net.load_state_dict(state)
        net.fast = fast
        net.zero_grad(set_to_none=True)
        sum(F.cross_entropy(net(images), labels) for images in batches).backward()
        grads = {name: p.grad for name, p in net.named_parameters()}
        buffers = {name: b.clone() for name, b in net.named_buffers()}
        results.append({"grads": grads, "buffers": buffers})
    _assert_same(*results)


def test_a_batch_without_finite_statistics_does_not_outlive_a_reload() -> None:
    """Batch norm writes each batch's statistics into a group's scratch buffer with momentum
    1, which still multiplies the old values by 0: a NaN batch must not taint the buffer for
    the steps after a clean state is loaded."""
    config, size = CONFIGS["blocks3"]
    torch.manual_seed(0)
    net = Supernet(config, fast=True).double().train()
    state = copy.deepcopy(net.state_dict())
    net(torch.full((2, 3, *size), float("nan"), dtype=torch.float64))
    images = torch.randn(2, 3, *size, dtype=torch.float64)
    labels = torch.randint(0, config.num_classes, (2, *size))
    reference = _run(net, state, False, images, labels)
    assert all(b.isfinite().all() for b in reference["buffers"].values())
    _assert_same(reference, _run(net, state, True, images, labels))
