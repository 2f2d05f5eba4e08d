"""The fast path of a supernet node: a few large kernels instead of thousands of tiny ones.

Same parameters and same result as `Node.forward` (the reference), computed differently:

- The node's up-to-three incoming branches share the cell's weights, so they run as one call,
  side by side in the channel axis (N, G*C, H, W); batch norm still normalises each branch alone.
- The cell is processed state by state: once state j exists, all of its outgoing edges run at
  once, their conv weights stacked into one grouped conv per op, and their results are added to
  the pending block sums.
- Ops of one structure run as one "family" (sep 3x3 with sep 5x5, dil 3x3 with dil 5x5): the
  smaller kernel is zero-padded to the larger, and taps that only read padding are cropped.
  The families of each state are worked out once, not every step.
- The leading parameter-free part of an op (the ReLU every conv op starts with, a pool) is
  computed once per state, not once per op and edge; `none` is skipped, as in `MixedOp`.
- The pre-previous input is the same for every branch: its edges run once, broadcast over them.
- Ops whose output is the same on every edge (skip_connect; a pool and its BN in training) run
  once per state, and one matrix product weights them into every edge.
- α is folded into each op's last batch norm as its per-channel scale.

Stacked weights are assembled on the fly from the reference modules, so checkpoints are shared.
"""

import functools
import itertools
import operator
import weakref
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from nas_core.fast_conv import assemble, grouped_pointwise, replicate, stacked_conv
from nas_core.fast_families import Family, parameter_free, state_families
from nas_core.fast_norm import branch_batch_norm, checkpoint_contexts, shared_batch_norm


