// A line chart in plain SVG: series of [x, y] points on shared axes, with a legend.
import { canvas, label, svgElement, tooltip } from "./svg.js";

const WIDTH = 460, HEIGHT = 220;
const PAD = { left: 52, right: 12, top: 24, bottom: 34 };

export function lineChart(container, { title, xLabel, series }) {
  const root = canvas(container, WIDTH, HEIGHT, title);
  const points = series.flatMap((s) => s.points);
  label(root, PAD.left, 15, title, { class: "chart-title" });
  if (!points.length) {
    label(root, WIDTH / 2, HEIGHT / 2, "no data yet", { "text-anchor": "middle", class: "muted" });
    return;
  }
  const scale = scales(points);
  axes(root, scale, xLabel);
  const legendX = PAD.left + 7 * title.length + 16; // after the title, above the plot
  series.filter((s) => s.points.length).forEach((s, index) => drawSeries(root, scale, s, legendX + 140 * index));
}

function scales(points) {
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) * 0.1 || 0.5), y1 + (Math.abs(y1) * 0.1 || 0.5)];
  const spanX = WIDTH - PAD.left - PAD.right, spanY = HEIGHT - PAD.top - PAD.bottom;
  return {
    x: (v) => PAD.left + ((v - x0) / (x1 - x0)) * spanX,
    y: (v) => HEIGHT - PAD.bottom - ((v - y0) / (y1 - y0)) * spanY,
    domain: { x0, x1, y0, y1 },
  };
}

function axes(root, scale, xLabel) {
  const { x0, x1, y0, y1 } = scale.domain;
  const bottom = HEIGHT - PAD.bottom;
  svgElement("path", { d: `M${PAD.left},${PAD.top} V${bottom} H${WIDTH - PAD.right}`, class: "axis" }, root);
  label(root, PAD.left - 6, scale.y(y1) + 4, fmt(y1), { "text-anchor": "end", class: "tick" });
  label(root, PAD.left - 6, scale.y(y0) + 4, fmt(y0), { "text-anchor": "end", class: "tick" });
  label(root, scale.x(x0), bottom + 14, fmt(x0), { "text-anchor": "middle", class: "tick" });
  label(root, scale.x(x1), bottom + 14, fmt(x1), { "text-anchor": "middle", class: "tick" });
  label(root, (PAD.left + WIDTH) / 2, HEIGHT - 4, xLabel, { "text-anchor": "middle", class: "tick" });
}

function drawSeries(root, scale, { name, colour, points }, legendX) {
  const coords = points.map(([x, y]) => `${scale.x(x).toFixed(1)},${scale.y(y).toFixed(1)}`);
  svgElement("polyline", {
    points: coords.join(" "),
    fill: "none",
    stroke: colour,
    "stroke-width": 2,
    "data-series": name,
    "data-points": points.length,
  }, root);
  if (points.length <= 60) {
    for (const [x, y] of points) {
      const dot = svgElement("circle", { cx: scale.x(x), cy: scale.y(y), r: 3, fill: colour }, root);
      tooltip(dot, `${name}: ${fmt(y)} at ${fmt(x)}`);
    }
  }
  const legendY = 15;
  svgElement("rect", { x: legendX, y: legendY - 8, width: 10, height: 10, fill: colour }, root);
  label(root, legendX + 14, legendY + 1, `${name} ${fmt(points.at(-1)[1])}`, { class: "tick" });
}

function fmt(value) {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}
