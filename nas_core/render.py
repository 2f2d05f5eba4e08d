"""SVG drawings of a genotype, for papers and reports: the network path and the cell.

Torch-free: it draws plain data (a Genotype and, optionally, normalised β as nested lists).
"""

from xml.sax.saxutils import escape

from nas_core.genotype import Genotype
from nas_core.space import DIRECTIONS, NUM_LEVELS, downsample_rate, node_exists

OP_COLOURS = {
    "max_pool_3x3": "#8c564b",
    "avg_pool_3x3": "#e377c2",
    "skip_connect": "#7f7f7f",
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#17becf",
    "dil_conv_3x3": "#d62728",
    "dil_conv_5x5": "#ff7f0e",
}
PATH_COLOUR, EDGE_COLOUR = "#d62728", "#c8c8c8"
STEP, MARGIN, TITLE = 56, 60, 28


def render_svg(genotype: Genotype, betas: list | None = None) -> str:
    """One SVG: the trellis (valid edges, weighted by β when given, the path in red), the cell."""
    trellis, trellis_width, trellis_height = _trellis(genotype, betas)
    cell, cell_width, cell_height = _cell(genotype, trellis_height + TITLE)
    width = max(trellis_width, cell_width)
    height = trellis_height + TITLE + cell_height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
        f'<rect width="{width}" height="{height}" fill="white"/>{trellis}{cell}</svg>\n'
    )


def _text(x: float, y: float, content: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _line(a: tuple[float, float], b: tuple[float, float], colour: str, width: float) -> str:
    return (
        f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
        f'stroke="{colour}" stroke-width="{width:.2f}" stroke-linecap="round"/>'
    )


def _trellis(genotype: Genotype, betas: list | None) -> tuple[str, int, int]:
    layers = genotype.layers

    def at(layer: int, level: int) -> tuple[float, float]:
        return MARGIN + (layer + 1) * STEP, TITLE + 20 + level * STEP

    parts = [_text(10, 20, "Network level: the path through resolutions", font_weight="bold")]
    parts += [_text(10, at(0, v)[1] + 4, f"1/{downsample_rate(v)}") for v in range(NUM_LEVELS)]
    parts += [_edge(at, betas, layer, v, step) for layer, v, step in _edges(layers)]
    path = [(-1, 0), *enumerate(genotype.network_path)]
    parts += [_line(at(*a), at(*b), PATH_COLOUR, 4) for a, b in zip(path, path[1:], strict=False)]
    for layer in range(-1, layers):
        parts += [_node(at(layer, v), (layer, v) in path) for v in range(NUM_LEVELS)
                  if node_exists(layer, v)]  # fmt: skip
        parts.append(
            _text(at(layer, 3)[0] - 4, at(layer, 3)[1] + 30, "s" if layer < 0 else str(layer))
        )
    width = int(MARGIN + (layers + 1) * STEP + MARGIN)
    return "".join(parts), width, int(TITLE + 20 + 3 * STEP + 40)


def _edges(layers: int) -> list[tuple[int, int, int]]:
    """(layer, source level, level change) for every edge of the trellis."""
    return [(layer, v, step) for layer in range(layers) for v in range(NUM_LEVELS)
            for step in DIRECTIONS
            if node_exists(layer - 1, v) and node_exists(layer, v + step)]  # fmt: skip


def _edge(at, betas: list | None, layer: int, v_src: int, step: int) -> str:
    weight = 1.0 if betas is None else float(betas[layer][v_src][DIRECTIONS.index(step)])
    return _line(at(layer - 1, v_src), at(layer, v_src + step), EDGE_COLOUR, 0.5 + 3 * weight)


def _node(centre: tuple[float, float], on_path: bool) -> str:
    fill = PATH_COLOUR if on_path else "white"
    return (
        f'<circle cx="{centre[0]:.1f}" cy="{centre[1]:.1f}" r="7" fill="{fill}" '
        f'stroke="#333" stroke-width="1.2"/>'
    )


def _cell(genotype: Genotype, top: int) -> tuple[str, int, int]:
    """Inputs on the left, blocks in a zigzag to the right, then the concatenated output."""
    blocks, column, low = genotype.blocks, 150, top + 180

    def at(state: int) -> tuple[float, float]:
        if state < 2:
            return MARGIN, top + 60 + state * 120
        return MARGIN + (state - 1) * column, top + 60 + (state % 2) * 120

    title = "Cell level: the operations of each block"
    title += " (dil convs depthwise-separable)" if genotype.dil_conv == "separable" else ""
    parts = [_text(10, top + 20, title, font_weight="bold")]
    for block, edges in enumerate(genotype.cell):
        for k, (src, op) in enumerate(edges):
            parts.append(_cell_edge(at(src), at(2 + block), op, bend=28 if k else -28))
    output = (MARGIN + (blocks + 1) * column, (top + 60 + low) / 2)
    parts += [_line(at(2 + b), output, "#bbb", 1) for b in range(blocks)]
    labels = ["H(l-2)", "H(l-1)", *[f"block {b}" for b in range(blocks)]]
    parts += [_box(at(s), label) for s, label in enumerate(labels)]
    parts.append(_box(output, "concat"))
    return "".join(parts), int(output[0] + MARGIN + 20), 240


def _cell_edge(a: tuple[float, float], b: tuple[float, float], op: str, bend: float) -> str:
    """A curve bent sideways, so two edges between the same columns stay apart."""
    colour = OP_COLOURS.get(op, "#333")
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = max((dx * dx + dy * dy) ** 0.5, 1.0)
    control = ((a[0] + b[0]) / 2 - bend * dy / norm, (a[1] + b[1]) / 2 + bend * dx / norm)
    label = ((a[0] + b[0]) / 4 + control[0] / 2, (a[1] + b[1]) / 4 + control[1] / 2 + 4)
    curve = (
        f'<path d="M{a[0]:.1f},{a[1]:.1f} Q{control[0]:.1f},{control[1]:.1f} {b[0]:.1f},'
        f'{b[1]:.1f}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
    )
    halo = {"stroke": "white", "stroke_width": "3", "paint_order": "stroke"}
    return curve + _text(*label, op, fill=colour, text_anchor="middle", **halo)


def _box(centre: tuple[float, float], label: str) -> str:
    x, y = centre[0] - 32, centre[1] - 13
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="64" height="26" rx="5" fill="#f4f4f4" '
        f'stroke="#333"/>' + _text(centre[0], centre[1] + 4, label, text_anchor="middle")
    )
