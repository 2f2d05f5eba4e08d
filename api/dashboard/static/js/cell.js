// The cell: the decoded DAG (two inputs, the blocks, an op on each edge) and the alpha heatmap
// (one row per edge of the search cell, one column per op).
import { OP_COLOURS, canvas, label, svgElement, tooltip } from "./svg.js";

const COLUMN = 130, LEFT = 50, TOP = 40, ROW = 110;

const stateName = (state) => (state === 0 ? "H(l-2)" : state === 1 ? "H(l-1)" : `block ${state - 2}`);

function at(state) {
  if (state < 2) return [LEFT, TOP + state * ROW];
  return [LEFT + (state - 1) * COLUMN, TOP + (state % 2) * ROW];
}

export function drawCell(container, genotype) {
  const blocks = genotype.cell.length;
  const output = [LEFT + (blocks + 1) * COLUMN, TOP + ROW / 2];
  const root = canvas(container, output[0] + 60, TOP + ROW + 40, "decoded cell");
  genotype.cell.forEach((edges, block) =>
    edges.forEach(([source, op], k) => drawCellEdge(root, at(source), at(2 + block), op, k ? 24 : -24)),
  );
  for (let block = 0; block < blocks; block++) {
    const [x, y] = at(2 + block);
    svgElement("line", { x1: x, y1: y, x2: output[0], y2: output[1], stroke: "#ccc" }, root);
  }
  for (let state = 0; state < blocks + 2; state++) box(root, at(state), stateName(state));
  box(root, output, "concat");
}

function drawCellEdge(root, a, b, op, bend) {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const norm = Math.max(Math.hypot(dx, dy), 1);
  const control = [(a[0] + b[0]) / 2 - (bend * dy) / norm, (a[1] + b[1]) / 2 + (bend * dx) / norm];
  const colour = OP_COLOURS[op] ?? "#333";
  svgElement("path", {
    d: `M${a[0]},${a[1]} Q${control[0]},${control[1]} ${b[0]},${b[1]}`,
    fill: "none", stroke: colour, "stroke-width": 2.5, class: "cell-edge", "data-op": op,
  }, root);
  const middle = [(a[0] + b[0]) / 4 + control[0] / 2, (a[1] + b[1]) / 4 + control[1] / 2 + 4];
  label(root, middle[0], middle[1], op, { fill: colour, "text-anchor": "middle", class: "op-label" });
}

function box(root, [x, y], text) {
  svgElement("rect", { x: x - 32, y: y - 13, width: 64, height: 26, rx: 5, class: "cell-node" }, root);
  label(root, x, y + 4, text, { "text-anchor": "middle" });
}

// Edge e of block i reads state j, e = offset(i) + j, as in nas_core.space.edge_offsets.
export function cellEdges(blocks) {
  const edges = [];
  for (let block = 0; block < blocks; block++) {
    for (let source = 0; source < block + 2; source++) edges.push({ block, source });
  }
  return edges;
}

export function drawHeatmap(container, genotype, alphas) {
  const primitives = genotype.primitives, edges = cellEdges(genotype.cell.length);
  const [cellW, cellH, left, top] = [42, 16, 120, 92];
  const width = left + cellW * primitives.length + 70, height = top + cellH * edges.length + 30;
  const root = canvas(container, width, height, "alpha heatmap");
  primitives.forEach((op, j) => {
    const x = left + j * cellW + cellW / 2;
    label(root, x, top - 6, op, { transform: `rotate(-50 ${x} ${top - 6})`, class: "tick", fill: OP_COLOURS[op] });
  });
  const values = (alphas ?? []).flat(), low = Math.min(...values), high = Math.max(...values);
  const shade = (value) => (high > low ? 0.08 + (0.92 * (value - low)) / (high - low) : 0.3);
  const chosen = new Set(genotype.cell.flatMap((pairs, block) => pairs.map(([s, op]) => `${block}:${s}:${op}`)));
  edges.forEach(({ block, source }, row) => {
    const y = top + row * cellH;
    label(root, left - 6, y + cellH - 4, `b${block} ← ${stateName(source)}`, { "text-anchor": "end", class: "tick" });
    primitives.forEach((op, j) => {
      const value = alphas?.[row]?.[j] ?? 0;
      const picked = chosen.has(`${block}:${source}:${op}`);
      const title = `${stateName(source)} → block ${block}, ${op}: α = ${value.toFixed(3)}`;
      heatCell(root, left + j * cellW, y, [cellW, cellH], value, shade(value), picked, title);
    });
  });
  const note = `shade: α from ${low.toFixed(4)} (light) to ${high.toFixed(4)} (dark); boxed: the decoded ops`;
  label(root, left, height - 8, note, { class: "tick" });
}

function heatCell(root, x, y, [w, h], value, opacity, picked, title) {
  const rect = svgElement("rect", {
    x, y, width: w - 1, height: h - 1,
    fill: `rgba(31, 119, 180, ${opacity.toFixed(3)})`,
    class: picked ? "heat picked" : "heat",
    "data-alpha": value.toFixed(4),
  }, root);
  tooltip(rect, title);
  label(root, x + w / 2, y + h - 4, value.toFixed(2), { "text-anchor": "middle", class: opacity > 0.6 ? "heat-value dark" : "heat-value" });
}
