// The recycle bin: deleted assets, restored or purged.
import { T, api, el, say, errorText, formatDate } from "./common.js";

const list = document.getElementById("bin-list");

async function load() {
  const result = (await api("/api/v1/assets?status=deleted&size=100")).body;
  list.replaceChildren();
  if (!result.items.length) list.append(el("li", { class: "muted", text: T.no_results }));
  for (const asset of result.items) {
    const restore = el("button", { class: "secondary", text: T.restore, onclick: async () => {
      try { await api(`/api/v1/assets/${asset.id}/restore`, { method: "POST" }); load(); }
      catch (error) { say(errorText(error), true); }
    } });
    list.append(el("li", { "data-id": asset.id }, el("span", { text: asset.title }),
      el("span", { class: "muted", text: formatDate(asset.updated_at) }), restore));
  }
}

load().catch((error) => say(errorText(error), true));
