// The searches page: every search with its state, progress, ETA and age (refreshed every two
// seconds), a state filter, and the submit form.
import { ApiError, getJSON, postJSON, showKeyStatus } from "./api.js";
import { age, duration, element, fraction, progressBar, specSummary } from "./format.js";
import { buildForm, clearErrors, collect, showErrors } from "./form.js";

const REFRESH_MS = 2000;
const filter = document.getElementById("state-filter");
const form = document.getElementById("spec-form");

async function main() {
  showKeyStatus();
  const openapi = await fetch("/openapi.json").then((response) => response.json());
  for (const state of openapi.components.schemas.State.enum) filter.append(element("option", { value: state }, state));
  filter.value = new URLSearchParams(location.search).get("state") ?? "";
  filter.onchange = () => {
    history.replaceState(null, "", filter.value ? `?state=${filter.value}` : "/");
    refresh();
  };
  await buildForm(form, openapi);
  form.onsubmit = submit;
  refresh();
  setInterval(refresh, REFRESH_MS);
}

async function refresh() {
  const query = filter.value ? `?state=${filter.value}` : "";
  const error = document.getElementById("list-error");
  try {
    const page = await getJSON(`/dashboard/searches${query}`);
    document.querySelector("#searches tbody").replaceChildren(...page.items.map(row));
    document.getElementById("list-empty").hidden = page.items.length > 0;
    error.hidden = true;
  } catch (problem) {
    error.textContent = `Could not load the searches: ${problem.message}`;
    error.hidden = false;
  }
}

function row(search) {
  const progress = search.progress;
  const live = search.state === "running" || search.state === "cancelling";
  const done = fraction(progress, search.state);
  const where = progress?.epoch ? `epoch ${progress.epoch}/${progress.epochs}` : "";
  return element(
    "tr",
    { dataset: { searchId: search.id, state: search.state } },
    element("td", {}, element("a", { href: `/ui/searches/${search.id}` }, search.id.slice(0, 8))),
    element("td", { className: "muted" }, specSummary(search.spec)),
    element("td", {}, element("span", { className: `state state-${search.state}` }, search.state)),
    element("td", { className: "progress" }, progressBar(done), element("small", {}, ` ${(done * 100).toFixed(0)}% ${where}`)),
    element("td", {}, live ? duration(progress?.eta_seconds) : "–"),
    element("td", { title: search.created_at }, age(search.created_at)),
  );
}

async function submit(event) {
  event.preventDefault();
  clearErrors(form);
  const notice = document.getElementById("submitted");
  notice.hidden = true;
  try {
    const search = await postJSON("/searches", collect(form));
    notice.replaceChildren("Submitted ", element("a", { href: `/ui/searches/${search.id}` }, `search ${search.id.slice(0, 8)}`));
    notice.hidden = false;
    refresh();
  } catch (problem) {
    if (!(problem instanceof ApiError)) throw problem;
    showErrors(form, problemsOf(problem));
  }
}

// A 422 names each field; a missing dataset belongs to dataset.name; anything else to the form.
function problemsOf({ body, message }) {
  if (Array.isArray(body?.detail)) return body.detail;
  const field = body?.error === "dataset_not_found" ? "dataset.name" : "";
  return [{ field, message }];
}

main();
