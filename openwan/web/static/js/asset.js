// One asset: its player (video with scrub thumbnails, audio with its waveform, every page of
// a document, images to zoom), facts, downloads, the typed catalogue form and the workflow
// actions the caller may take. While the media is processed the page follows it to ready.
import { T, t, LANG, CAN, api, el, say, bytes, errorText, typeLabel, statusLabel, mediaLabel, formatDate, duration } from "./common.js";
import { levelNames, loadScrub } from "./browse-kit.js";

const root = document.getElementById("asset");
const id = root.dataset.id;
const MAY = new Set(root.dataset.may.split(" ").filter(Boolean));
const EDIT_STATES = new Set(root.dataset.editStates.split(" ").filter(Boolean));
const LIVE = ["new", "pending", "published", "rejected"];
const POLL_MS = 2000;
const form = document.getElementById("edit-form");

let asset = null;
let levels = {};
let categoryName = null;
let shownMedia = null;  // the media state the player was drawn for
let pollTimer = null;
let fieldsBuilt = false;
let original = {};  // "group\u0000field" → the value as loaded (what a save compares with)

// ---------------------------------------------------------------------------- loading
async function render() {
  document.getElementById("asset-title").textContent = asset.title;
  document.title = `${asset.title} · OpenWan`;
  const notice = document.getElementById("review-comment");
  notice.hidden = !(asset.status === "rejected" && asset.review_comment);
  notice.textContent = asset.review_comment ? `${T["asset.review_comment_label"]}: ${asset.review_comment}` : "";
  renderFacts();
  renderActions();
  renderTechnical();
  lockForm();
  if (shownMedia !== asset.media_state) {
    shownMedia = asset.media_state;
    await renderMedia();
  }
  follow();
}

/** While the media is queued or processing: ask again every few seconds, showing progress. */
function follow() {
  clearTimeout(pollTimer);
  const busy = asset.media_state === "queued" || asset.media_state === "processing";
  const box = document.getElementById("processing");
  box.hidden = !busy;
  if (!busy) return;
  pollTimer = setTimeout(async () => {
    try {
      const [fresh, job] = await Promise.all([api(`/api/v1/assets/${id}`),
        api(`/api/v1/assets/${id}/processing`).catch(() => null)]);
      asset = fresh.body;
      const progress = job && job.body.job ? job.body.job.progress : 0;
      document.getElementById("processing-bar").value = progress || 0;
      await render();
    } catch (error) {
      if (error.status === 404) location.reload();
      else follow();
    }
  }, POLL_MS);
}

// ---------------------------------------------------------------------------- facts
function renderFacts() {
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  const rows = [[T["asset.type_label"], typeLabel(asset.type)], [T.status, statusLabel(asset.status)],
    [T.media_state, mediaLabel(asset.media_state)], [T.level, levels[String(asset.level)] || String(asset.level)]];
  const choice = document.querySelector(`#edit-category option[value="${asset.category_id}"]`);
  if (asset.category_id) rows.push([T.category, (choice && choice.textContent) || categoryName || `#${asset.category_id}`]);
  if (asset.technical && asset.technical.duration) rows.push([T["asset.tech.duration"], duration(asset.technical.duration)]);
  if (asset.technical && asset.technical.width) rows.push([T["asset.dimensions"], `${asset.technical.width} × ${asset.technical.height}`]);
  rows.push([T["asset.filename"], asset.filename], [T.size, bytes(asset.size)], [T.uploaded, formatDate(asset.created_at)]);
  if (asset.published_at) rows.push([T["asset.published"], formatDate(asset.published_at)]);
  rows.push([T["asset.downloadable"], asset.download ? T["asset.yes"] : T["asset.no"]]);
  if (asset.media_state === "failed" && asset.media_error) rows.push([T["asset.media_error"], asset.media_error]);
  for (const [k, v] of rows) facts.append(el("dt", { text: k }), el("dd", { text: String(v) }));
  const processing = document.getElementById("processing-text");
  processing.textContent = `${mediaLabel(asset.media_state)} — ${T["asset.processing_hint"]}`;
}

