// The review queue: pending assets with previews, approved (level, groups, download), sent
// back with a comment, or deleted, one at a time or selected in a batch, by mouse or keys.
import { T, CAN, api, el, say, errorText, bytes, formatDate, typeLabel, fmt, duration } from "./common.js";
import { ask, bulk, categoryNames, firstFailure, levelLabel, preview } from "./work.js";

const PAGE = 50;
const list = document.getElementById("review-list");
const summary = document.getElementById("queue-summary");
const more = document.getElementById("more");
const selectAll = document.getElementById("select-all");
const selectedCount = document.getElementById("selected-count");
// Deleting needs asset.delete besides the review right: without it, no delete button or key.
const MAY_DELETE = CAN.has("asset.delete");
const batchButtons = ["batch-approve", "batch-reject", "batch-delete"].map((id) => document.getElementById(id)).filter(Boolean);

let items = [];
let total = 0;
let current = 0;
const selected = new Set();

async function load({ keep = false } = {}) {
  const size = keep ? Math.min(200, Math.max(PAGE, items.length)) : PAGE;
  const result = (await api(`/api/v1/assets?status=pending&page=1&size=${size}`)).body;
  items = result.items;
  total = result.total;
  for (const id of [...selected]) if (!items.some((a) => a.id === id)) selected.delete(id);
  current = Math.min(current, Math.max(0, items.length - 1));
  render();
}

async function loadMore() {
  const page = Math.floor(items.length / PAGE) + 1;
  const result = (await api(`/api/v1/assets?status=pending&page=${page}&size=${PAGE}`)).body;
  const known = new Set(items.map((a) => a.id));
  const before = items.length;
  items = items.concat(result.items.filter((a) => !known.has(a.id)));
  total = result.total;
  render();
  focusCard(before);
}

function render() {
  summary.textContent = items.length ? fmt(T.review_count, { count: total }) : T.review_empty;
  more.hidden = items.length >= total;
  list.replaceChildren(...items.map(card));
  markCurrent();
  updateSelection();
}

function card(asset, index) {
  const titleId = `title-${asset.id}`;
  const pick = el("input", { type: "checkbox", "aria-label": fmt(T.review_select_one, { title: asset.title }), onchange: (event) => {
    toggle(asset.id, event.target.checked);
  } });
  pick.checked = selected.has(asset.id);
  const thumb = el("div", { class: "thumb" });
  preview(thumb, asset);
  const facts = [typeLabel(asset.type), bytes(asset.size)];
  if (asset.technical && asset.technical.duration) facts.push(duration(asset.technical.duration));
  const category = el("span");
  categoryNames().then((names) => { category.textContent = names.get(asset.category_id) || ""; });
  const li = el("li", { "data-id": asset.id, tabindex: "-1", "aria-labelledby": titleId, class: selected.has(asset.id) ? "selected" : "" },
    el("div", { class: "pick" }, pick),
    thumb,
    el("div", { class: "body" },
      el("h2", {}, el("a", { id: titleId, href: `/assets/${asset.id}`, text: asset.title })),
      el("p", { class: "meta" }, ...facts.map((f) => el("span", { text: f })), category,
        el("span", { text: fmt(T.review_uploaded, { date: formatDate(asset.created_at) }) }),
        el("span", { text: asset.filename })),
      el("div", { class: "decide" },
        el("button", { type: "button", class: "approve", text: T.approve, "aria-describedby": titleId, onclick: () => approve([asset.id]) }),
        el("button", { type: "button", class: "secondary reject", text: T.reject, "aria-describedby": titleId, onclick: () => reject([asset.id]) }),
        MAY_DELETE ? el("button", { type: "button", class: "secondary delete", text: T.delete, "aria-describedby": titleId, onclick: () => remove([asset.id]) }) : null)));
  li.addEventListener("focusin", () => { current = index; markCurrent(); });
  return li;
}

function markCurrent() {
  list.querySelectorAll("li.current").forEach((li) => li.classList.remove("current"));
  const li = list.children[current];
  if (li) li.classList.add("current");
}

function focusCard(index) {
  if (!items.length) { selectAll.focus(); return; }
  current = Math.max(0, Math.min(index, items.length - 1));
  markCurrent();
  const li = list.children[current];
  li.focus();
  li.scrollIntoView({ block: "nearest" });
}

/* ---- selection ---- */

function toggle(id, on) {
  if (on) selected.add(id); else selected.delete(id);
  const li = list.querySelector(`li[data-id="${id}"]`);
  if (li) {
    li.classList.toggle("selected", on);
    li.querySelector(".pick input").checked = on;
  }
  updateSelection();
}

function updateSelection() {
  selectedCount.textContent = selected.size ? fmt(T.review_selected, { count: selected.size }) : "";
  for (const button of batchButtons) button.disabled = selected.size === 0;
  selectAll.checked = items.length > 0 && selected.size === items.length;
  selectAll.indeterminate = selected.size > 0 && selected.size < items.length;
}

selectAll.addEventListener("change", () => {
  const on = selectAll.checked;
  for (const asset of items) toggle(asset.id, on);
});

