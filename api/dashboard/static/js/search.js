// A search's page, updated live from its event stream: state and progress, the loss and mIoU
// charts, the architecture panel, cancel, pause, resume and downloads.
import { ApiError, enableKeyedDownloads, getJSON, postJSON, showKeyStatus } from "./api.js";
import { ArchitecturePanel } from "./architecture.js";
import { lineChart } from "./charts.js";
import { follow } from "./events.js";
import { duration, element, fraction, progressBar, specSummary } from "./format.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const PAUSABLE = new Set(["queued", "running"]);
const searchId = decodeURIComponent(location.pathname.split("/").pop());
const base = `/searches/${encodeURIComponent(searchId)}`;
const byId = (id) => document.getElementById(id);
const view = { state: null, statuses: 0, progress: null, weight: [], arch: [], miou: [], dirty: new Set() };
const panel = new ArchitecturePanel(searchId);

const handlers = {
  status(data) {
    view.state = data.state;
    view.statuses += 1;
    if (data.error) showError(data.error);
    if (TERMINAL.has(data.state)) view.dirty.add("checkpoints");
    view.dirty.add("summary");
  },
  progress(data) {
    view.progress = data;
    view.weight.push([data.global_step, data.weight_loss]);
    if (data.arch_loss !== null) view.arch.push([data.global_step, data.arch_loss]);
    view.dirty.add("summary").add("losses");
  },
  metrics(data) {
    if (data.miou !== null) view.miou.push([data.epoch, data.miou]);
    view.dirty.add("miou");
  },
  genotype: () => panel.refresh(),
  checkpoint: () => view.dirty.add("checkpoints"),
};

const painters = {
  summary: paintSummary,
  losses: () =>
    lineChart(byId("loss-chart"), {
      title: "loss per step",
      xLabel: "step",
      series: [
        { name: "weights", colour: "#1f77b4", points: view.weight },
        { name: "architecture", colour: "#ff7f0e", points: view.arch },
      ],
    }),
  miou: () =>
    lineChart(byId("miou-chart"), {
      title: "validation mIoU per epoch",
      xLabel: "epoch",
      series: [{ name: "mIoU", colour: "#2ca02c", points: view.miou }],
    }),
  checkpoints: paintDownloads,
};

let paintScheduled = false;
function onEvent(event) {
  handlers[event.type]?.(event.data);
  if (!paintScheduled) {
    paintScheduled = true;
    setTimeout(paint, 50); // one repaint for a burst of events (a replay, a reconnect)
  }
}

function paint() {
  paintScheduled = false;
  const dirty = [...view.dirty];
  view.dirty.clear();
  for (const name of dirty) painters[name]();
}

function paintSummary() {
  const { state, progress } = view;
  byId("state").textContent = state;
  byId("state").className = `state state-${state}`;
  document.body.dataset.state = state;
  byId("cancel").hidden = TERMINAL.has(state) || state === "cancelling";
  byId("pause").hidden = !PAUSABLE.has(state);
  byId("resume").hidden = state !== "paused";
  byId("progress").replaceChildren(progressBar(fraction(progress, state)));
  if (!progress) return;
  const eta = TERMINAL.has(state) ? "" : ` · ETA ${duration(progress.eta_seconds)}`;
  byId("progress-text").textContent =
    `epoch ${progress.epoch}/${progress.epochs} · step ${progress.step}/${progress.steps} · phase ${progress.phase}${eta}`;
}

async function paintDownloads() {
  const genotype = byId("genotype-download");
  Object.assign(genotype, { href: `${base}/genotype`, download: `genotype-${searchId}.json`, hidden: view.state !== "succeeded" });
  const { items } = await getJSON(`${base}/checkpoints`);
  const links = items.map((c) =>
    element("a", { className: "download checkpoint", href: `${base}/checkpoints/${encodeURIComponent(c.name)}`, download: c.name }, `${c.name} (${(c.size / 1e6).toFixed(1)} MB)`),
  );
  byId("checkpoints").replaceChildren(...(links.length ? ["checkpoints: ", ...links] : []));
}

function showError(message) {
  byId("search-error").textContent = message;
  byId("search-error").hidden = false;
}

// cancel, pause or resume: POST /searches/{id}/<action>, then show the state it answers with,
// unless the event stream brought a state meanwhile: that one is as new or newer (a worker can
// claim a resumed search before the answer arrives, and "queued" must not cover "running")
async function act(action) {
  const button = byId(action);
  button.disabled = true;
  try {
    const seen = view.statuses;
    const answer = await postJSON(`${base}/${action}`);
    if (view.statuses === seen) handlers.status(answer);
    paint();
  } catch (problem) {
    showError(problem.message);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  showKeyStatus();
  enableKeyedDownloads();
  byId("search-id").textContent = searchId.slice(0, 8);
  for (const action of ["cancel", "pause", "resume"]) byId(action).onclick = () => act(action);
  try {
    const search = await getJSON(base);
    byId("spec").textContent = specSummary(search.spec);
    document.title = `Search ${searchId.slice(0, 8)} · Auto-DeepLab`;
    for (const name of Object.keys(painters)) view.dirty.add(name);
    await follow(searchId, onEvent);
  } catch (problem) {
    if (!(problem instanceof ApiError)) throw problem;
    showError(problem.status === 404 ? `There is no search ${searchId}.` : problem.message);
  }
}

main();