function mayDownload() {
  return MAY.has("download") || (asset.status === "published" && asset.download && CAN.has("asset.download"));
}

// ---------------------------------------------------------------------------- media
async function renderMedia() {
  const box = document.getElementById("preview");
  const strip = document.getElementById("strip");
  box.replaceChildren();
  strip.replaceChildren();
  strip.hidden = true;
  let items = [];
  try {
    items = (await api(`/api/v1/assets/${id}/renditions`)).body.items;
  } catch (error) {
    say(errorText(error), true);
  }
  renderDownloads(items);
  const find = (kind, format) => items.find((r) => r.kind === kind && (!format || r.format === format));
  const preview = find("preview");
  const poster = find("poster");
  if (asset.type === "video" && preview) {
    const video = el("video", { id: "player", src: preview.url, controls: true, preload: "metadata", playsinline: true,
      poster: poster ? poster.url : undefined, "aria-label": `${T.video}: ${asset.title}` });
    box.append(video);
    const sheet = await loadScrub(id, items).catch(() => null);
    if (sheet) thumbnailStrip(sheet, video);
  } else if (asset.type === "audio" && preview) {
    audioPlayer(box, preview, find("waveform"));
  } else if (asset.type === "image" && (preview || asset.media_state !== "ready" || mayDownload())) {
    const large = find("preview", "webp") || find("preview", "jpeg") || preview;
    const source = large ? large.url : (mayDownload() ? `/api/v1/assets/${id}/original` : null);
    if (source) imageViewer(box, source, mayDownload() ? `/api/v1/assets/${id}/original` : source);
  } else if (asset.type === "document" && find("pages")) {
    documentPages(box, find("pages"));
  } else if (asset.type === "document" && find("text")) {
    const text = await fetch(find("text").url, { credentials: "same-origin" }).then((r) => r.text()).catch(() => "");
    box.append(el("pre", { class: "text-preview", tabindex: "0", "aria-label": T["asset.text_preview"], text }));
  } else if (find("thumbnail") || poster) {
    box.append(el("img", { src: (find("thumbnail") || poster).url, alt: asset.title }));
  }
  if (!box.children.length) {
    const why = asset.media_state === "ready" ? T["asset.no_preview"]
      : asset.media_state === "failed" ? T["asset.preview_failed"] : T["asset.preview_pending"];
    box.append(el("p", { class: "no-preview muted", text: why }));
  }
}

/** Sprite tiles along the player: each a button that seeks there; the current one marked. */
function thumbnailStrip(sheet, video) {
  const strip = document.getElementById("strip");
  const count = Math.min(sheet.cues.length, 12);
  const scale = 96 / sheet.cues[0].w;
  const tiles = [];
  const list = el("ol", { class: "tiles", "aria-label": T["asset.scenes"] });
  for (let i = 0; i < count; i++) {
    const cue = sheet.cues[Math.floor(i * sheet.cues.length / count)];
    const face = el("span", { class: "tile-face", "aria-hidden": "true" });
    Object.assign(face.style, { backgroundImage: `url("${sheet.image}")`,
      backgroundSize: `${sheet.width * scale}px ${sheet.height * scale}px`,
      backgroundPosition: `-${cue.x * scale}px -${cue.y * scale}px`, height: `${cue.h * scale}px` });
    const button = el("button", { type: "button", class: "tile", "data-start": cue.start,
      "aria-label": t("asset.seek_to").replace("{time}", duration(cue.start)), onclick: () => {
        video.currentTime = cue.start;
        video.play().catch(() => {});
      } }, face, el("span", { class: "tile-time", "aria-hidden": "true", text: duration(cue.start) }));
    tiles.push([cue, button]);
    list.append(el("li", {}, button));
  }
  video.addEventListener("timeupdate", () => {
    let current = null;
    for (const [cue, button] of tiles) if (video.currentTime >= cue.start) current = button;
    for (const [, button] of tiles) button.classList.toggle("on", button === current);
  });
  strip.append(list);
  strip.hidden = false;
}

