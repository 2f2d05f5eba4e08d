"""A layer's nodes run side by side on CPU worker threads, forward and backward.

The nodes of one layer read only the two layers before it, so they are independent. On the CPU
most of a supernet step is small kernels that one core runs alone: two threads each running
whole nodes keep both cores busy, where two threads inside each kernel mostly wait.

Each node runs on detached copies of its inputs, so its autograd graph is its own. The layer
is one autograd Function: its backward runs each node's graph on a worker thread (PyTorch runs
backward calls from several CPU threads concurrently), then sums the input gradients the nodes
share in a fixed order, so a step gives the same numbers however the threads interleave. Each
node has its own parameters, so their gradients never race.
"""

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

Tensor = torch.Tensor
# (level, prev, prev_prev, alpha_weights, layer_betas) -> the node's output
RunNode = Callable[[int, dict[int, Tensor], dict[int, Tensor], Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class LayerPlan:
    run_node: RunNode
    levels: tuple[int, ...]
    prev_levels: tuple[int, ...]
    prev_prev_levels: tuple[int, ...]
    workers: int

    def unpack(self, tensors: Sequence[Tensor]) -> tuple[dict, dict, Tensor, Tensor]:
        """The flat input list back as (prev, prev_prev, alpha_weights, layer_betas)."""
        split = len(self.prev_levels)
        prev = dict(zip(self.prev_levels, tensors[:split], strict=True))
        prev_prev = dict(zip(self.prev_prev_levels, tensors[split:-2], strict=True))
        return prev, prev_prev, tensors[-2], tensors[-1]


def resolve_node_workers(requested: int) -> int:
    """The node workers to use: `requested`, or 0 for as many as torch's threads, at most 4
    (a layer has at most four nodes)."""
    return requested or min(torch.get_num_threads(), 4)


# torch's threads for the node workers while the main thread runs on one (serial_main_thread)
_SHARED_THREADS: ContextVar[int] = ContextVar("nas_core_shared_threads", default=0)


@contextlib.contextmanager
def serial_main_thread(workers: int) -> Iterator[None]:
    """Around a whole step: with node workers, the main thread's own kernels (stem, heads,
    loss, gradient sums, optimiser) run on one thread, and the workers share torch's threads.

    Run on two, each of them leaves libgomp's second thread spinning for a while (its default
    wait policy) on a core that a node worker needs next: `perf` found that thread spinning
    for 5% of a 128 px run's CPU time. On 2 cores a 128 px weight step took 1.15-1.24 s this
    way against 1.25-1.30 s (medians, three alternating rounds each); at 256 px, where the
    stem and heads are larger, the two were within the machine's noise (3.2-3.5 s).
    """
    threads = torch.get_num_threads()
    if workers <= 1 or threads <= 1:
        yield
        return
    token = _SHARED_THREADS.set(threads)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        _SHARED_THREADS.reset(token)


def run_layer(
    run_node: RunNode,
    levels: Sequence[int],
    prev: dict[int, Tensor],
    prev_prev: dict[int, Tensor],
    alpha_weights: Tensor,
    layer_betas: Tensor,
    workers: int,
) -> dict[int, Tensor]:
    """{level: run_node(level, ...)} for the layer's levels, `workers` nodes at a time."""
    plan = LayerPlan(run_node, tuple(levels), tuple(prev), tuple(prev_prev), workers)
    inputs = (*prev.values(), *prev_prev.values(), alpha_weights, layer_betas)
    if torch.is_grad_enabled():
        # the anchor puts the layer in the graph even when no input needs a gradient but
        # the nodes' own weights do (the first layer of a step with a frozen stem)
        outputs = _Layer.apply(plan, _anchor(alpha_weights), *inputs)
    else:
        outputs = [out for _, out in _forward_nodes(plan, inputs, grad=False)]
    return dict(zip(plan.levels, outputs, strict=True))


@functools.lru_cache(maxsize=8)
def _anchor_for(dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.zeros((), dtype=dtype, device=device, requires_grad=True)


def _anchor(like: Tensor) -> Tensor:
    return _anchor_for(like.dtype, like.device)


class _Layer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, plan: LayerPlan, anchor: Tensor, *inputs: Tensor):
        ctx.plan, ctx.runs = plan, _forward_nodes(plan, inputs, grad=True)
        return tuple(out.detach() for _, out in ctx.runs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads: Tensor):
        tasks = [
            functools.partial(_backward_node, leaves, out, grad)
            for (leaves, out), grad in zip(ctx.runs, grads, strict=True)
        ]
        per_node = _map(tasks, ctx.plan.workers)
        del ctx.runs  # the nodes' graphs are spent
        return None, None, *(_sum(column) for column in zip(*per_node, strict=True))


def _forward_nodes(plan: LayerPlan, inputs: Sequence[Tensor], grad: bool) -> list:
    tasks = [functools.partial(_forward_node, plan, level, inputs, grad) for level in plan.levels]
    return _map(tasks, plan.workers)


def _forward_node(plan: LayerPlan, level: int, inputs: Sequence[Tensor], grad: bool):
    """The node on its own leaves, (leaves, output): its graph starts at them."""
    leaves = [t.detach().requires_grad_(t.requires_grad and grad) for t in inputs]
    with torch.set_grad_enabled(grad):
        return leaves, plan.run_node(level, *plan.unpack(leaves))


def _backward_node(leaves: list[Tensor], out: Tensor, grad: Tensor | None) -> list:
    if grad is not None and out.requires_grad:
        torch.autograd.backward(out, grad)
    return [leaf.grad if leaf.requires_grad else None for leaf in leaves]


def _sum(grads: Sequence[Tensor | None]) -> Tensor | None:
    present = [g for g in grads if g is not None]
    return functools.reduce(torch.add, present) if present else None


def _map(tasks: list[Callable], workers: int) -> list:
    """Run the tasks on the worker threads, sharing torch's threads among them (two threads
    per kernel on top of two workers would oversubscribe two cores); results in task order."""
    threads = torch.get_num_threads()
    try:
        pool = _pool(workers, os.getpid())  # a forked child needs threads of its own
        per_worker = max(1, (_SHARED_THREADS.get() or threads) // workers)
        futures = [pool.submit(_with_threads, per_worker, task) for task in tasks]
        return [future.result() for future in futures]
    finally:
        torch.set_num_threads(threads)


def _with_threads(threads: int, task: Callable):
    torch.set_num_threads(threads)
    return task()


@functools.lru_cache(maxsize=4)
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers, thread_name_prefix="nas-node")
