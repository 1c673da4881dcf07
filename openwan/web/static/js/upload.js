// Upload: many files at once through Uppy's tus uploader (vendored, see
// /static/vendor/uppy/VERSION), with an interface of our own: title and category per file, a
// duplicate check by sha256 before a byte is sent, per-file progress, speed, pause and cancel,
// and this browser's unfinished uploads, resumed by choosing the same file again.
import { Uppy, Tus } from "/static/vendor/uppy/uppy-core-tus.min.js";
import { T, api, el, say, bytes, cookie, errorText, formatDate, fmt } from "./common.js";

const ENDPOINT = "/api/v1/uploads";
const UPPY_ID = "openwan";
// Files up to this size are hashed in the browser (crypto.subtle reads a file whole) and
// checked before sending; a larger one is checked by the server when its last byte lands.
const HASH_LIMIT = 256 * 1024 * 1024;
// Bytes per PATCH. A proxy that limits request bodies may need less: set
// localStorage["openwan.upload.chunkSize"] (bytes) in that browser.
const CHUNK = Number(localStorage.getItem("openwan.upload.chunkSize")) || 16 * 1024 * 1024;
const PARALLEL = 3;
const STORED_PREFIX = `tus::tus-${UPPY_ID}-`;

const percent = (done, total) => `${total ? Math.floor((done / total) * 100) : 100}%`;

function eta(seconds) {
  return seconds < 90 ? fmt(T.upload_seconds, { n: Math.max(1, Math.round(seconds)) })
    : fmt(T.upload_minutes, { n: Math.round(seconds / 60) });
}

function errorOf(body) {
  try { return (typeof body === "string" ? JSON.parse(body) : body).error; } catch { return undefined; }
}

/** The API's error (code, message, asset_id) in a tus error's response, if any. */
function tusError(error) {
  const response = error && error.originalResponse;
  return response ? errorOf(response.getBody()) : undefined;
}

const queue = document.getElementById("queue");
const summary = document.getElementById("summary");
const startButton = document.getElementById("start");
const defaultCategory = document.getElementById("category");
const input = document.getElementById("files");
const drop = document.getElementById("drop");

const uppy = new Uppy({ id: UPPY_ID, autoProceed: false, allowMultipleUploadBatches: true });
uppy.use(Tus, {
  endpoint: ENDPOINT,
  chunkSize: CHUNK,
  limit: PARALLEL,
  removeFingerprintOnSuccess: true,
  allowedMetaFields: ["filename", "title", "category_id"],
  headers: () => ({ "X-CSRF-Token": cookie("openwan_csrf") }),
  // A refusal when the last byte lands (a duplicate) is final: retrying would send it again.
  onShouldRetry: (error, attempt, options, next) => {
    const found = tusError(error);
    return found && found.code === "duplicate" ? false : next(error);
  },
});

/* ---- categories the caller may file under ---- */

let categoryOptions = [];

async function loadCategories() {
  const [cats, me] = await Promise.all([api("/api/v1/categories?flat=true"), api("/api/v1/me")]);
  const allowed = me.body.administrator || me.body.categories === "all" ? null : new Set(me.body.categories);
  categoryOptions = cats.body.items
    .filter((c) => c.enabled !== false && (allowed === null || allowed.has(c.id)))
    .map((c) => ({ id: c.id, label: "\u00a0\u00a0".repeat(Math.max(0, c.path.split("/").filter(Boolean).length - 1)) + c.name }));
  fillCategories(defaultCategory, "");
  for (const entry of entries.values()) if (entry.state === "ready" || entry.state === "checking") fillCategories(entry.category, entry.category.value);
}

function fillCategories(select, value) {
  select.replaceChildren(el("option", { value: "", text: T.upload_no_category }),
    ...categoryOptions.map((c) => el("option", { value: String(c.id), text: c.label })));
  select.value = value || "";
}

/* ---- the list of files ---- */

