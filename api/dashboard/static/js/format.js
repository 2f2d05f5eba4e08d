// Small formatting helpers shared by the pages.
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min` : `${Math.floor(h / 24)} d`;
}

export function age(isoTime) {
  return `${duration((Date.now() - Date.parse(isoTime)) / 1000)} ago`;
}

// Steps done over all steps (epochs counted from 1, steps 1-based within the epoch).
export function fraction(progress, state) {
  if (state === "succeeded") return 1;
  const { epoch, epochs, step, steps } = progress ?? {};
  if (!epochs || !steps) return 0;
  return Math.min(1, ((epoch - 1) * steps + step) / (epochs * steps));
}

export function specSummary(spec) {
  const { dataset: d, search_space: s, training: t } = spec;
  const dil = s.dil_conv === "separable" ? " · separable dil convs" : "";
  return `${d.kind} · ${s.layers} layers · F=${s.filter_multiplier}${dil} · ${t.epochs} epochs · crop ${t.crop_size}`;
}

export function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

export function progressBar(value) {
  const bar = element("div", { className: "bar", role: "progressbar" });
  bar.setAttribute("aria-valuenow", Math.round(value * 100));
  bar.append(element("span", { style: `width: ${(value * 100).toFixed(1)}%` }));
  return bar;
}
