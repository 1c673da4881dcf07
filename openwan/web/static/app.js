// OpenWan web UI: small page scripts over the JSON API (same-origin cookie session + CSRF).
"use strict";

// The page's strings arrive as JSON data (no inline script: the CSP allows none).
const T = JSON.parse((document.getElementById("strings") || {}).textContent || "{}");
const CHUNK = 8 * 1024 * 1024;

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

function say(text, isError) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

async function api(path, options = {}) {
  const headers = Object.assign({ "X-CSRF-Token": cookie("openwan_csrf") }, options.headers || {});
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "same-origin" }));
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
  const text = await response.text();
  const body = text ? (() => { try { return JSON.parse(text); } catch { return text; } })() : null;
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    const error = new Error(message);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return { body, response };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// --- search -------------------------------------------------------------------------------
async function searchPage() {
  const form = document.getElementById("search-form");
  const run = async () => {
    const params = new URLSearchParams();
    const q = document.getElementById("q").value.trim();
    const type = document.getElementById("type").value;
    if (q) params.set("q", q);
    if (type) params.set("type", type);
    params.set("size", "48");
    let result;
    try {
      result = (await api("/api/v1/search?" + params)).body;
    } catch (error) {
      say(error.message, true);
      return;
    }
    document.getElementById("total").textContent = `${result.total} ${T.results || ""}`;
    const list = document.getElementById("results");
    list.replaceChildren();
    if (!result.items.length) list.append(el("li", { text: T.no_results || "—" }));
    for (const asset of result.items) {
      const thumb = asset.thumbnail_url ? el("img", { src: asset.thumbnail_url, alt: "" }) : el("div", { class: "muted", text: T[asset.type] || asset.type });
      list.append(el("li", { "data-id": asset.id }, thumb,
        el("a", { href: `/assets/${asset.id}`, text: asset.title }),
        el("div", { class: "muted", text: `${T[asset.type] || asset.type} · ${asset.status}` })));
    }
    const facets = document.getElementById("facets");
    facets.replaceChildren();
    for (const [name, counts] of Object.entries(result.facets || {})) {
      const parts = Object.entries(counts).map(([k, v]) => `${T[k] || k} ${v}`).join(" · ");
      facets.append(el("span", { text: `${T[name] || name}: ${parts}` }));
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  run();
}

// --- upload (tus, resumable) --------------------------------------------------------------
function tusMetadata(values) {
  const encode = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  return Object.entries(values).map(([k, v]) => `${k} ${encode(String(v))}`).join(",");
}

async function tusUpload(file, onProgress) {
  const tus = { "Tus-Resumable": "1.0.0" };
  const memory = `openwan-tus:${file.name}:${file.size}:${file.lastModified}`;
  let location = localStorage.getItem(memory);
  let offset = 0;
  if (location) {
    try {
      const head = await api(location, { method: "HEAD", headers: tus });
      offset = Number(head.response.headers.get("Upload-Offset"));
    } catch { location = null; }
  }
  if (!location) {
    const created = await api("/api/v1/uploads", { method: "POST", headers: Object.assign({
      "Upload-Length": String(file.size), "Upload-Metadata": tusMetadata({ filename: file.name }) }, tus) });
    location = created.response.headers.get("Location");
    localStorage.setItem(memory, location);
  }
  while (offset < file.size) {
    const chunk = file.slice(offset, offset + CHUNK);
    const sent = await api(location, { method: "PATCH", body: chunk, headers: Object.assign({
      "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset) }, tus) });
    offset = Number(sent.response.headers.get("Upload-Offset"));
    onProgress(offset);
  }
  localStorage.removeItem(memory);
  return (await api(location)).body.asset_id;
}

function uploadPage() {
  const input = document.getElementById("files");
  input.addEventListener("change", async () => {
    for (const file of input.files) {
      const bar = el("progress", { max: String(file.size || 1), value: "0" });
      const state = el("span", { class: "muted", text: bytes(file.size) });
      const row = el("li", { "data-name": file.name }, el("span", { text: file.name }), bar, state);
      document.getElementById("uploads").append(row);
      try {
        const id = await tusUpload(file, (done) => { bar.value = done; });
        state.replaceChildren(el("a", { href: `/assets/${id}`, text: T.done || "done" }));
        row.dataset.assetId = id;
      } catch (error) {
        const existing = error.body && error.body.error && error.body.error.asset_id;
        state.textContent = existing ? `${T.duplicate || "duplicate"} #${existing}` : `${T.failed || "failed"}: ${error.message}`;
        state.className = "error";
      }
    }
    input.value = "";
  });
}

// --- one asset ----------------------------------------------------------------------------
async function assetPage() {
  const id = document.getElementById("asset").dataset.id;
  const load = async () => {
    const asset = (await api(`/api/v1/assets/${id}`)).body;
    document.getElementById("asset-title").textContent = asset.title;
    document.getElementById("edit-title").value = asset.title;
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    const rows = [[T.status, asset.status], [T.media_state, asset.media_state + (asset.media_error ? ` (${asset.media_error})` : "")],
      [T.level, asset.level], [T.size, bytes(asset.size)], ["sha256", asset.sha256.slice(0, 16) + "…"],
      [T.uploaded, new Date(asset.created_at).toLocaleString()]];
    if (asset.review_comment) rows.push([T.comment, asset.review_comment]);
    for (const [k, v] of rows) facts.append(el("dt", { text: k }), el("dd", { text: String(v) }));
    const download = document.getElementById("download");
    download.href = `/api/v1/assets/${id}/original`;
    download.hidden = false;
    document.getElementById("technical").textContent = JSON.stringify(asset.technical, null, 2);
    renderCatalog(asset);
    renderActions(asset, load);
    renderPreview(asset);
  };
  document.getElementById("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const metadata = {};
    for (const input of document.querySelectorAll("[data-group]")) {
      if (input.value === "") continue;
      (metadata[input.dataset.group] ||= {})[input.dataset.field] = input.value;
    }
    try {
      await api(`/api/v1/assets/${id}`, { method: "PATCH", json: { title: document.getElementById("edit-title").value, metadata } });
      say(T.done || "saved");
      load();
    } catch (error) { say(error.message, true); }
  });
  load().catch((error) => say(error.message, true));
}

function renderCatalog(asset) {
  const box = document.getElementById("catalog-fields");
  box.replaceChildren();
  for (const [group, fields] of Object.entries(asset.metadata || {})) {
    for (const [field, value] of Object.entries(fields)) {
      box.append(el("label", { text: `${group} · ${field}` },
        el("input", { value: Array.isArray(value) ? value.join(", ") : String(value), "data-group": group, "data-field": field })));
    }
  }
}

function renderActions(asset, reload) {
  const box = document.getElementById("actions");
  box.replaceChildren();
  const act = (label, path, body, method = "POST") => el("button", { class: "secondary", "data-action": path || method, text: label, onclick: async () => {
    try {
      await api(`/api/v1/assets/${asset.id}${path ? "/" + path : ""}`, { method, json: body ? body() : undefined });
      reload();
    } catch (error) { say(error.message, true); }
  } });
  if (["new", "rejected"].includes(asset.status)) box.append(act(T.submit, "submit"));
  if (asset.status === "pending") {
    box.append(act(T.approve, "approve", () => ({ level: asset.level || 1, groups: "all", download: true })));
    box.append(act(T.reject, "reject", () => ({ comment: prompt(T.comment) || "" })));
  }
  if (asset.status === "deleted") box.append(act(T.restore, "restore"));
  else box.append(act(T.delete, "", null, "DELETE"));
}

async function renderPreview(asset) {
  const box = document.getElementById("preview");
  box.replaceChildren();
  let items = [];
  try { items = (await api(`/api/v1/assets/${asset.id}/renditions`)).body.items; } catch { /* not ready */ }
  const find = (kind) => items.find((r) => r.kind === kind);
  const preview = find("preview");
  const poster = find("poster") || find("thumbnail");
  if (asset.type === "video" && preview) box.append(el("video", { src: preview.url, controls: "", poster: poster ? poster.url : "" }));
  else if (asset.type === "audio" && preview) box.append(el("audio", { src: preview.url, controls: "" }));
  else if (preview || poster) box.append(el("img", { src: (preview || poster).url, alt: asset.title }));
  else if (asset.type === "image") box.append(el("img", { src: `/api/v1/assets/${asset.id}/original`, alt: asset.title }));
  else box.append(el("p", { class: "muted", text: asset.media_state }));
}

// --- review -------------------------------------------------------------------------------
async function reviewPage() {
  const list = document.getElementById("review-list");
  const load = async () => {
    const result = (await api("/api/v1/assets?status=pending&size=100")).body;
    list.replaceChildren();
    if (!result.items.length) list.append(el("li", { class: "muted", text: T.no_results }));
    for (const asset of result.items) {
      const level = el("select", {}, ...[1, 2, 3, 4, 5].map((n) => el("option", { value: String(n), text: String(n) })));
      const decide = (path, body) => async () => {
        try { await api(`/api/v1/assets/${asset.id}/${path}`, { method: "POST", json: body() }); load(); }
        catch (error) { say(error.message, true); }
      };
      list.append(el("li", { "data-id": asset.id }, el("a", { href: `/assets/${asset.id}`, text: asset.title }), level,
        el("button", { text: T.approve, onclick: decide("approve", () => ({ level: Number(level.value), groups: "all", download: true })) }),
        el("button", { class: "secondary", text: T.reject, onclick: decide("reject", () => ({ comment: prompt(T.comment) || "" })) })));
    }
  };
  load().catch((error) => say(error.message, true));
}

// --- administration -----------------------------------------------------------------------
async function adminPage() {
  const fill = async (id, path, label) => {
    const list = document.getElementById(id);
    try {
      const body = (await api(path)).body;
      const items = Array.isArray(body) ? body : body.items;
      for (const item of items) list.append(el("li", { text: label(item) }));
    } catch (error) { list.append(el("li", { class: "error", text: error.message })); }
  };
  fill("admin-users", "/api/v1/users", (u) => `${u.username} · ${u.display_name || ""} · L${u.level}`);
  fill("admin-groups", "/api/v1/groups", (g) => g.name);
  fill("admin-categories", "/api/v1/categories", (c) => c.name);
}

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout-form");
  if (logout) logout.addEventListener("submit", async (event) => {
    event.preventDefault();
    await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": cookie("openwan_csrf") }, credentials: "same-origin" });
    location.href = "/login";
  });
  const pages = { search: searchPage, upload: uploadPage, asset: assetPage, review: reviewPage, admin: adminPage };
  const page = pages[document.body.dataset.page];
  if (page) page();
});