const entries = new Map(); // our key → entry
const byUppyId = new Map(); // Uppy's file id → entry
let counter = 0;

function addFiles(files, preset = {}) {
  for (const file of files) {
    const same = [...entries.values()].find((e) => e.file.name === file.name && e.file.size === file.size
      && e.file.lastModified === file.lastModified && !["done", "duplicate", "failed"].includes(e.state));
    if (same) { say(fmt(T.upload_already_listed, { name: file.name })); continue; }
    addEntry(file, preset);
  }
  update();
}

function addEntry(file, preset) {
  const key = `f${++counter}`;
  const nameId = `${key}-name`;
  const title = el("input", { type: "text", name: "title", maxlength: "512", placeholder: file.name, value: preset.title || "" });
  const category = el("select", { name: "category_id" });
  fillCategories(category, preset.categoryId !== undefined ? preset.categoryId : defaultCategory.value);
  const progress = el("progress", { max: "100", value: "0", "aria-labelledby": nameId });
  const status = el("span", { class: "state" });
  const actions = el("span", { class: "actions" });
  const row = el("li", { "data-key": key, "data-name": file.name },
    el("div", { class: "file" }, el("span", { class: "name", id: nameId, text: file.name }),
      el("span", { class: "muted", text: bytes(file.size) })),
    el("div", { class: "fields" },
      el("label", {}, T.title, title),
      el("label", {}, T.category, category)),
    el("div", { class: "progress" }, progress, status),
    actions);
  const entry = { key, file, row, title, category, progress, status, actions, nameId, state: "", autostart: !!preset.autostart, uppyId: null };
  entries.set(key, entry);
  queue.append(row);
  if (preset.skipCheck || !(window.crypto && crypto.subtle) || file.size > HASH_LIMIT) {
    setState(entry, "ready");
  } else {
    setState(entry, "checking");
    hashing = hashing.then(() => check(entry));
  }
  if (entry.autostart && entry.state === "ready") send(entry);
}

function button(text, entry, onclick, extra = {}) {
  return el("button", Object.assign({ type: "button", class: "secondary", text, "aria-describedby": entry.nameId, onclick }, extra));
}

/** Show ``entry`` in ``state``: its status text, its buttons, and whether it can be edited. */
function setState(entry, state, detail) {
  entry.state = state;
  entry.row.dataset.state = state;
  const editable = state === "ready" || state === "checking";
  entry.title.disabled = !editable;
  entry.category.disabled = !editable;
  const remove = button(T.upload_remove, entry, () => forget(entry));
  const buttons = {
    checking: [remove], ready: [remove], duplicate: [remove], failed: [button(T.upload_retry, entry, () => retry(entry)), remove],
    waiting: [button(T.cancel, entry, () => cancel(entry))],
    uploading: [button(T.upload_pause, entry, () => pause(entry)), button(T.cancel, entry, () => cancel(entry))],
    paused: [button(T.upload_resume, entry, () => pause(entry), { class: "" }), button(T.cancel, entry, () => cancel(entry))],
    finishing: [], done: [],
  }[state] || [];
  entry.actions.replaceChildren(...buttons);
  const text = { checking: T.upload_checking, ready: T.upload_ready, waiting: T.upload_waiting, uploading: T.upload_uploading,
    paused: T.upload_paused, finishing: T.upload_finishing, done: T.upload_done, failed: T.failed, duplicate: T.duplicate }[state];
  entry.status.replaceChildren(text || "");
  if (detail) entry.status.append(" ", detail);
  if (state === "done" || state === "duplicate") entry.progress.value = state === "done" ? 100 : 0;
  entry.progress.hidden = state === "duplicate" || state === "checking";
  update();
}

function update() {
  const live = [...entries.values()];
  summary.textContent = live.length
    ? fmt(T.upload_summary, { count: live.length, size: bytes(live.reduce((n, e) => n + e.file.size, 0)) })
    : T.upload_empty;
  startButton.disabled = !live.some((e) => (e.state === "ready" || e.state === "checking") && !e.autostart);
}

