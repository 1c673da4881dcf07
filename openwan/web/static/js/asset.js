// One asset: preview, facts, catalogue, workflow actions.
import { T, api, el, say, bytes, errorText, statusLabel, mediaLabel, formatDate } from "./common.js";

const id = document.getElementById("asset").dataset.id;

async function load() {
  const asset = (await api(`/api/v1/assets/${id}`)).body;
  document.getElementById("asset-title").textContent = asset.title;
  document.title = `${asset.title} · ${T.app}`;
  document.getElementById("edit-title").value = asset.title;
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  const rows = [[T.status, statusLabel(asset.status)], [T.media_state, mediaLabel(asset.media_state) + (asset.media_error ? ` (${asset.media_error})` : "")],
    [T.level, asset.level], [T.size, bytes(asset.size)], ["sha256", asset.sha256.slice(0, 16) + "…"],
    [T.uploaded, formatDate(asset.created_at)]];
  if (asset.review_comment) rows.push([T.comment, asset.review_comment]);
  for (const [k, v] of rows) facts.append(el("dt", { text: k }), el("dd", { text: String(v) }));
  const download = document.getElementById("download");
  download.href = `/api/v1/assets/${id}/original`;
  download.hidden = false;
  document.getElementById("technical").textContent = JSON.stringify(asset.technical, null, 2);
  renderCatalog(asset);
  renderActions(asset);
  renderPreview(asset);
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

function renderActions(asset) {
  const box = document.getElementById("actions");
  box.replaceChildren();
  const act = (label, path, body, method = "POST") => el("button", { class: "secondary", "data-action": path || method, text: label, onclick: async () => {
    try {
      await api(`/api/v1/assets/${asset.id}${path ? "/" + path : ""}`, { method, json: body ? body() : undefined });
      load();
    } catch (error) { say(errorText(error), true); }
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
  else box.append(el("p", { class: "muted", text: mediaLabel(asset.media_state) }));
}

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
  } catch (error) { say(errorText(error), true); }
});

load().catch((error) => say(errorText(error), true));
