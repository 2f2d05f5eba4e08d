// Requests to the service's API. When the API asks for a key (401), the page asks the user once
// for their tenant's API key and keeps it for this browser session (sessionStorage), sending it
// as a bearer token. With ADL_AUTH=off the API never answers 401, so the page never asks.
const KEY = "adl.apiKey";
let pendingKey = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(typeof body?.detail === "string" ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function authHeaders(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

export async function request(method, path, body) {
  for (;;) {
    const headers = authHeaders(body === undefined ? {} : { "content-type": "application/json" });
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    const response = await fetch(path, init);
    if (response.status === 401) {
      const refusal = await response.json().catch(() => null);
      await askForKey(refusal?.detail);
      continue;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}

export const getJSON = (path) => request("GET", path);
export const postJSON = (path, body) => request("POST", path, body);

// Downloads are plain links; with a key they are fetched with it and saved from memory.
export function enableKeyedDownloads() {
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a.download");
    if (!link || sessionStorage.getItem(KEY) === null) return;
    event.preventDefault();
    const response = await fetch(link.href, { headers: authHeaders() });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    const save = Object.assign(document.createElement("a"), { href: url, download: link.download });
    save.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
}

// Ask for the key in a dialog; concurrent callers share one question. `reason`: the API's word
// on the refusal, shown when a key had been sent (unknown, revoked).
export function askForKey(reason = undefined) {
  pendingKey ??= keyDialog(reason).finally(() => (pendingKey = null));
  return pendingKey;
}

function keyDialog(reason) {
  const dialog = document.getElementById("key-dialog") ?? buildKeyDialog();
  const refusal = dialog.querySelector(".key-refused");
  refusal.hidden = sessionStorage.getItem(KEY) === null;
  const why = typeof reason === "string" ? ` (${reason})` : "";
  refusal.textContent = `That key was refused${why}; try again.`;
  dialog.querySelector("input").value = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.querySelector("form").onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, dialog.querySelector("input").value.trim());
      dialog.close();
      showKeyStatus();
      resolve();
    };
  });
}

function buildKeyDialog() {
  const dialog = document.createElement("dialog");
  dialog.id = "key-dialog";
  dialog.innerHTML = `<form>
      <h2>API key</h2>
      <p>This service needs an API key (<code>adl_…</code>; an administrator makes one with
      <code>python -m jobs.admin keys create --tenant NAME</code>). You see the searches of
      its tenant. It is kept for this browser session only.</p>
      <p class="key-refused error">That key was refused; try again.</p>
      <input type="password" name="key" autocomplete="off" required aria-label="API key">
      <button type="submit">Use this key</button>
    </form>`;
  document.body.append(dialog);
  return dialog;
}

export function showKeyStatus() {
  const status = document.getElementById("key-status");
  if (!status) return;
  const hasKey = sessionStorage.getItem(KEY) !== null;
  status.hidden = !hasKey;
  status.querySelector("button").onclick = () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  };
}