/* ---- duplicates, found by sha256 before sending ---- */

let hashing = Promise.resolve();

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function check(entry) {
  if (!entries.has(entry.key)) return;
  try {
    const sha = await sha256Hex(entry.file);
    const found = (await api(`/api/v1/assets/duplicate?sha256=${sha}`)).body;
    if (found.duplicate) { duplicate(entry, found.asset_id, found.title); return; }
  } catch (error) {
    // Not checked here (unreadable, offline, refused): the server checks when the last byte lands.
    console.warn("duplicate check skipped", error);
  }
  if (entries.has(entry.key) && entry.state === "checking") {
    setState(entry, "ready");
    if (entry.autostart) send(entry);
  }
}

function duplicate(entry, assetId, title) {
  const detail = assetId
    ? el("a", { href: `/assets/${assetId}`, class: "asset-link", text: title || `#${assetId}` })
    : el("span", { text: T.upload_duplicate_hidden });
  setState(entry, "duplicate", detail);
  say(fmt(T.upload_duplicate_skipped, { name: entry.file.name }));
}

/* ---- sending ---- */

function start() {
  for (const entry of entries.values()) {
    if (entry.state === "ready") send(entry);
    else if (entry.state === "checking") entry.autostart = true;
  }
  update();
}

function send(entry) {
  entry.autostart = true;
  const meta = { filename: entry.file.name, title: entry.title.value.trim() || entry.file.name, category_id: entry.category.value };
  try {
    entry.uppyId = uppy.addFile({ name: entry.file.name, type: entry.file.type, data: entry.file, meta, source: "openwan" });
  } catch (error) {
    setState(entry, "failed", el("span", { class: "error", text: error.message }));
    return;
  }
  byUppyId.set(entry.uppyId, entry);
  entry.sample = null;
  entry.speed = 0;
  setState(entry, "waiting");
  uppy.upload().catch((error) => console.warn("upload batch", error));
}

function pause(entry) {
  const paused = uppy.pauseResume(entry.uppyId);
  if (paused === undefined) return;
  entry.sample = null;
  setState(entry, paused ? "paused" : "uploading");
  entry.actions.querySelector("button").focus();
}

function cancel(entry) {
  // Uppy aborts the request and terminates the upload on the server (tus termination).
  uppy.removeFile(entry.uppyId);
  say(fmt(T.upload_cancelled, { name: entry.file.name }));
  removeRow(entry);
}

function forget(entry) {
  if (entry.uppyId && uppy.getFile(entry.uppyId)) uppy.removeFile(entry.uppyId);
  removeRow(entry);
}

function removeRow(entry) {
  const next = entry.row.nextElementSibling || entry.row.previousElementSibling;
  entries.delete(entry.key);
  if (entry.uppyId) byUppyId.delete(entry.uppyId);
  entry.row.remove();
  update();
  (next ? next.querySelector("button, a, input") : input.closest("section").querySelector("button")).focus();
}

function retry(entry) {
  if (entry.uppyId && uppy.getFile(entry.uppyId)) {
    setState(entry, "waiting");
    uppy.retryUpload(entry.uppyId).catch((error) => console.warn("retry", error));
  } else {
    send(entry);
  }
}

uppy.on("upload-progress", (file, progress) => {
  const entry = byUppyId.get(file.id);
  if (!entry || !progress.bytesTotal) return;
  const done = progress.bytesUploaded;
  const total = progress.bytesTotal;
  const now = performance.now();
  if (!entry.sample) entry.sample = { time: now, done };
  const elapsed = (now - entry.sample.time) / 1000;
  if (elapsed >= 0.5) {
    const rate = (done - entry.sample.done) / elapsed;
    entry.speed = entry.speed ? 0.6 * entry.speed + 0.4 * rate : rate;
    entry.sample = { time: now, done };
  }
  entry.progress.value = Math.floor((done / total) * 100);
  if (done >= total) { if (entry.state !== "finishing") setState(entry, "finishing"); return; }
  if (entry.state !== "uploading") setState(entry, "uploading");
  const parts = [percent(done, total)];
  if (entry.speed > 0) parts.push(`${bytes(entry.speed)}/s`, fmt(T.upload_eta, { time: eta((total - done) / entry.speed) }));
  entry.status.replaceChildren(`${T.upload_uploading} ${parts.join(" · ")}`);
});