class StateEdges:
    """The outgoing edges of one state, E edges x G branches x C channels in the channel axis."""

    def __init__(
        self,
        x: torch.Tensor,
        edges: list[nn.Module],
        weights: torch.Tensor,
        branches: int,
        repeats: int = 1,
    ) -> None:
        self.x, self.edges = x, edges
        self.alphas = weights  # (primitives, E), contiguous: a family's rows are a view
        # a state shared by all of the node's branches is normalised once per branch there
        self.branches, self.repeats = branches, repeats
        self.prefixes: dict[tuple, torch.Tensor] = {}  # shared parameter-free prefixes

    def output(self) -> torch.Tensor:
        """sum_k α_k O_k(x) for every edge, branch-major: (N, G, E, C, H, W)."""
        terms, shared = [], []
        for family in state_families(self.edges):
            y = self._shared(family)
            if y is None:
                terms.append(self._family(family))
            else:
                shared += [(member, y) for member in family.members]
        if shared:
            terms.append(self._weighted_sum(shared))
        return functools.reduce(operator.add, terms)

    def _shared(self, family: Family) -> torch.Tensor | None:
        """The output of a family that gives every edge the same tensor, computed once:
        skip_connect, and in training a pool with its BN (same input, same batch statistics)."""
        stacked, split = family.positions, family.split
        if split == len(stacked):
            return self._prefix(family)
        last = stacked[-1]
        if split == len(stacked) - 1 and isinstance(last[0], nn.BatchNorm2d) and last[0].training:
            return shared_batch_norm(self._prefix(family), last, self.branches, self.repeats)
        return None

    def _weighted_sum(self, shared: list[tuple[int, torch.Tensor]]) -> torch.Tensor:
        """sum over (op k, its output y_k) of α_k(edge) y_k, for every edge and branch, as one
        matrix product: (E, K) @ (N, G, K, C*H*W)."""
        members, outputs = zip(*shared, strict=True)
        alphas = self.alphas.index_select(0, _index(members, self.alphas.device)).t()  # (E, K)
        n, _, height, width = outputs[0].shape
        stacked = torch.stack([y.view(n, self.branches, -1) for y in outputs], dim=2)
        mixed = torch.matmul(alphas, stacked)  # (N, G, E, C*H*W)
        return mixed.view(n, self.branches, len(self.edges), -1, height, width)

    def _family(self, family: Family) -> torch.Tensor:
        """The family's ops (same structure, kernels may differ) on every edge, summed.

        The branches run in the batch axis, (N*G, M*E*C, H, W): the weights are the same for
        every branch, and a conv reading the shared state directly needs no copy of it per edge.
        """
        stacked, split, members = family.positions, family.split, family.members
        alpha = self.alphas[family.columns].reshape(-1)  # (M*E,), member-major
        y, copies = self._family_input(family, len(alpha))
        for i, leaves in enumerate(stacked[split:], start=split):
            scale = self._channel_scale(alpha, self.branches) if i == len(stacked) - 1 else None
            y, copies = self._apply(leaves, y, scale, copies), 1
        if not isinstance(stacked[-1][0], nn.BatchNorm2d):
            y = y * self._channel_scale(alpha, 1).view(1, -1, 1, 1)
        n, height, width = self.x.shape[0], *y.shape[2:]
        y = y.view(n, self.branches, len(members), len(self.edges), -1, height, width)
        return y[:, :, 0] if len(members) == 1 else y.sum(2)

    def _prefix(self, family: Family) -> torch.Tensor:
        """The parameter-free leading leaves on the unreplicated state, computed once per state."""
        if family.prefix_key not in self.prefixes:
            y = self.x
            for group in family.positions[: family.split]:
                y = _parameter_free_leaf(group[0], y)
            self.prefixes[family.prefix_key] = y
        return self.prefixes[family.prefix_key]

    def _family_input(self, family: Family, copies: int) -> tuple[torch.Tensor, int]:
        """The prefix with the branches in the batch axis, (N*G, C, H, W), and how many copies
        of it side by side the first leaf reads: one per member and edge, unless that is a
        dense conv (it reads every edge's input whole). A grouped conv takes the copies count
        and makes them itself (and keeps only the prefix for the backward pass); for anything
        else they are made here, once per state."""
        y = self._prefix(family)
        y = y.view(y.shape[0] * self.branches, -1, *y.shape[2:])
        if family.dense_first:
            return y, 1
        if family.grouped_first:
            return y, copies
        key = ("replicated", copies, *family.prefix_key)
        if key not in self.prefixes:
            self.prefixes[key] = replicate(y, copies)
        return self.prefixes[key], 1

    def _apply(
        self,
        leaves: tuple[nn.Module, ...],
        y: torch.Tensor,
        scale: torch.Tensor | None,
        copies: int = 1,
    ) -> torch.Tensor:
        """The stacked leaves on y; a conv reads `copies` copies of y side by side (see
        `_family_input`, which only asks a conv to make them)."""
        first = leaves[0]
        if isinstance(first, nn.Conv2d):
            return self._conv(leaves, y, copies)
        if isinstance(first, nn.BatchNorm2d):  # per (branch, edge, channel): batch N, not N*G
            by_branch = y.view(self.x.shape[0], -1, *y.shape[2:])
            out = branch_batch_norm(by_branch, leaves, self.branches, self.repeats, scale)
            return out.view(y.shape)
        if parameter_free(first):  # ReLU, pools: channel-wise, so the stacking is invisible
            return _parameter_free_leaf(first, y)
        raise TypeError(f"the fast path cannot stack {type(first).__name__}")

    def _conv(self, convs: tuple[nn.Module, ...], y: torch.Tensor, copies: int) -> torch.Tensor:
        """One conv for every edge (grouped by edge, or dense over a shared input); the
        branches are in the batch axis, so the weights are not repeated for them."""
        calls = _conv_calls(convs, y.shape[1:], copies)
        if len(calls) > 1:  # dense, one conv per kernel size: each reads y whole, no copies
            return torch.cat([call.run(y, 1) for call in calls], dim=1)
        return calls[0].run(y, copies)

    def _channel_scale(self, alpha: torch.Tensor, branches: int) -> torch.Tensor:
        """α per edge, spread over that edge's C channels, the whole repeated per branch:
        (G*M*E*C,), one indexing op and one autograd node."""
        index = _spread_index(len(alpha), self.x.shape[1] // self.branches, branches, alpha.device)
        return alpha[index]


@functools.lru_cache(maxsize=256)
def _spread_index(count: int, channels: int, repeats: int, device: torch.device) -> torch.Tensor:
    """([0]*channels + [1]*channels + ... + [count-1]*channels) * repeats, made once per shape."""
    return torch.arange(count, device=device).repeat_interleave(channels).repeat(repeats)


def _parameter_free_leaf(leaf: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """ReLU, or a pool: on the CPU from 8 px up, a pool runs channels-last, where its forward
    is five to ten times as fast and forward plus backward a third faster, conversions included."""
    pool = isinstance(leaf, (nn.MaxPool2d, nn.AvgPool2d))
    if pool and x.device.type == "cpu" and min(x.shape[2:]) >= _CHANNELS_LAST_POOL_FROM:
        return leaf(x.contiguous(memory_format=torch.channels_last)).contiguous()
    return leaf(x)


_CHANNELS_LAST_POOL_FROM = 8  # pixels per side; at 4 px channels-last is no faster


@dataclass(frozen=True)
class _ConvCall:
    """One conv over runs of stacked convs, on `copies` copies of y side by side, whose
    channels are either every conv's input (a dense conv over a shared input) or each conv's
    own (grouped). Worked out once per stack and input shape (see `_conv_calls`)."""

    runs: list[tuple[nn.Module, ...]]
    kernel: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    pointwise: bool  # a grouped 1x1 conv, as one batched matrix product

    def run(self, y: torch.Tensor, copies: int) -> torch.Tensor:
        weights = [_run_weight(run) for run in self.runs]
        if self.pointwise:
            weight = assemble(weights, self.kernel)
            return grouped_pointwise(replicate(y, copies), weight, self.groups)
        return stacked_conv(y, weights, self.kernel, self.dilation, self.groups, copies)


def _conv_calls(convs: tuple[nn.Module, ...], shape, copies: int) -> list[_ConvCall]:
    """The calls that run the stack on an input of `shape` (C, H, W): one, or one per kernel
    size (see `_split_pays`). Python's share of a step is what two node workers serialise
    on, so this is worked out once, not for each of the ~1,500 convs of every step."""
    cached = _CONV_CALLS.get(convs[0])
    if cached is None or cached[0] is not convs:
        cached = (convs, {})
        _CONV_CALLS[convs[0]] = cached
    key = (*shape, copies)
    if key not in cached[1]:
        cached[1][key] = _plan_conv(convs, tuple(shape), copies)
    return cached[1][key]


# first conv of a stack -> (the stack, {(C, H, W, copies): its calls}); see _conv_calls
_CONV_CALLS: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()


def _plan_conv(convs: tuple[nn.Module, ...], shape: tuple[int, ...], copies: int) -> list:
    conv = convs[0]
    if conv.bias is not None or conv.stride != (1, 1):
        raise TypeError("the fast path expects bias-free stride-1 convs, as search builds")
    runs = _kernel_runs(convs)
    if conv.groups == 1 and _split_pays(runs, shape):
        return [_conv_call([run], shape, 1) for run in runs]
    return [_conv_call(runs, shape, copies)]


def _conv_call(runs: list[tuple[nn.Module, ...]], shape: tuple[int, ...], copies: int):
    kernel = _kernel_for_input(runs, shape[1:])
    per_group = runs[0][0].weight.shape[1]  # input channels per group
    groups = shape[0] * copies // per_group
    out_channels = sum(len(run) * run[0].out_channels for run in runs)
    pointwise = kernel == (1, 1) and 1 < groups < out_channels
    return _ConvCall(runs, kernel, runs[0][0].dilation, groups, pointwise)


def _split_pays(runs: list[tuple[nn.Module, ...]], shape: tuple[int, ...]) -> bool:
    """Whether a dense conv over a shared input runs faster as one conv per kernel size: the
    small kernels then skip the large one's zero taps (3x3 in 5x5: 16 of 25), which pays
    where the arithmetic outweighs a second call (in channels^2 x pixels >= 2^16, measured)."""
    kernels = {_kernel_for_input([run], shape[1:]) for run in runs}
    return len(kernels) > 1 and shape[0] ** 2 * shape[1] * shape[2] >= _SPLIT_FROM


_SPLIT_FROM = 2**16


def _kernel_for_input(runs: list[tuple[nn.Module, ...]], size) -> tuple[int, ...]:
    """The kernel that the stacked runs need on an input of `size`: the largest of them, less
    the outer taps that only ever read zero padding there (on small levels, most of them).

    Exact: those taps multiply zeros in the forward pass and get zero gradient in the reference.
    """
    kernel, rates = [], runs[0][0].dilation
    for axis, extent in enumerate(size):
        largest, rate = max(run[0].kernel_size[axis] for run in runs), rates[axis]
        cut = max(0, (rate * (largest // 2) - extent) // rate + 1)  # taps reading padding only
        kernel.append(largest - 2 * cut)
    return tuple(kernel)


def _kernel_runs(convs: tuple[nn.Module, ...]) -> list[tuple[nn.Module, ...]]:
    """The stacked convs split where the kernel size changes: worked out once per stack, and
    the same tuples every step (bind_weight_run and _run_weight match them by identity)."""
    cached = _KERNEL_RUNS.get(convs[0])
    if cached is None or cached[0] is not convs:
        groups = itertools.groupby(convs, key=lambda c: c.kernel_size)
        cached = (convs, [tuple(run) for _, run in groups])
        _KERNEL_RUNS[convs[0]] = cached
    return cached[1]


# first conv of a stack -> (the stack, its runs); see _kernel_runs
_KERNEL_RUNS: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()


def weight_runs(cell: nn.Module) -> list[tuple[nn.Conv2d, ...]]:
    """The convs whose weights the fast path stacks, one tuple per stack, in its order."""
    runs = []
    for _, edges in _cell_plan(cell):
        for family in state_families(edges):
            for leaves in family.positions[family.split :]:
                if isinstance(leaves[0], nn.Conv2d):
                    runs += _kernel_runs(leaves)
    return runs


def bind_weight_run(convs: tuple[nn.Conv2d, ...], stacked: nn.Parameter) -> None:
    """From now on the fast path reads the convs' weights as `stacked`, a leaf parameter over
    the same memory (see nas_core/flat.py): no stack to build, one gradient to accumulate.
    `convs` is one of the tuples weight_runs gave."""
    _RUNS[convs[0]] = (convs, stacked)


# first conv of a run -> (the run, its stacked leaf); see bind_weight_run
_RUNS: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()


def _run_weight(convs: tuple[nn.Conv2d, ...]) -> torch.Tensor:
    """The run's weights stacked: its bound leaf while it still shares their memory."""
    bound = _RUNS.get(convs[0])
    if bound is not None:
        run, stacked = bound
        weight = convs[0]._parameters["weight"]  # not Module.__getattr__: ~2,400 calls a step
        if run is convs and weight.data_ptr() == stacked.data_ptr():
            return stacked
    return torch.stack([conv.weight for conv in convs])


def fast_cell(
    cell: nn.Module, s0: torch.Tensor | None, s1: torch.Tensor, branches: int, alpha_weights
) -> list[torch.Tensor]:
    """The cell on each of the G branches of s1 (N, G*C, H, W): the blocks, (N, G, C, H, W)."""
    states: list[tuple[torch.Tensor | None, int]] = [(s0, 1), (s1, branches)]
    blocks, by_primitive = [], alpha_weights.t()
    # The sums of the blocks still pending, (N, G, blocks, C, H, W): state j feeds exactly those
    # (blocks j-1 onwards), so each state adds its edges' outputs to them all in one add.
    pending = None
    for j, (rows, edges) in enumerate(_cell_plan(cell)):
        x, state_branches = states[j]
        if x is not None:
            weights = by_primitive.index_select(1, _index(rows, x.device))  # (primitives, E)
            repeats = branches // state_branches
            group = StateEdges(x, edges, weights, state_branches, repeats)
            contributions = group.output()  # (N, G, E, C, H, W)
            pending = contributions if pending is None else pending + contributions
        if j >= 1:  # block j-1 reads states 0..j, all present now
            block = pending[:, :, 0].contiguous()
            pending = pending[:, :, 1:]
            blocks.append(block)
            states.append((block.flatten(1, 2), branches))
    return blocks


def _cell_plan(cell: nn.Module) -> list[tuple[tuple[int, ...], list[nn.Module]]]:
    """Per state 0..B, worked out once per cell: the rows in the α weights of the edges it
    feeds (blocks j-1 onwards, in block order), the edges. (State B+1, the last block, feeds
    nothing in the cell.)"""
    if cell not in _PLANS:
        plan = []
        for j in range(cell.blocks + 1):
            rows = tuple(cell.offsets[i] + j for i in range(max(0, j - 1), cell.blocks))
            plan.append((rows, [cell.edges[r] for r in rows]))
        _PLANS[cell] = plan
    return _PLANS[cell]


_PLANS: "weakref.WeakKeyDictionary[nn.Module, list]" = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1024)
def _index(positions: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """The positions as an index tensor, made once per (positions, device)."""
    return torch.tensor(positions, dtype=torch.long, device=device)


def fast_node_forward(
    node: nn.Module,
    prev: dict[int, torch.Tensor],
    prev_prev: dict[int, torch.Tensor],
    sizes: list[tuple[int, int]],
    alpha_weights: torch.Tensor,
    layer_betas: torch.Tensor,
    checkpointed: bool = False,
) -> torch.Tensor:
    """What `Node.forward` computes, with the node's branches batched through one cell call.

    `checkpointed`: the cell keeps none of its activations for the backward pass, which
    recomputes them (its batch norms then leave the running statistics alone).
    """
    s0, branches = node.branch_inputs(prev, prev_prev, sizes, layer_betas)
    inputs, betas = zip(*branches, strict=True)
    cell_args = (node.cell, s0, torch.cat(inputs, dim=1), len(inputs), alpha_weights)
    if checkpointed and torch.is_grad_enabled():
        blocks = checkpoint(
            fast_cell, *cell_args, use_reentrant=False, context_fn=checkpoint_contexts
        )
    else:
        blocks = fast_cell(*cell_args)
    weighted = torch.stack(blocks, dim=1) * torch.stack(betas).view(1, 1, -1, 1, 1, 1)
    return weighted.sum(dim=2).flatten(1, 2)
