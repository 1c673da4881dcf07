// Upload: resumable (tus) uploads of many files.
import { T, api, el, bytes, errorText } from "./common.js";

const CHUNK = 8 * 1024 * 1024;

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

const input = document.getElementById("files");
input.addEventListener("change", async () => {
  for (const file of input.files) {
    const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": file.name });
    const state = el("span", { class: "muted", text: bytes(file.size) });
    const row = el("li", { "data-name": file.name }, el("span", { text: file.name }), bar, state);
    document.getElementById("uploads").append(row);
    try {
      const id = await tusUpload(file, (done) => { bar.value = done; });
      state.replaceChildren(el("a", { href: `/assets/${id}`, text: T.done || "done" }));
      row.dataset.assetId = id;
    } catch (error) {
      const existing = error.body && error.body.error && error.body.error.asset_id;
      state.textContent = existing ? `${T.duplicate || "duplicate"} #${existing}` : `${T.failed || "failed"}: ${errorText(error)}`;
      state.className = "error";
    }
  }
  input.value = "";
});