uppy.on("upload-success", async (file, response) => {
  const entry = byUppyId.get(file.id);
  if (!entry) return;
  let assetId = null;
  const xhr = response && response.body && response.body.xhr;
  if (xhr && xhr.getResponseHeader) assetId = xhr.getResponseHeader("X-Asset-Id");
  if (!assetId && response && response.uploadURL) {
    try { assetId = (await api(response.uploadURL)).body.asset_id; } catch (error) { console.warn(error); }
  }
  // Out of Uppy (the same file may be added again), once its tus plugin has let go of it:
  // removing it inside this event would terminate the finished upload.
  setTimeout(() => uppy.removeFile(file.id), 0);
  byUppyId.delete(file.id);
  entry.uppyId = null;
  entry.assetId = assetId;
  entry.row.dataset.assetId = assetId || "";
  setState(entry, "done", assetId ? el("a", { href: `/assets/${assetId}`, class: "asset-link", text: T.upload_open_asset }) : null);
  say(fmt(T.upload_finished_one, { name: entry.file.name }));
});

uppy.on("upload-error", (file, error) => {
  const entry = file && byUppyId.get(file.id);
  if (!entry) return;
  const found = tusError(error);
  forgetStored(file);
  if (found && found.code === "duplicate") {
    setTimeout(() => uppy.removeFile(file.id), 0);
    byUppyId.delete(file.id);
    entry.uppyId = null;
    duplicate(entry, found.asset_id, null);
    return;
  }
  const text = found && T["error." + found.code] ? T["error." + found.code]
    : (found && found.message) || (error && error.message) || T["error.unknown"];
  setState(entry, "failed", el("span", { class: "error", text }));
  say(fmt(T.upload_failed_one, { name: entry.file.name }) + " " + text, true);
});

uppy.on("complete", () => {
  const busy = [...entries.values()].some((e) => ["waiting", "uploading", "paused", "finishing", "checking"].includes(e.state));
  if (!busy && [...entries.values()].some((e) => e.state === "done")) say(T.upload_all_done);
  showUnfinished();
});

/** Drop this browser's resume record of ``file``'s upload (the server ended it). */
function forgetStored(file) {
  const url = file && file.tus && file.tus.uploadUrl;
  if (!url) return;
  for (const stored of storedUploads()) if (stored.uploadUrl === url) localStorage.removeItem(stored.key);
}

/* ---- adding files: the picker, and drag and drop ---- */

document.getElementById("choose").addEventListener("click", () => input.click());
input.addEventListener("change", () => { addFiles(Array.from(input.files)); input.value = ""; });
startButton.addEventListener("click", start);

for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", (event) => { if (!drop.contains(event.relatedTarget)) drop.classList.remove("over"); });
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  addFiles(Array.from(event.dataTransfer.files || []));
});
// A file dropped beside the zone must not make the browser leave the page for it.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

// Leaving while files are being sent: the browser asks first (they could be resumed, but
// only by choosing each file again).
window.addEventListener("beforeunload", (event) => {
  if ([...entries.values()].some((e) => ["waiting", "uploading", "finishing"].includes(e.state))) {
    event.preventDefault();
    event.returnValue = "";
  }
});

/* ---- this browser's unfinished uploads (tus-js-client's resume records) ---- */