function audioPlayer(box, preview, waveform) {
  const audio = el("audio", { id: "player", src: preview.url, controls: true, preload: "metadata", "aria-label": `${T.audio}: ${asset.title}` });
  if (waveform) {
    const played = el("span", { class: "played" });
    const wave = el("div", { class: "waveform", role: "presentation" },
      el("img", { src: waveform.url, alt: T["asset.waveform"], id: "waveform" }), played);
    wave.addEventListener("click", (event) => {
      const box2 = wave.getBoundingClientRect();
      if (audio.duration) audio.currentTime = audio.duration * (event.clientX - box2.left) / box2.width;
    });
    audio.addEventListener("timeupdate", () => {
      played.style.width = audio.duration ? `${100 * audio.currentTime / audio.duration}%` : "0";
    });
    box.append(wave);
  }
  box.append(audio);
}

/** The image, and a dialog to see it whole or at its actual size (the original when the
 * caller may download it). */
function imageViewer(box, source, full) {
  const img = el("img", { src: source, alt: asset.title, id: "image-preview" });
  const button = el("button", { type: "button", class: "zoom-in", id: "zoom-open", "aria-label": `${T["asset.zoom"]}: ${asset.title}`, onclick: () => {
    const dialog = document.getElementById("zoom-dialog");
    const view = document.getElementById("zoom-view");
    const large = el("img", { src: full, alt: asset.title, id: "zoom-image" });
    large.addEventListener("click", () => toggleActual());
    view.replaceChildren(large);
    view.classList.remove("actual");
    document.getElementById("zoom-toggle").textContent = T["asset.actual_size"];
    dialog.showModal();
  } }, img);
  box.append(button);
}

function toggleActual() {
  const view = document.getElementById("zoom-view");
  const actual = view.classList.toggle("actual");
  document.getElementById("zoom-toggle").textContent = actual ? T["asset.fit_screen"] : T["asset.actual_size"];
}

/** Every page the pipeline rendered (files beside page 1 under the same signed address),
 * loaded as the reader scrolls. */
function documentPages(box, pages) {
  const count = (pages.extra && pages.extra.count) || 1;
  const total = (pages.extra && pages.extra.pages) || count;
  const base = pages.url.slice(0, pages.url.lastIndexOf("/") + 1);
  const list = el("ol", { class: "pages", tabindex: "0", "aria-label": t("asset.pages_count").replace("{n}", total) });
  for (let n = 1; n <= count; n++) {
    const label = t("asset.page_of_doc").replace("{n}", n).replace("{total}", total);
    list.append(el("li", {}, el("img", { src: base + String(n).padStart(4, "0") + ".jpg", alt: label,
      loading: n <= 2 ? "eager" : "lazy", width: pages.width, height: pages.height, class: "page" })));
  }
  box.append(list);
  if (count < total) box.append(el("p", { class: "muted", text: t("asset.pages_shown").replace("{n}", count).replace("{total}", total) }));
}

function renderDownloads(items) {
  const card = document.getElementById("downloads-card");
  const list = document.getElementById("downloads");
  list.replaceChildren();
  if (!mayDownload()) {
    card.hidden = false;
    list.append(el("li", { class: "muted", text: T["asset.download_not_allowed_here"] }));
    return;
  }
  card.hidden = false;
  list.append(el("li", {}, el("a", { id: "download", href: `/api/v1/assets/${id}/original`, download: asset.filename,
    text: `${T.download} · ${asset.extension || asset.mime_type} · ${bytes(asset.size)}` })));
  const skip = new Set(["sprite_index", "peaks", "hls", "pages"]);
  const stem = asset.filename.replace(/\.[^.]*$/, "");
  for (const r of items) {
    if (skip.has(r.kind)) continue;
    const size = r.width ? `${r.width} × ${r.height}` : "";
    const label = [t("asset.rendition." + r.kind, r.kind), r.format.toUpperCase(), size, bytes(r.size)].filter(Boolean).join(" · ");
    list.append(el("li", {}, el("a", { href: r.url, download: `${stem}-${r.name}.${r.format === "jpeg" ? "jpg" : r.format}`,
      "data-rendition": r.name, "data-kind": r.kind, text: label })));
  }
}

