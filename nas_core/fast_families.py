"""Families: the ops of one structure on a state's edges, which the fast path runs as one.

Ops of one structure (sep 3x3 with sep 5x5, dil 3x3 with dil 5x5) differ only in kernel size:
the smaller kernel is the larger one with a ring of zero taps. The structure is fixed once the
cell is built, so each state's families are worked out once, not every step.
"""

import weakref
from dataclasses import dataclass

from torch import nn

from nas_core.fast_conv import same_padding


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def parameter_free(leaf: nn.Module) -> bool:
    return not list(leaf.parameters()) and not list(leaf.buffers())


@dataclass(frozen=True)
class Family:
    """Ops of one structure on a state's edges, run as one."""

    members: list[int]  # their indices in the primitives
    columns: slice | list[int]  # the same, as a slice where they are consecutive (a view)
    positions: list[tuple[nn.Module, ...]]  # per leaf position, M*E modules, member-major
    split: int  # how many leading positions hold neither weights nor buffers
    prefix_key: tuple[str, ...]  # those leading leaves, as a key for sharing their output
    dense_first: bool  # the first leaf with weights is a dense conv: it reads the prefix whole
    grouped_first: bool  # it is a grouped conv: it reads a copy per member and edge


_FAMILIES: "weakref.WeakKeyDictionary[nn.Module, list[Family]]" = weakref.WeakKeyDictionary()


def state_families(edges: list[nn.Module]) -> list[Family]:
    """The families of the ops on a state's edges (the first edge names the state)."""
    if edges[0] not in _FAMILIES:
        _FAMILIES[edges[0]] = [_family_of(edges, members) for members in _families(edges[0])]
    return _FAMILIES[edges[0]]


def _family_of(edges: list[nn.Module], members: list[int]) -> Family:
    positions = _positions(edges, members)
    split = 0
    while split < len(positions) and parameter_free(positions[split][0]):
        split += 1
    prefix_key = tuple(repr(group[0]) for group in positions[:split])
    consecutive = members == list(range(members[0], members[-1] + 1))
    columns = slice(members[0], members[-1] + 1) if consecutive else members
    first = positions[split][0] if split < len(positions) else None
    dense_first = isinstance(first, nn.Conv2d) and first.groups == 1
    grouped_first = isinstance(first, nn.Conv2d) and first.groups > 1
    return Family(members, columns, positions, split, prefix_key, dense_first, grouped_first)


def _families(mixed_op: nn.Module) -> list[list[int]]:
    """The op indices that run as one: equal structure up to kernel sizes. `none` is skipped."""
    families: dict[tuple, list[int]] = {}
    for k, (name, op) in enumerate(zip(mixed_op.primitives, mixed_op.ops, strict=True)):
        if name != "none":
            families.setdefault(tuple(_signature(leaf) for leaf in _leaves(op)), []).append(k)
    return list(families.values())


def _signature(leaf: nn.Module) -> tuple:
    """What two leaves at the same position must share to be stacked (a kernel may be smaller:
    a "same"-padded kxk conv equals the larger kernel with a ring of zero taps)."""
    if isinstance(leaf, nn.Conv2d):
        same = leaf.padding == same_padding(leaf.dilation, leaf.kernel_size)
        pointwise = leaf.kernel_size == (1, 1)
        depthwise = leaf.groups == leaf.in_channels
        return ("conv", leaf.in_channels, leaf.groups, leaf.dilation, pointwise, depthwise, same)
    return (repr(leaf),)


def _positions(edges: list[nn.Module], members: list[int]) -> list[tuple[nn.Module, ...]]:
    """Per leaf position, that leaf of every member op on every edge, member-major."""
    per_member = [
        list(zip(*(_leaves(edge.ops[k]) for edge in edges), strict=True)) for k in members
    ]
    return [sum(group, ()) for group in zip(*per_member, strict=True)]
