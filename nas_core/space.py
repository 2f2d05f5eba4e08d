"""The search space as plain data: the primitive names, levels and edge numbering.

Torch-free on purpose, so the genotype and anything that only reasons about the space
can be imported without PyTorch.
"""

PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
# How the dil_conv primitives convolve: "dense" is AUTODEEPLAB.md's (the paper's and TF's atrous
# conv); "separable" is DARTS' (depthwise then pointwise), as the public PyTorch code builds them.
DIL_CONV_STYLES: tuple[str, ...] = ("dense", "separable")
NUM_LEVELS = 4  # downsample rates 4, 8, 16, 32
DIRECTIONS = (-1, 0, 1)  # the level change along an edge: finer, same, coarser (β's last axis)


def num_edges(blocks: int) -> int:
    """Edges in a cell: block i reads the two cell inputs and the i earlier blocks."""
    return sum(2 + i for i in range(blocks))


def edge_offsets(blocks: int) -> list[int]:
    """Index of the first edge of each block (0, 2, 5, 9, 14 for five blocks)."""
    offsets, total = [], 0
    for i in range(blocks):
        offsets.append(total)
        total += 2 + i
    return offsets


def downsample_rate(level: int) -> int:
    return 4 * 2**level


def reachable_levels(layer: int) -> range:
    """Levels a layer may hold: it starts at 1/4 and moves at most one level a layer."""
    return range(min(layer + 2, NUM_LEVELS))


def node_exists(layer: int, level: int) -> bool:
    """Layer -1 is the stem's 1/4 output, a single node at level 0."""
    if layer == -1:
        return level == 0
    return layer >= 0 and level in reachable_levels(layer)


def level_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """Spatial size per level, halving with ceil as a stride-2 3x3 conv with padding 1 does."""
    sizes, size = [], (height, width)
    for _ in range(1 + NUM_LEVELS):  # 1/2 (dropped), then one size per level, 1/4 .. 1/32
        size = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        sizes.append(size)
    return sizes[1:]
