// What the review queue and the recycle bin share: modal dialogs with their focus handled,
// previews from the renditions API, the bulk workflow endpoint and its per-id results.
import { api, el, errorText, levelName, typeLabel } from "./common.js";

/** ``text`` with ``{name}`` placeholders filled from ``values``. */

/**
 * Show a modal ``<dialog>`` holding a ``<form>``. ``submit()`` returns the dialog's answer, or
 * undefined to keep it open (a field to fix); Escape and the ``[data-cancel]`` button answer
 * null. Focus goes into the dialog and back to ``returnTo`` (else where it was) afterwards.
 */
export function ask(dialog, { submit, returnTo } = {}) {
  const form = dialog.querySelector("form");
  const cancelButton = dialog.querySelector("[data-cancel]");
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      if (cancelButton) cancelButton.removeEventListener("click", onCancel);
      dialog.close();
      const back = typeof returnTo === "function" ? returnTo() : returnTo;
      const target = back && back.isConnected ? back : opener;
      if (target && target.isConnected) target.focus();
      resolve(value);
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const value = submit ? await submit() : true;
      if (value !== undefined) finish(value);
    };
    const onCancel = (event) => { event.preventDefault(); finish(null); };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    if (cancelButton) cancelButton.addEventListener("click", onCancel);
    dialog.showModal();
    const first = dialog.querySelector("[autofocus]") || form.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
  });
}

/** A level's name in the page's language (the seeded levels carry Chinese names and English descriptions). */
export function levelLabel(level) {
  return `${level.id} · ${levelName(level)}`;
}

const RENDITION_ORDER = ["thumbnail", "poster", "waveform"];

/** Fill ``box`` with the asset's best small preview (thumbnail, poster, waveform), else its type. */
export async function preview(box, asset) {
  box.replaceChildren(el("span", { text: typeLabel(asset.type) }));
  let url = asset.poster_url || asset.thumbnail_url;
  if (!url) {
    try {
      const items = (await api(`/api/v1/assets/${asset.id}/renditions`)).body.items || [];
      const best = RENDITION_ORDER.map((kind) => items.find((r) => r.kind === kind)).find(Boolean);
      url = best && best.url;
    } catch { url = null; }
  }
  if (url) box.replaceChildren(el("img", { src: url, alt: "", loading: "lazy" }));
}

/** Run one workflow action on many assets; resolves with the endpoint's summary. */
export async function bulk(action, ids, extra = {}) {
  return (await api("/api/v1/assets/bulk", { method: "POST", json: Object.assign({ action, ids }, extra) })).body;
}

/** The reason of the first failure in a bulk answer, translated. */
export function firstFailure(result) {
  const failed = result.results.find((r) => !r.ok);
  if (!failed) return "";
  return errorText({ status: failed.status, body: { error: failed.error }, message: failed.error.message });
}

let names = null;

/** Category names by id (fetched once, when first asked for). */
export function categoryNames() {
  names = names || api("/api/v1/categories?flat=true")
    .then((answer) => new Map((answer.body.items || []).map((c) => [c.id, c.name])))
    .catch(() => new Map());
  return names;
}
