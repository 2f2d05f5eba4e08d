// The network-level trellis (layers x the four resolutions, as in the paper's figure 1): every
// valid edge with a width proportional to its normalised beta, the decoded path in red.
import { PATH_COLOUR, canvas, label, svgElement, tooltip } from "./svg.js";

const LEVELS = 4, DIRECTIONS = [-1, 0, 1], STEP_X = 64, STEP_Y = 56, LEFT = 60, TOP = 34;

// Layer -1 is the stem's 1/4 output; a layer reaches one level further down than the one before.
export function nodeExists(layer, level) {
  if (layer === -1) return level === 0;
  return layer >= 0 && level >= 0 && level < Math.min(layer + 2, LEVELS);
}

export function trellisEdges(layers) {
  const edges = [];
  for (let layer = 0; layer < layers; layer++) {
    for (let level = 0; level < LEVELS; level++) {
      DIRECTIONS.forEach((step, direction) => {
        if (nodeExists(layer - 1, level) && nodeExists(layer, level + step)) {
          edges.push({ layer, from: level, to: level + step, direction });
        }
      });
    }
  }
  return edges;
}

const at = (layer, level) => [LEFT + (layer + 1) * STEP_X, TOP + level * STEP_Y];

export function drawTrellis(container, genotype, betas) {
  const layers = genotype.network_path.length;
  const root = canvas(container, LEFT + (layers + 1) * STEP_X + 30, TOP + 3 * STEP_Y + 44, "network-level trellis");
  for (let level = 0; level < LEVELS; level++) label(root, 8, at(0, level)[1] + 4, `1/${4 * 2 ** level}`);
  const path = [[-1, 0], ...genotype.network_path.map((level, layer) => [layer, level])];
  const onPath = (layer, from, to) => path[layer]?.[1] === from && path[layer + 1]?.[1] === to;
  for (const edge of trellisEdges(layers)) {
    const beta = betas?.[edge.layer]?.[edge.from]?.[edge.direction] ?? 1;
    drawEdge(root, edge, beta, onPath(edge.layer, edge.from, edge.to));
  }
  for (let layer = -1; layer < layers; layer++) drawColumn(root, layer, path);
}

function drawEdge(root, { layer, from, to }, beta, highlighted) {
  const [x1, y1] = at(layer - 1, from), [x2, y2] = at(layer, to);
  const line = svgElement("line", {
    x1, y1, x2, y2,
    class: highlighted ? "edge path-edge" : "edge",
    stroke: highlighted ? PATH_COLOUR : "#9aa4b2",
    "stroke-width": (0.5 + 6 * beta).toFixed(2),
    "stroke-opacity": highlighted ? 0.95 : 0.55,
    "stroke-linecap": "round",
    "data-layer": layer, "data-from": from, "data-to": to, "data-beta": beta.toFixed(4),
  }, root);
  tooltip(line, `layer ${layer}: 1/${4 * 2 ** from} → 1/${4 * 2 ** to}, β = ${beta.toFixed(3)}`);
}

function drawColumn(root, layer, path) {
  for (let level = 0; level < LEVELS; level++) {
    if (!nodeExists(layer, level)) continue;
    const [cx, cy] = at(layer, level);
    const chosen = path[layer + 1][1] === level;
    svgElement("circle", {
      cx, cy, r: 7,
      class: chosen ? "node on-path" : "node",
      fill: chosen ? PATH_COLOUR : "white",
      stroke: "#333",
      "data-layer": layer, "data-level": level,
    }, root);
  }
  const [x, y] = at(layer, 3);
  label(root, x, y + 30, layer < 0 ? "stem" : String(layer), { "text-anchor": "middle", class: "tick" });
}
