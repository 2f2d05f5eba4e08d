"""Worker threads for a layer's nodes: same numbers every time, with or without gradients."""

import copy
import os

import pytest
import torch
import torch.nn.functional as F

from nas_core import SearchConfig, Supernet, SupernetConfig
from nas_core.parallel_nodes import _map, _pool, resolve_node_workers, serial_main_thread
from nas_core.stepper import Stepper

CONFIG = SupernetConfig(num_classes=3, layers=4, filter_multiplier=2, blocks=3)
SIZE = (33, 29)


def _net(workers: int) -> Supernet:
    torch.manual_seed(0)
    return Supernet(CONFIG, fast=True, node_workers=workers)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(2, 3, *SIZE, generator=generator)
    return images, torch.randint(0, CONFIG.num_classes, (2, *SIZE), generator=generator)


def _gradients(net: Supernet, images, labels) -> dict[str, torch.Tensor]:
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(images), labels).backward()
    return {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}


def test_the_threads_give_bit_identical_gradients_every_step() -> None:
    """Shared inputs' gradients are summed in a fixed order, not as the threads finish."""
    net, (images, labels) = _net(workers=2), _batch()
    state = copy.deepcopy(net.state_dict())
    runs = []
    for _ in range(3):
        net.load_state_dict(state)
        runs.append(_gradients(net, images, labels))
    net.node_workers = 1
    net.load_state_dict(state)
    assert runs[0].keys() == _gradients(net, images, labels).keys()  # every gradient is there
    for other in runs[1:]:
        for name, grad in runs[0].items():
            assert torch.equal(grad, other[name]), name


def test_without_gradients_the_threads_compute_the_same_logits() -> None:
    images, _ = _batch()
    logits = {}
    for workers in (1, 2):
        net = _net(workers).eval()
        with torch.no_grad():
            logits[workers] = net(images)
        assert not logits[workers].requires_grad
    torch.testing.assert_close(logits[2], logits[1], rtol=1e-5, atol=1e-6)


def test_weights_get_gradients_when_no_input_of_a_layer_needs_one() -> None:
    """Stem and α, β frozen: nothing entering a layer needs a gradient, its nodes' weights do."""
    grads = {}
    for workers in (1, 2):
        net, (images, labels) = _net(workers), _batch()
        for param in [*net.stem.parameters(), *net.arch_parameters()]:
            param.requires_grad_(False)
        grads[workers] = _gradients(net, images, labels)
    assert grads[2].keys() == grads[1].keys()
    assert any(name.startswith("nodes.") for name in grads[2])
    for name, grad in grads[1].items():
        torch.testing.assert_close(grads[2][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_an_error_in_a_node_reaches_the_caller() -> None:
    net = _net(workers=2)
    with pytest.raises(RuntimeError):
        net(torch.randn(2, 5, *SIZE))  # the stem wants 3 channels; nodes get nothing valid
    bad_alphas = torch.nn.Parameter(torch.zeros(3, 2))  # α of the wrong shape: fails in nodes
    net.arch.alphas = bad_alphas
    with pytest.raises((RuntimeError, IndexError)):
        net(torch.randn(2, 3, *SIZE))


def test_a_forked_process_gets_its_own_pool() -> None:
    assert _pool(2, os.getpid()) is _pool(2, os.getpid())
    assert _pool(2, os.getpid()) is not _pool(2, os.getpid() + 1)


@pytest.mark.parametrize(("requested", "threads", "expected"), [(3, 2, 3), (0, 2, 2), (0, 8, 4)])
def test_node_workers_default_to_torch_threads(requested, threads, expected) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        assert resolve_node_workers(requested) == expected
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("threads", "workers", "per_worker"), [(2, 2, 1), (8, 2, 4), (3, 4, 1)])
def test_workers_share_the_callers_threads_and_give_them_back(threads, workers, per_worker):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        seen = _map([torch.get_num_threads] * 3, workers)
        assert seen == [per_worker] * 3
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


# threads, workers -> the caller's threads inside, each of two workers' threads
SERIAL_CASES = [(2, 2, 1, 1), (8, 2, 1, 4), (4, 1, 4, 2)]


@pytest.mark.parametrize(("threads", "workers", "main", "per_worker"), SERIAL_CASES)
def test_a_serial_main_thread_leaves_torchs_threads_to_the_workers(
    threads, workers, main, per_worker
):
    """Inside a step the calling thread runs on one thread where node workers run, and they
    still share all of torch's threads; afterwards the caller has its threads back."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with serial_main_thread(workers):
            assert torch.get_num_threads() == main
            assert _map([torch.get_num_threads] * 3, max(workers, 2)) == [per_worker] * 3
            assert torch.get_num_threads() == main
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_a_search_step_runs_its_main_thread_serially() -> None:
    """The stepper's forward sees one thread on the calling thread (the workers the rest)."""
    net, (images, labels) = _net(workers=2), _batch()
    seen = []
    net.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        Stepper(net, SearchConfig(batch_size=2)).weight_step(images, labels)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