// ---------------------------------------------------------------------------- technical
const TECH_SKIP = new Set(["video", "audio"]);

function techValue(key, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? T["asset.yes"] : T["asset.no"];
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ");
  if (key === "duration") return `${duration(value)} (${Number(value).toFixed(2)} s)`;
  if (key === "bit_rate") return `${Math.round(value / 1000)} kb/s`;
  if (key === "sample_rate") return `${value} Hz`;
  if (key === "frame_rate") return `${Number(value).toFixed(3).replace(/\.?0+$/, "")} fps`;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function techLabel(key) {
  return t("asset.tech." + key, key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()));
}

function renderTechnical() {
  const body = document.querySelector("#technical tbody");
  body.replaceChildren();
  const tech = asset.technical || {};
  const entries = Object.entries(tech);
  if (!entries.length) {
    body.append(el("tr", {}, el("td", { colspan: "2", class: "muted", text: asset.media_state === "ready" ? T["asset.no_technical"] : T["asset.preview_pending"] })));
    return;
  }
  const row = (label, value) => el("tr", {}, el("th", { scope: "row", text: label }), el("td", { text: value }));
  for (const [key, value] of entries) {
    if (value && typeof value === "object" && !Array.isArray(value)) continue;
    body.append(row(techLabel(key), techValue(key, value)));
  }
  for (const [key, value] of entries) {
    if (!value || typeof value !== "object" || Array.isArray(value)) continue;
    body.append(el("tr", { class: "group" }, el("th", { colspan: "2", scope: "rowgroup", text: techLabel(key) })));
    for (const [sub, inner] of Object.entries(value)) {
      if (TECH_SKIP.has(key) && ["width", "height"].includes(sub)) continue;
      body.append(row(techLabel(sub), techValue(sub, inner)));
    }
  }
}

// ---------------------------------------------------------------------------- workflow
function renderActions() {
  const box = document.getElementById("actions");
  box.replaceChildren();
  const status = asset.status;
  const button = (action, label, handler, cls = "secondary") => el("button", { type: "button", class: cls, "data-action": action, text: label, onclick: handler });
  if ((MAY.has("uploader") || MAY.has("catalog")) && ["new", "rejected"].includes(status)) {
    box.append(button("submit", T.submit, () => act("submit"), ""));
  }
  if (MAY.has("review") && status === "pending") {
    box.append(button("approve", T.approve, openApprove, ""));
    box.append(button("reject", T.reject, openReject));
  }
  if ((MAY.has("delete") && LIVE.includes(status)) || (MAY.has("uploader") && status === "new")) {
    box.append(button("delete", T.delete, () => document.getElementById("delete-dialog").showModal(), "secondary danger-text"));
  }
  if (MAY.has("delete") && status === "deleted") box.append(button("restore", T.restore, () => act("restore"), ""));
  if (MAY.has("reprocess") && asset.media_state === "failed") {
    box.append(button("reprocess", T["asset.reprocess"], async () => {
      try {
        await api(`/api/v1/assets/${id}/reprocess`, { method: "POST" });
        asset = (await api(`/api/v1/assets/${id}`)).body;
        await render();
      } catch (error) { say(errorText(error), true); }
    }));
  }
}

