// The recycle bin: deleted assets, restored to the status they had, or deleted for good.
import { T, api, el, say, errorText, bytes, formatDate, statusLabel, typeLabel, fmt } from "./common.js";
import { ask, preview } from "./work.js";

const PAGE = 50;
const list = document.getElementById("bin-list");
const summary = document.getElementById("bin-summary");
const more = document.getElementById("more");
let items = [];
let total = 0;

async function load(page = 1) {
  const result = (await api(`/api/v1/assets?status=deleted&page=${page}&size=${PAGE}`)).body;
  const known = new Set(items.map((a) => a.id));
  items = page === 1 ? result.items : items.concat(result.items.filter((a) => !known.has(a.id)));
  total = result.total;
  render();
}

function render() {
  summary.textContent = items.length ? fmt(T.bin_count, { count: total }) : T.bin_empty;
  more.hidden = items.length >= total;
  list.replaceChildren(...items.map(row));
}

function row(asset) {
  const titleId = `title-${asset.id}`;
  const thumb = el("div", { class: "thumb" });
  preview(thumb, asset);
  const facts = [typeLabel(asset.type), bytes(asset.size), fmt(T.bin_deleted_at, { date: formatDate(asset.updated_at) })];
  if (asset.previous_status) facts.push(fmt(T.bin_was, { status: statusLabel(asset.previous_status) }));
  return el("li", { "data-id": asset.id, "aria-labelledby": titleId },
    thumb,
    el("div", { class: "body" },
      el("h2", { id: titleId, text: asset.title }),
      el("p", { class: "meta" }, ...facts.map((f) => el("span", { text: f })), el("span", { text: asset.filename })),
      el("div", { class: "decide" },
        el("button", { type: "button", class: "restore", text: T.restore, "aria-describedby": titleId, onclick: () => restore(asset) }),
        el("button", { type: "button", class: "danger purge", text: T.bin_purge, "aria-describedby": titleId, onclick: () => purge(asset) }))));
}

/** After an asset left the bin: the next one takes focus (or the summary when none is left). */
function gone(asset) {
  const index = items.findIndex((a) => a.id === asset.id);
  items.splice(index, 1);
  total -= 1;
  render();
  const next = list.children[Math.min(index, list.children.length - 1)];
  (next ? next.querySelector("button") : summary).focus();
}

async function restore(asset) {
  try {
    await api(`/api/v1/assets/${asset.id}/restore`, { method: "POST" });
    say(fmt(T.bin_restored, { title: asset.title }));
    gone(asset);
  } catch (error) { say(errorText(error), true); }
}

async function purge(asset) {
  document.getElementById("purge-what").textContent = fmt(T.bin_purge_text, { title: asset.title });
  const confirmed = await ask(document.getElementById("purge-dialog"));
  if (!confirmed) return;
  try {
    await api(`/api/v1/assets/${asset.id}/purge`, { method: "POST" });
    say(fmt(T.bin_purged, { title: asset.title }));
    gone(asset);
  } catch (error) { say(errorText(error), true); }
}

summary.tabIndex = -1;
more.addEventListener("click", () => load(Math.floor(items.length / PAGE) + 1).catch((error) => say(errorText(error), true)));
load().catch((error) => say(errorText(error), true));
