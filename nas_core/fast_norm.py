"""Batch norm over stacked edges and branches, equal to the reference's one-branch-at-a-time BNs.

The fast path lays a node's incoming branches and a state's outgoing edges side by side in the
channel axis, (N, G*E*C, H, W), so a plain channel-wise batch norm normalises each (branch, edge)
chunk with its own statistics, exactly as the reference does when it applies the cell once per
branch. The running statistics are then advanced as if the reference's sequential updates had
run: after T updates with momentum m, r_T = (1-m)^T r_0 + sum_t m (1-m)^(T-1-t) s_t. The
running statistics of a group of norms are kept as the rows of one tensor (each norm's buffers
are views of its rows), so that update is one in-place kernel for the whole group.
"""

import contextlib
import functools
import operator
import weakref
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

import torch
from torch import nn

# Set while activation checkpointing recomputes a node for the backward pass (see recomputing)
_RECOMPUTING: ContextVar[bool] = ContextVar("nas_core_recomputing", default=False)


@contextlib.contextmanager
def recomputing() -> Iterator[None]:
    """While a checkpointed node is recomputed for the backward pass: its batch norms normalise
    exactly as in the forward pass but do not advance the running statistics a second time."""
    token = _RECOMPUTING.set(True)
    try:
        yield
    finally:
        _RECOMPUTING.reset(token)


def checkpoint_contexts() -> tuple[contextlib.AbstractContextManager, ...]:
    """torch.utils.checkpoint's `context_fn`: nothing around the forward, `recomputing` around
    the recomputation."""
    return contextlib.nullcontext(), recomputing()


def branch_batch_norm(
    x: torch.Tensor,
    norms: Sequence[nn.BatchNorm2d],
    branches: int,
    repeats: int,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normalise x (N, G*E*C, H, W), branch-major, with the E edges' BNs (affine=False).

    `repeats` counts how often the reference applies each branch chunk: a cell input shared by
    every branch is computed once here but normalised G times there. `weight` (G*E*C,) scales the
    output, which folds the op's α into the normalisation kernel.
    """
    first = _checked(norms)
    if not first.track_running_stats:  # batch statistics only (validation): nothing to advance
        return _batch_norm(x, None, None, weight, True, first.eps)
    if not first.training:
        mean = _stacked(norms, "running_mean", branches)
        var = _stacked(norms, "running_var", branches)
        return _batch_norm(x, mean, var, weight, False, first.eps)
    # per branch, the edges' statistics side by side: (2, G, E*C)
    update = _update(norms, branches, repeats, 1, x.shape[1])
    out = update.normalise(x, weight, first.eps)
    if not _RECOMPUTING.get():
        update.advance()
    return out


def shared_batch_norm(
    x: torch.Tensor, norms: Sequence[nn.BatchNorm2d], branches: int, repeats: int
) -> torch.Tensor:
    """Train mode, x (N, G*C, H, W) read by all E edges: their BNs agree, so normalise once.

    Saves replicating x E times (and keeping those copies for the backward pass).
    """
    first = _checked(norms)
    if not first.track_running_stats:
        return _batch_norm(x, None, None, None, True, first.eps)
    # one set of statistics per branch, (2, G, C), for every edge
    update = _update(norms, branches, repeats, len(norms), x.shape[1])
    out = update.normalise(x, None, first.eps)
    if not _RECOMPUTING.get():
        update.advance()
    return out


def _checked(norms: Sequence[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    first = norms[0]
    if first.track_running_stats and first.momentum is None:
        raise ValueError("the fast path needs a BN momentum (cumulative averages are not mirrored)")
    return first


def _stacked(norms: Sequence[nn.BatchNorm2d], name: str, branches: int) -> torch.Tensor:
    """The edges' buffers, the whole repeated once per branch: (G*E*C,)."""
    return _rows(norms)[name].expand(branches, -1, -1).reshape(-1)


def _batch_norm(x, mean, variance, weight, training: bool, eps: float) -> torch.Tensor:
    """F.batch_norm without its Python checks (~1,500 calls a step), momentum 1: in training
    with buffers given, the kernel writes this batch's mean and unbiased variance into them."""
    return torch.batch_norm(x, weight, None, mean, variance, training, 1.0, eps, False)


class _Update:
    """A group's running-statistics update, worked out once per group and shape rather than
    in a dozen small calls every step (a batch norm is called ~1,500 times a step).

    The group keeps one scratch buffer from step to step for its batch statistics, which
    spares a fresh buffer and three views per call. Each group belongs to one node, which one
    thread runs at a time; a recomputation for the backward pass writes the same values again.
    """

    def __init__(self, rows: dict, channels: int, momentum: float, layout: tuple[int, int, int]):
        branches, repeats, edges = layout
        statistics = rows["statistics"]
        self.scratch = torch.zeros(2, channels, dtype=statistics.dtype, device=statistics.device)
        self.mean, self.variance = self.scratch  # its rows, as views made once
        # the same memory under a version counter of its own (see normalise)
        self.clearable = self.scratch.data
        self.fresh = self.scratch.view(2, branches, -1)  # per branch: (2, G, X)
        self.statistics = statistics.view(2, edges, -1)  # the rows, viewed (2, edges, X)
        row = _cached_row(update_coefficients(momentum, branches, repeats), statistics.dtype)
        self.coefficients = row.to(statistics.device).expand(2, edges, -1)  # (2, edges, G)
        self.decay, self.steps = (1 - momentum) ** (branches * repeats), branches * repeats
        self.counts = rows["num_batches_tracked"]

    def normalise(self, x: torch.Tensor, weight: torch.Tensor | None, eps: float) -> torch.Tensor:
        """x normalised with its batch statistics, which the kernel writes into the scratch
        buffer. It is zeroed first: with momentum 1 the kernel still multiplies the old values
        by 0, and a batch whose statistics were not finite would otherwise taint every later
        one, even after a clean state is loaded. Zeroed through `clearable`, so autograd sees
        no change: batch norm keeps its running-statistics arguments for an eval-mode backward
        only, and an earlier forward pass's graph must stay valid."""
        self.clearable.zero_()
        return _batch_norm(x, self.mean, self.variance, weight, True, eps)

    def advance(self) -> None:
        """r <- (1-m)^steps r + sum_g c_g s_g for both statistics of every edge, one batched
        matrix product into the rows (2, E, C) read as (2, edges, X): X = E*C (edges=1), or C
        shared by all E edges (edges=E). No autograd: no tensor here needs a gradient."""
        self.statistics.baddbmm_(self.coefficients, self.fresh, beta=self.decay)
        self.counts.add_(self.steps)


def _update(norms, branches: int, repeats: int, edges: int, channels: int) -> _Update:
    rows = _rows(norms)  # a fresh dict whenever the group is bound again
    momentum = norms[0].momentum
    key = ("update", momentum, branches, repeats, edges, channels)
    if key not in rows:
        rows[key] = _Update(rows, channels, momentum, (branches, repeats, edges))
    return rows[key]


@functools.lru_cache(maxsize=64)
def _cached_row(coefficients: tuple[float, ...], dtype) -> torch.Tensor:
    """(1, G), made once per (coefficients, dtype), not once per group."""
    return torch.tensor(coefficients, dtype=dtype).view(1, -1)


STATISTICS = ("running_mean", "running_var")
# first norm of a group -> (the group, its buffers' rows); see _rows
_BOUND: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple, dict]]" = weakref.WeakKeyDictionary()