async function act(action, body, method = "POST") {
  try {
    const path = action === "delete" ? `/api/v1/assets/${id}` : `/api/v1/assets/${id}/${action}`;
    const response = await api(path, { method: action === "delete" ? "DELETE" : method, json: body });
    say(t("asset.done." + action, T.done));
    if (response.body && response.body.id) asset = response.body;
    else {
      try {
        asset = (await api(`/api/v1/assets/${id}`)).body;
      } catch (error) {
        // Deleted by its uploader: out of their sight now, back to the search.
        if (error.status === 404) { location.href = "/search"; return true; }
        throw error;
      }
    }
    await render();
    fillForm();
    return true;
  } catch (error) {
    if (error.status === 422 && error.body && error.body.error && error.body.error.missing) {
      showServerErrors(error.body.error.missing.map((f) => "metadata." + f), error);
    }
    say(errorText(error), true);
    return false;
  }
}

function openReject() {
  const dialog = document.getElementById("reject-dialog");
  document.getElementById("reject-comment").value = "";
  document.getElementById("reject-error").hidden = true;
  document.getElementById("reject-comment").removeAttribute("aria-invalid");
  dialog.showModal();
}

function openApprove() {
  const select = document.getElementById("approve-level");
  select.replaceChildren(...Object.entries(levels).map(([value, name]) => el("option", { value, text: name })));
  select.value = String(asset.level);
  document.getElementById("approve-download").checked = Boolean(asset.download) || asset.status === "pending";
  document.getElementById("approve-dialog").showModal();
}

document.getElementById("reject-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const comment = document.getElementById("reject-comment");
  const problem = document.getElementById("reject-error");
  if (!comment.value.trim()) {
    problem.textContent = T["asset.comment_required"];
    problem.hidden = false;
    comment.setAttribute("aria-invalid", "true");
    comment.focus();
    return;
  }
  if (await act("reject", { comment: comment.value.trim() })) document.getElementById("reject-dialog").close();
});
document.getElementById("approve-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { level: Number(document.getElementById("approve-level").value) || asset.level, groups: asset.groups,
    download: document.getElementById("approve-download").checked };
  if (await act("approve", body)) document.getElementById("approve-dialog").close();
});
document.getElementById("delete-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await act("delete")) document.getElementById("delete-dialog").close();
});
for (const button of document.querySelectorAll("dialog [data-close]")) {
  button.addEventListener("click", () => button.closest("dialog").close());
}
document.getElementById("zoom-toggle").addEventListener("click", toggleActual);

// ---------------------------------------------------------------------------- catalogue
const fieldKey = (group, key) => `${group}\u0000${key}`;
const localized = (node, name) => (LANG === "en" ? node[name + "_en"] || node[name + "_zh"] : node[name + "_zh"] || node[name + "_en"]) || "";

async function buildFields(schema) {
  const box = document.getElementById("catalog-fields");
  let groups = [];
  try {
    groups = (await schema).body.items;
  } catch (error) {
    say(errorText(error), true);
  }
  let n = 0;
  for (const group of groups) {
    if (group.enabled === false) continue;
    const set = el("fieldset", { class: "field-group" }, el("legend", { text: localized(group, "name") }));
    for (const field of group.fields) {
      if (field.enabled === false) continue;
      set.append(fieldControl(group, field, `field-${++n}`));
    }
    box.append(set);
  }
  fieldsBuilt = true;
}

