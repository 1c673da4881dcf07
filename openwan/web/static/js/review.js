// The review queue.
import { T, api, el, say, errorText } from "./common.js";

const list = document.getElementById("review-list");

async function load() {
  const result = (await api("/api/v1/assets?status=pending&size=100")).body;
  list.replaceChildren();
  if (!result.items.length) list.append(el("li", { class: "muted", text: T.no_results }));
  for (const asset of result.items) {
    const level = el("select", { "aria-label": T.level }, ...[1, 2, 3, 4, 5].map((n) => el("option", { value: String(n), text: String(n) })));
    const decide = (path, body) => async () => {
      try { await api(`/api/v1/assets/${asset.id}/${path}`, { method: "POST", json: body() }); load(); }
      catch (error) { say(errorText(error), true); }
    };
    list.append(el("li", { "data-id": asset.id }, el("a", { href: `/assets/${asset.id}`, text: asset.title }), level,
      el("button", { text: T.approve, onclick: decide("approve", () => ({ level: Number(level.value), groups: "all", download: true })) }),
      el("button", { class: "secondary", text: T.reject, onclick: decide("reject", () => ({ comment: prompt(T.comment) || "" })) })));
  }
}

load().catch((error) => say(errorText(error), true));
