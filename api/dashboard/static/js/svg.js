// Plain SVG drawing helpers: no library, just elements in the SVG namespace.
const NS = "http://www.w3.org/2000/svg";

export function svgElement(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (parent) parent.append(node);
  return node;
}

export function canvas(container, width, height, label) {
  const root = svgElement("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": label,
  });
  container.replaceChildren(root);
  return root;
}

export function label(parent, x, y, content, attrs = {}) {
  const node = svgElement("text", { x, y, ...attrs }, parent);
  node.textContent = content;
  return node;
}

export function tooltip(node, content) {
  svgElement("title", {}, node).textContent = content;
  return node;
}

// The colour of each op, shared by the cell drawing and the alpha heatmap (as nas_core.render).
export const OP_COLOURS = {
  none: "#bbbbbb",
  max_pool_3x3: "#8c564b",
  avg_pool_3x3: "#e377c2",
  skip_connect: "#7f7f7f",
  sep_conv_3x3: "#1f77b4",
  sep_conv_5x5: "#17becf",
  dil_conv_3x3: "#d62728",
  dil_conv_5x5: "#ff7f0e",
};
export const PATH_COLOUR = "#d62728";
