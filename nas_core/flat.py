"""The supernet's weights as views into one flat tensor, their gradients likewise.

The supernet has thousands of small weight tensors, and the optimiser, the gradient clipping and
zeroing each loop over them on the CPU, one small kernel per tensor: at 64 px they took a fifth
of a weight step. With every weight a view of one flat parameter, each of them is one kernel
over one long tensor, with the same elementwise arithmetic.
"""

import ctypes
import ctypes.util
import logging
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FlatWeights:
    flat: nn.Parameter  # what the optimiser steps
    stacked: list[nn.Parameter]  # one leaf per run, over the run's memory
    order: list[nn.Parameter]  # the parameters in the flat layout's order


def flatten_parameters(
    params: list[nn.Parameter], runs: list[list[nn.Parameter]] = ()
) -> FlatWeights:
    """Move `params` into one flat parameter and make each a view of it.

    Each parameter's `.grad` becomes a view of the flat parameter's gradient, so backward
    accumulates into it in place; zero it with `flat.grad.zero_()`, never set it to None.
    Each run (parameters of one shape, all in `params`) is laid out contiguously and also gets
    a stacked leaf parameter over its memory, returned in order: whichever of the two a
    forward pass reads, the gradient lands in the same place. The module must not be moved or
    cast afterwards (that would replace the views).
    """
    in_runs = {id(p) for run in runs for p in run}
    ordered = [p for run in runs for p in run] + [p for p in params if id(p) not in in_runs]
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in ordered]))
    flat.grad = torch.zeros_like(flat)
    offsets = [0]
    for param in ordered:
        if param.dtype != ordered[0].dtype or param.device != ordered[0].device:
            raise ValueError("flat parameters need one dtype and one device")
        param.data, param.grad = (_view(t, offsets[-1], param) for t in (flat.data, flat.grad))
        offsets.append(offsets[-1] + param.numel())
    release_freed_memory()  # the weights' old storage, now copied into `flat`
    return FlatWeights(flat, _stacked_runs(flat, runs, offsets), ordered)


def release_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    The thousands of per-weight tensors freed by flattening leave holes in the main thread's
    heap, still resident; threads that allocate from their own heap (the node workers) never
    reuse them, so at 64 px with two workers they were a tenth of the peak memory.
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    else:
        logging.getLogger(__name__).debug("no malloc_trim here: freed memory stays with the heap")


def _view(flat: torch.Tensor, offset: int, like: torch.Tensor) -> torch.Tensor:
    return flat[offset : offset + like.numel()].view_as(like)


def _stacked_runs(flat: nn.Parameter, runs, offsets: list[int]) -> list[nn.Parameter]:
    stacked, start = [], 0
    for run in runs:
        shape, end = (len(run), *run[0].shape), offsets[start + len(run)]
        leaf = nn.Parameter(flat.data[offsets[start] : end].view(shape))
        leaf.grad = flat.grad[offsets[start] : end].view(shape)
        stacked.append(leaf)
        start += len(run)
    return stacked


def flat_optimizer_state(
    state: dict, saved_order: list[nn.Parameter], flat_order: list[nn.Parameter]
) -> dict:
    """An optimiser state saved per parameter (before flattening), as the flat optimiser's.

    Lets a checkpoint written by the per-parameter optimiser resume on the flat one: its
    entries are matched to `saved_order` (the order it was written in) and concatenated in the
    flat layout's order.
    """
    group = state["param_groups"][0]
    if len(group["params"]) != len(saved_order):
        return state  # already flat (or not ours): load_state_dict will judge it
    by_param = {
        id(p): state["state"].get(i, {}) for i, p in zip(group["params"], saved_order, strict=True)
    }
    per_param = [by_param[id(p)] for p in flat_order]
    flat_state = {}
    for name in per_param[0] if per_param else ():
        flat_state[name] = torch.cat([entry[name].reshape(-1) for entry in per_param])
    return {
        "state": {0: flat_state} if flat_state else {},
        "param_groups": [{**group, "params": [0]}],
    }


class FlatSGD(torch.optim.SGD):
    """torch.optim.SGD (momentum, weight decay) with torch's fused kernel, for the flat weights.

    The default CPU step makes a pass over weights, gradient or momentum per operation, and
    adds the weight decay out of place: a fresh 190 MB gradient every step. The fused kernel
    does the whole update in one pass (the search's weights: 20 ms instead of 28 ms for the
    in-place loop this replaced on 2 threads, 24 ms instead of 58 ms on one). Same state
    (`momentum_buffer`), so checkpoints move between this and plain SGD; one loaded from plain
    SGD stays fused.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr, momentum, weight_decay=weight_decay, fused=True)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # a loaded group brings its own settings
            group["fused"], group["foreach"] = True, None