def _rows(norms: Sequence[nn.BatchNorm2d]) -> dict[str, torch.Tensor]:
    """The norms' running statistics as rows: `statistics` (2, len(norms), C), means then
    variances (also given as `running_mean` and `running_var`), and `num_batches_tracked`.

    Each norm's buffers are made views of its rows, so a step advances the whole group in one
    in-place update instead of a stack and a copy per norm. Bound again whenever a buffer was
    replaced (`.to()` to another dtype or device, loading with `assign=True`).
    """
    bound = _BOUND.get(norms[0])
    if bound is None or not _still_bound(bound, norms):
        bound = _bind(norms)
        _BOUND[norms[0]] = bound
    return bound[1]


def _still_bound(bound: tuple[tuple, dict], norms: Sequence[nn.BatchNorm2d]) -> bool:
    """Same group (the fast path passes the same tuple every step: checked at once), and its
    buffers still views of the rows. Buffers are replaced module-wide (`.to()`, loading with
    `assign=True`), so the group's two ends stand for all of it."""
    group, rows = bound
    if group is not norms and (len(group) != len(norms) or any(map(operator.is_not, group, norms))):
        return False
    statistics, counts = rows["statistics"], rows["num_batches_tracked"]
    first, last = norms[0]._buffers, norms[-1]._buffers  # not Module.__getattr__: hot
    return (
        first["running_mean"]._base is statistics
        and last["running_var"]._base is statistics
        and last["num_batches_tracked"]._base is counts
    )


@torch.no_grad()
def _bind(norms: Sequence[nn.BatchNorm2d]) -> tuple[tuple, dict]:
    means, variances = (torch.stack([getattr(bn, name) for bn in norms]) for name in STATISTICS)
    statistics = torch.stack([means, variances])
    counts = torch.stack([bn.num_batches_tracked for bn in norms])
    for i, bn in enumerate(norms):  # registered buffers: replaced by the views
        bn.running_mean, bn.running_var = statistics[0, i], statistics[1, i]
        bn.num_batches_tracked = counts[i]
    rows = {"statistics": statistics, "num_batches_tracked": counts}
    rows.update(zip(STATISTICS, statistics, strict=True))
    return tuple(norms), rows


@functools.lru_cache(maxsize=256)
def update_coefficients(momentum: float, branches: int, repeats: int) -> tuple[float, ...]:
    """Weight of each branch's batch statistic after branches*repeats sequential updates."""
    steps = branches * repeats
    return tuple(
        sum(momentum * (1 - momentum) ** (steps - 1 - g * repeats - k) for k in range(repeats))
        for g in range(branches)
    )