function fieldControl(group, field, cid) {
  const help = localized(field, "help");
  const data = { id: cid, name: cid, "data-group": group.key, "data-field": field.key, "data-kind": field.kind,
    "aria-describedby": `${cid}-error` + (help ? ` ${cid}-help` : ""), "aria-required": field.required ? "true" : undefined };
  let control;
  if (field.kind === "longtext") control = el("textarea", Object.assign({ rows: "4", maxlength: "20000" }, data));
  else if (field.kind === "choice" || field.kind === "multichoice") {
    const multiple = field.kind === "multichoice";
    control = el("select", Object.assign({ multiple, size: multiple ? String(Math.min(6, field.choices.length)) : undefined }, data));
    if (!multiple) control.append(el("option", { value: "", text: T["asset.not_set"] }));
    for (const choice of field.choices) control.append(el("option", { value: choice, text: choice }));
  } else if (field.kind === "number") {
    control = el("input", Object.assign({ type: "text", inputmode: "decimal", autocomplete: "off" }, data));
  } else if (field.kind === "date") {
    control = el("input", Object.assign({ type: "text", inputmode: "numeric", placeholder: T["asset.date_placeholder"], autocomplete: "off" }, data));
  } else {
    control = el("input", Object.assign({ type: "text", maxlength: "1000" }, data));
  }
  const label = el("label", { for: cid }, localized(field, "name"),
    field.required ? el("span", { class: "req", title: T["asset.required"] }, el("span", { "aria-hidden": "true", text: " *" }), el("span", { class: "visually-hidden", text: ` (${T["asset.required"]})` })) : null,
    field.kind === "multichoice" ? el("span", { class: "hint", text: ` ${T["asset.multi_hint"]}` }) : null);
  return el("div", { class: `field kind-${field.kind}`, "data-field-box": cid }, label, control,
    help ? el("p", { class: "help muted", id: `${cid}-help`, text: help }) : null,
    el("p", { class: "field-error", id: `${cid}-error`, hidden: true }));
}

function controls() {
  return [...document.querySelectorAll("#catalog-fields [data-group]")];
}

function readControl(control) {
  if (control.multiple) {
    const values = [...control.selectedOptions].map((o) => o.value);
    return values.length ? values : null;
  }
  const value = control.value.trim();
  if (value === "") return null;
  if (control.dataset.kind === "number" && value !== "" && Number.isFinite(Number(value))) return Number(value);
  return value;
}

function writeControl(control, value) {
  if (control.multiple) {
    const chosen = new Set(Array.isArray(value) ? value : value == null ? [] : [value]);
    for (const option of control.options) option.selected = chosen.has(option.value);
    return;
  }
  if (control.tagName === "SELECT" && value != null && ![...control.options].some((o) => o.value === String(value))) {
    control.append(el("option", { value: String(value), text: String(value) }));  // a value no longer in the list
  }
  control.value = value == null ? "" : String(value);
}

function fillForm() {
  if (!fieldsBuilt) return;
  document.getElementById("edit-title").value = asset.title;
  const category = document.getElementById("edit-category");
  if (category) writeControl(category, asset.category_id);
  original = {};
  for (const control of controls()) {
    const value = ((asset.metadata || {})[control.dataset.group] || {})[control.dataset.field];
    writeControl(control, value === undefined ? null : value);
    original[fieldKey(control.dataset.group, control.dataset.field)] = readControl(control);
  }
}

function lockForm() {
  const editable = EDIT_STATES.has(asset.status);
  for (const node of form.querySelectorAll("input, textarea, select, button")) node.disabled = !editable;
  const note = document.getElementById("catalog-note");
  note.hidden = editable;
  note.textContent = editable ? "" : T["asset.read_only_here"];
}

const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

function validDate(value) {
  if (!DATE.test(value)) return false;
  const [y, m = 1, d = 1] = value.split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** What is wrong with a control's value before it is sent (null: nothing). */
function checkControl(control) {
  const raw = control.multiple ? "" : control.value.trim();
  if (control.dataset.kind === "number" && raw && !Number.isFinite(Number(raw))) return T["asset.field_error.number"];
  if (control.dataset.kind === "date" && raw && !validDate(raw)) return T["asset.field_error.date"];
  return null;
}

function serverProblem(control, message) {
  if (control && control.id === "edit-category") return T["asset.field_error.category"];
  const kind = control ? control.dataset.kind : "text";
  if (/required/.test(message)) return T["asset.field_error.required"];
  if (/longer than/.test(message)) return T["asset.field_error.too_long"];
  if (/disabled/.test(message)) return T["asset.field_error.disabled"];
  if (/at least 1 character|too_short|should have at least/.test(message)) return T["asset.field_error.required"];
  if (kind === "number") return T["asset.field_error.number"];
  if (kind === "date") return T["asset.field_error.date"];
  if (kind === "choice" || kind === "multichoice") return T["asset.field_error.choice"];
  return T["asset.field_error.text"];
}

function controlFor(where) {
  if (where === "title") return document.getElementById("edit-title");
  if (where === "category_id") return document.getElementById("edit-category");
  const [prefix, group, ...rest] = where.split(".");
  if (prefix !== "metadata") return null;
  return controls().find((c) => c.dataset.group === group && c.dataset.field === rest.join(".")) || null;
}

function showError(control, message) {
  const box = document.getElementById(`${control.id}-error`);
  control.setAttribute("aria-invalid", "true");
  if (box) {
    box.textContent = message;
    box.hidden = false;
  }
}

function clearErrors() {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const box of form.querySelectorAll(".field-error")) { box.hidden = true; box.textContent = ""; }
}