/* ---- decisions ---- */

const what = (ids) => (ids.length === 1
  ? `“${(items.find((a) => a.id === ids[0]) || { title: `#${ids[0]}` }).title}”`
  : fmt(T.review_many, { count: ids.length }));

/** After an action: say what happened, reload the queue, keep the place in it. */
async function done(result, message) {
  const lines = [];
  if (result.succeeded) lines.push(fmt(message, { count: result.succeeded }));
  if (result.failed) lines.push(fmt(T.review_failed, { count: result.failed, reason: firstFailure(result) }));
  say(lines.join(" · "), result.failed > 0);
  for (const r of result.results) if (r.ok) selected.delete(r.id);
  await load({ keep: true });
  focusCard(current);
}

const approveDialog = document.getElementById("approve-dialog");
const levelSelect = document.getElementById("approve-level");
const groupsBox = document.getElementById("approve-groups");
const approveError = document.getElementById("approve-error");
const chosenRadio = document.getElementById("groups-chosen");

async function loadChoices() {
  const { levels, groups } = (await api("/api/v1/review/choices")).body;
  levelSelect.replaceChildren(...levels.filter((l) => l.enabled !== false)
    .map((l) => el("option", { value: String(l.id), text: levelLabel(l) })));
  chosenRadio.closest("label").hidden = groups.length === 0;
  groupsBox.replaceChildren(...groups.map((g) => el("label", { class: "check" },
    el("input", { type: "checkbox", name: "group", value: String(g.id), onchange: () => { chosenRadio.checked = true; } }), g.name)));
}

async function approve(ids) {
  if (!ids.length) { say(T.review_nothing_selected); return; }
  document.getElementById("approve-what").textContent = what(ids);
  approveError.hidden = true;
  const result = await ask(approveDialog, {
    returnTo: () => list.children[current],
    submit: async () => {
      const form = document.getElementById("approve-form");
      let groups = "all";
      if (form.elements.groups.value === "chosen") {
        groups = [...groupsBox.querySelectorAll("input:checked")].map((c) => Number(c.value));
        if (!groups.length) { showError(approveError, T.review_groups_none); return undefined; }
      }
      try {
        return await bulk("approve", ids, { level: Number(levelSelect.value), groups, download: document.getElementById("approve-download").checked });
      } catch (error) { showError(approveError, errorText(error)); return undefined; }
    },
  });
  if (result) await done(result, T.review_approved);
}

function showError(box, text) {
  box.textContent = text;
  box.hidden = false;
}

const rejectDialog = document.getElementById("reject-dialog");
const comment = document.getElementById("reject-comment");
const rejectError = document.getElementById("reject-error");

async function reject(ids) {
  if (!ids.length) { say(T.review_nothing_selected); return; }
  document.getElementById("reject-what").textContent = what(ids);
  comment.value = "";
  comment.removeAttribute("aria-invalid");
  rejectError.hidden = true;
  const result = await ask(rejectDialog, {
    returnTo: () => list.children[current],
    submit: async () => {
      const text = comment.value.trim();
      if (!text) {
        rejectError.textContent = T.review_comment_required;
        rejectError.hidden = false;
        comment.setAttribute("aria-invalid", "true");
        comment.focus();
        return undefined;
      }
      try { return await bulk("reject", ids, { comment: text }); }
      catch (error) { showError(rejectError, errorText(error)); return undefined; }
    },
  });
  if (result) await done(result, T.review_rejected);
}

const deleteDialog = document.getElementById("delete-dialog");

async function remove(ids) {
  if (!ids.length) { say(T.review_nothing_selected); return; }
  document.getElementById("delete-what").textContent = fmt(T.review_delete_text, { what: what(ids) });
  const confirmed = await ask(deleteDialog, { returnTo: () => list.children[current] });
  if (!confirmed) return;
  try { await done(await bulk("delete", ids), T.review_deleted); }
  catch (error) { say(errorText(error), true); }
}

document.getElementById("batch-approve").addEventListener("click", () => approve([...selected]));
document.getElementById("batch-reject").addEventListener("click", () => reject([...selected]));
if (MAY_DELETE) document.getElementById("batch-delete").addEventListener("click", () => remove([...selected]));
more.addEventListener("click", () => loadMore().catch((error) => say(errorText(error), true)));

/* ---- keys: j/k move, x select, a approve, r send back, d delete, o open ---- */

const targets = () => (selected.size ? [...selected] : (items[current] ? [items[current].id] : []));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (document.querySelector("dialog[open]")) return;
  const field = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
  if (field && field.type !== "checkbox") return;
  const actions = {
    j: () => focusCard(current + 1),
    k: () => focusCard(current - 1),
    x: () => { if (items[current]) toggle(items[current].id, !selected.has(items[current].id)); },
    a: () => approve(targets()),
    r: () => reject(targets()),
    d: () => { if (MAY_DELETE) remove(targets()); },
    o: () => { if (items[current]) location.href = `/assets/${items[current].id}`; },
  };
  const action = actions[event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

Promise.all([load(), loadChoices()]).catch((error) => say(errorText(error), true));
