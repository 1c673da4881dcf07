// Search and browse.
import { T, api, el, say, errorText, typeLabel, statusLabel } from "./common.js";

async function run() {
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
    say(errorText(error), true);
    return;
  }
  document.getElementById("total").textContent = `${result.total} ${T.results || ""}`;
  const list = document.getElementById("results");
  list.replaceChildren();
  if (!result.items.length) list.append(el("li", { text: T.no_results || "—" }));
  for (const asset of result.items) {
    const thumb = asset.thumbnail_url ? el("img", { src: asset.thumbnail_url, alt: "" }) : el("div", { class: "muted", text: typeLabel(asset.type) });
    list.append(el("li", { "data-id": asset.id }, thumb,
      el("a", { href: `/assets/${asset.id}`, text: asset.title }),
      el("div", { class: "muted", text: `${typeLabel(asset.type)} · ${statusLabel(asset.status)}` })));
  }
  const facets = document.getElementById("facets");
  facets.replaceChildren();
  for (const [name, counts] of Object.entries(result.facets || {})) {
    const parts = Object.entries(counts).map(([k, v]) => `${T[k] || k} ${v}`).join(" · ");
    facets.append(el("span", { text: `${T[name] || name}: ${parts}` }));
  }
}

document.getElementById("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
run();
