// The architecture panel: the trellis, the cell and the alpha heatmap of one epoch, with a
// slider over the epochs decoded so far and the epoch since which nothing changed.
import { ApiError, getJSON } from "./api.js";
import { drawCell, drawHeatmap } from "./cell.js";
import { element } from "./format.js";
import { drawTrellis } from "./trellis.js";

const byId = (id) => document.getElementById(id);

export class ArchitecturePanel {
  constructor(searchId) {
    this.base = `/searches/${encodeURIComponent(searchId)}`;
    this.pinned = null; // an epoch the user chose on the slider; null follows the latest
    this.loading = null;
    this.again = false;
    byId("epoch-slider").oninput = (event) => this.choose(Number(event.target.value));
  }

  choose(epoch) {
    this.pinned = epoch === Number(byId("epoch-slider").max) ? null : epoch;
    this.refresh();
  }

  // Called for every genotype event; loads coalesce, so a replay of many epochs loads few times.
  refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (!this.again) return;
      this.again = false;
      this.refresh();
    });
  }

  async load() {
    const query = this.pinned === null ? "" : `?epoch=${this.pinned}`;
    try {
      this.render(await getJSON(`${this.base}/architecture${query}`));
    } catch (problem) {
      if (!(problem instanceof ApiError && problem.status === 409)) throw problem;
    }
  }

  render(arch) {
    const slider = byId("epoch-slider");
    Object.assign(slider, { min: arch.history[0].epoch, max: arch.history.at(-1).epoch, value: arch.epoch, disabled: arch.history.length < 2 });
    const latest = arch.epoch === arch.history.at(-1).epoch;
    byId("epoch-label").textContent = `${arch.epoch} of ${arch.epochs}${latest ? " (latest)" : ""}`;
    byId("unchanged").textContent = `decoded architecture unchanged since epoch ${arch.unchanged_since}`;
    byId("unchanged").dataset.epoch = arch.unchanged_since;
    const download = byId("epoch-genotype");
    Object.assign(download, { href: `${this.base}/genotype?epoch=${arch.epoch}`, download: `genotype-epoch-${arch.epoch}.json`, hidden: false });
    byId("architecture-note").hidden = true;
    this.drawHistory(arch);
    drawTrellis(byId("trellis"), arch.genotype, arch.betas);
    drawCell(byId("cell"), arch.genotype);
    drawHeatmap(byId("heatmap"), arch.genotype, arch.alphas);
    document.body.dataset.architectureEpoch = arch.epoch;
  }

  drawHistory(arch) {
    const entries = arch.history.map((entry) => {
      const classes = ["epoch", entry.changed ? "changed" : "same", entry.epoch === arch.epoch ? "current" : ""];
      const title = `epoch ${entry.epoch}: path ${entry.network_path.join("→")}${entry.changed ? " (changed)" : ""}`;
      const button = element("button", { type: "button", className: classes.join(" "), title }, String(entry.epoch));
      button.onclick = () => this.choose(entry.epoch);
      return button;
    });
    byId("history").replaceChildren(...entries);
  }
}