function storedUploads() {
  const found = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key || !key.startsWith(STORED_PREFIX)) continue;
    try {
      const value = JSON.parse(localStorage.getItem(key));
      if (value && value.uploadUrl) found.push(Object.assign({ key }, value));
    } catch { localStorage.removeItem(key); }
  }
  return found;
}

const unfinishedBox = document.getElementById("unfinished-box");
const unfinishedList = document.getElementById("unfinished");
const resumeInput = document.getElementById("resume-file");
let resuming = null;

async function showUnfinished() {
  const active = new Set(uppy.getFiles().map((f) => f.tus && f.tus.uploadUrl).filter(Boolean));
  const rows = [];
  for (const stored of storedUploads()) {
    if (active.has(stored.uploadUrl)) continue;
    let offset;
    try {
      const head = await fetch(stored.uploadUrl, { method: "HEAD", credentials: "same-origin", headers: { "Tus-Resumable": "1.0.0" } });
      if (!head.ok) { if (head.status === 404 || head.status === 410 || head.status === 403) localStorage.removeItem(stored.key); continue; }
      offset = Number(head.headers.get("Upload-Offset"));
    } catch { continue; }
    if (offset >= stored.size) { localStorage.removeItem(stored.key); continue; }
    rows.push(unfinishedRow(stored, offset));
  }
  unfinishedList.replaceChildren(...rows);
  unfinishedBox.hidden = rows.length === 0;
}

function unfinishedRow(stored, offset) {
  const meta = stored.metadata || {};
  const name = meta.filename || meta.name || "?";
  const nameId = `u-${stored.key.slice(-12).replace(/\W/g, "")}`;
  const row = el("li", { "data-name": name, "data-url": stored.uploadUrl },
    el("div", { class: "file" }, el("span", { class: "name", id: nameId, text: name }),
      el("span", { class: "muted", text: meta.title && meta.title !== name ? meta.title : "" })),
    el("div", { class: "progress" },
      el("progress", { max: "100", value: String(Math.floor((offset / stored.size) * 100)), "aria-labelledby": nameId }),
      el("span", { class: "state", text: fmt(T.upload_sent_of, { done: bytes(offset), size: bytes(stored.size), percent: percent(offset, stored.size) }) }),
      el("span", { class: "muted", text: stored.creationTime ? fmt(T.upload_started_at, { date: formatDate(stored.creationTime) }) : "" })),
    el("span", { class: "actions" },
      el("button", { type: "button", class: "resume", text: T.upload_resume_choose, "aria-describedby": nameId, onclick: () => {
        resuming = { stored, row };
        resumeInput.click();
      } }),
      el("button", { type: "button", class: "secondary", text: T.upload_discard, "aria-describedby": nameId, onclick: () => discard(stored, row) })));
  return row;
}

resumeInput.addEventListener("change", () => {
  const file = resumeInput.files[0];
  resumeInput.value = "";
  if (!file || !resuming) return;
  const { stored, row } = resuming;
  resuming = null;
  const meta = stored.metadata || {};
  const name = meta.filename || meta.name;
  if (file.name !== name || file.size !== stored.size) {
    say(fmt(T.upload_not_same_file, { name, size: bytes(stored.size) }), true);
    return;
  }
  row.remove();
  unfinishedBox.hidden = unfinishedList.children.length === 0;
  // Uppy finds the stored upload by the file's fingerprint and goes on from its offset.
  addFiles([file], { title: meta.title && meta.title !== name ? meta.title : "", categoryId: meta.category_id || "", skipCheck: true, autostart: true });
});

async function discard(stored, row) {
  try {
    await api(stored.uploadUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0" } });
  } catch (error) {
    if (error.status !== 404 && error.status !== 410) { say(errorText(error), true); return; }
  }
  localStorage.removeItem(stored.key);
  row.remove();
  unfinishedBox.hidden = unfinishedList.children.length === 0;
  (unfinishedList.querySelector("button") || document.getElementById("choose")).focus();
}

update();
loadCategories().catch((error) => say(errorText(error), true));
showUnfinished();
