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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
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
        return F.batch_norm(x, None, None, weight, None, True, 0.0, first.eps)
    if not first.training:
        mean = _stacked(norms, "running_mean", branches)
        var = _stacked(norms, "running_var", branches)
        return F.batch_norm(x, mean, var, weight, None, False, 0.0, first.eps)
    fresh = _fresh_statistics(first.running_mean, x.shape[1])
    out = F.batch_norm(x, fresh[0], fresh[1], weight, None, True, 1.0, first.eps)
    if not _RECOMPUTING.get():
        # per branch, the edges' statistics side by side: (2, G, E*C), a view
        _advance_running_stats(norms, fresh.view(2, branches, -1), branches, repeats, edges=1)
    return out


def shared_batch_norm(
    x: torch.Tensor, norms: Sequence[nn.BatchNorm2d], branches: int, repeats: int
) -> torch.Tensor:
    """Train mode, x (N, G*C, H, W) read by all E edges: their BNs agree, so normalise once.

    Saves replicating x E times (and keeping those copies for the backward pass).
    """
    first = _checked(norms)
    if not first.track_running_stats:
        return F.batch_norm(x, None, None, None, None, True, 0.0, first.eps)
    fresh = _fresh_statistics(first.running_mean, x.shape[1])
    out = F.batch_norm(x, fresh[0], fresh[1], None, None, True, 1.0, first.eps)
    if not _RECOMPUTING.get():
        # one set of statistics per branch, (2, G, C), for every edge
        by_branch = fresh.view(2, branches, -1)
        _advance_running_stats(norms, by_branch, branches, repeats, edges=len(norms))
    return out


def _checked(norms: Sequence[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    first = norms[0]
    if first.track_running_stats and first.momentum is None:
        raise ValueError("the fast path needs a BN momentum (cumulative averages are not mirrored)")
    return first


def _stacked(norms: Sequence[nn.BatchNorm2d], name: str, branches: int) -> torch.Tensor:
    """The edges' buffers, the whole repeated once per branch: (G*E*C,)."""
    return _rows(norms)[name].expand(branches, -1, -1).reshape(-1)


def _fresh_statistics(like: torch.Tensor, channels: int) -> torch.Tensor:
    """(2, channels): zeros, then ones. Given as running statistics with momentum 1,
    F.batch_norm writes this batch's mean and unbiased variance into its two rows."""
    return _zeros_and_ones(channels, like.dtype, like.device).clone()


@functools.lru_cache(maxsize=512)
def _zeros_and_ones(channels: int, dtype, device) -> torch.Tensor:
    values = torch.tensor([0.0, 1.0], dtype=dtype, device=device)
    return values.repeat_interleave(channels).view(2, channels)


@torch.no_grad()
def _advance_running_stats(
    norms: Sequence[nn.BatchNorm2d], fresh: torch.Tensor, branches: int, repeats: int, edges: int
) -> None:
    """fresh: (2, G, X), this batch's means and variances per branch, X = E*C (edges=1) or C
    shared by all E edges (edges=E). r <- (1-m)^steps r + sum_g c_g s_g for both statistics of
    every edge, as one batched matrix product into the rows (2, E, C), read as (2, edges, X)."""
    update = _update(norms, branches, repeats, edges, fresh)
    update.statistics.baddbmm_(update.coefficients, fresh, beta=update.decay)
    update.counts.add_(update.steps)


@dataclass(frozen=True)
class _Update:
    """What advancing a group's running statistics needs, worked out once per group and shape
    rather than in a dozen small calls every step (a batch norm is called ~1,500 times a step)."""

    statistics: torch.Tensor  # the rows, viewed (2, edges, X)
    coefficients: torch.Tensor  # (2, edges, G), a view of one cached row
    decay: float
    steps: int
    counts: torch.Tensor


def _update(norms, branches: int, repeats: int, edges: int, fresh: torch.Tensor) -> _Update:
    rows = _rows(norms)  # a fresh dict whenever the group is bound again
    momentum = norms[0].momentum
    key = ("update", momentum, branches, repeats, edges, fresh.dtype)
    if key not in rows:
        coefficients = update_coefficients(momentum, branches, repeats)
        row = _cached_row(coefficients, fresh.dtype, fresh.device)
        rows[key] = _Update(
            rows["statistics"].view(2, edges, -1),
            row.expand(2, edges, -1),
            (1 - momentum) ** (branches * repeats),
            branches * repeats,
            rows["num_batches_tracked"],
        )
    return rows[key]


@functools.lru_cache(maxsize=64)
def _cached_row(coefficients: tuple[float, ...], dtype, device) -> torch.Tensor:
    """(1, G), made once per (coefficients, dtype, device), not once per batch norm call."""
    return torch.tensor(coefficients, dtype=dtype, device=device).view(1, -1)


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
    first, last = norms[0], norms[-1]
    return (
        first.running_mean._base is statistics
        and last.running_var._base is statistics
        and last.num_batches_tracked._base is counts
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