function showServerErrors(fields, error) {
  const message = (error.body && error.body.error && error.body.error.message) || "";
  let first = null;
  for (const where of fields) {
    const control = controlFor(where);
    if (!control) continue;
    showError(control, /fill in the required/.test(message) ? T["asset.field_error.required"] : serverProblem(control, message));
    first = first || control;
  }
  if (first) first.focus();
  return first;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const status = document.getElementById("save-status");
  const metadata = {};
  const problems = [];
  for (const control of controls()) {
    const problem = checkControl(control);
    if (problem) { showError(control, problem); problems.push(control); continue; }
    const value = readControl(control);
    const key = fieldKey(control.dataset.group, control.dataset.field);
    if (JSON.stringify(value) === JSON.stringify(original[key] === undefined ? null : original[key])) continue;
    (metadata[control.dataset.group] ||= {})[control.dataset.field] = value;  // null clears
  }
  const title = document.getElementById("edit-title").value.trim();
  if (!title) { showError(document.getElementById("edit-title"), T["asset.field_error.required"]); problems.push(document.getElementById("edit-title")); }
  if (problems.length) {
    problems[0].focus();
    status.textContent = t("asset.fix_fields").replace("{n}", problems.length);
    return;
  }
  const body = {};
  if (title !== asset.title) body.title = title;
  const category = document.getElementById("edit-category");
  if (category && (Number(category.value) || null) !== (asset.category_id || null)) body.category_id = Number(category.value) || null;
  if (Object.keys(metadata).length) body.metadata = metadata;
  if (!Object.keys(body).length) { status.textContent = T["asset.no_changes"]; return; }
  status.textContent = T["asset.saving"];
  try {
    asset = (await api(`/api/v1/assets/${id}`, { method: "PATCH", json: body })).body;
    status.textContent = T["asset.saved"];
    say(T["asset.saved"]);
    await render();
    fillForm();
  } catch (error) {
    status.textContent = errorText(error);
    const where = error.body && error.body.error && (error.body.error.field
      || ((error.body.error.details || [])[0] || {}).field);
    const fields = (error.body && error.body.error && error.body.error.details || []).map((d) => d.field);
    if (where) fields.unshift(where);
    if (error.code === "category_not_allowed") fields.unshift("category_id");
    if (!((error.status === 422 || error.code === "category_not_allowed") && showServerErrors(fields, error))) say(errorText(error), true);
  }
});

// ---------------------------------------------------------------------------- start
async function start() {
  // The asset, its type's catalogue schema and the level names, fetched at once.
  const schema = api(`/api/v1/catalog-fields?type=${root.dataset.type}`);
  schema.catch(() => {});
  const [names, loaded] = await Promise.all([levelNames(), api(`/api/v1/assets/${id}`)]);
  levels = names;
  asset = loaded.body;
  await render();
  if (asset.category_id && !document.getElementById("edit-category")) {
    api(`/api/v1/categories/${asset.category_id}`).then((r) => { categoryName = r.body.name; renderFacts(); }).catch(() => {});
  }
  await buildFields(schema);
  fillForm();
  lockForm();
}

start().catch((error) => say(errorText(error), true));
