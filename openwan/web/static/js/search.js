// Search and browse: the address bar holds the state (q, filters, sort, page), so a link can be
// shared and back/forward walk through earlier searches.
import { T, t, LANG, api, el, say, errorText, typeLabel, statusLabel, duration } from "./common.js";
import { levelNames, loadScrub } from "./browse-kit.js";

const SIZE = 24;
// The query string's names the page understands (the API's own).
const KEYS = ["q", "type", "category_id", "level", "from", "to", "sort", "page"];
const form = document.getElementById("search-form");
const results = document.getElementById("results");
let levels = {};
let running = 0;

function stateFromUrl() {
  const url = new URLSearchParams(location.search);
  const state = {};
  for (const key of KEYS) {
    const value = url.get(key);
    if (value !== null && value !== "") state[key] = value;
  }
  return state;
}

function urlOf(state) {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    if (state[key] !== undefined && state[key] !== "" && !(key === "page" && state[key] === "1")
        && !(key === "sort" && state[key] === "relevance")) params.set(key, state[key]);
  }
  const query = params.toString();
  return "/search" + (query ? "?" + query : "");
}

/** The state with ``changes`` applied (undefined removes a key); any change but the page's
 * goes back to page 1. */
function changed(state, changes) {
  const next = Object.assign({}, state, changes);
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete next[key];
  if (!("page" in changes)) delete next.page;
  return next;
}

function go(state, fromLink) {
  history.pushState(null, "", urlOf(state));
  run(state);
  if (fromLink) {
    // The link clicked is replaced: the reader goes on from the results' summary.
    const total = document.getElementById("total");
    total.focus({ preventScroll: true });
    total.scrollIntoView({ block: "nearest" });
  }
}

function fillForm(state) {
  document.getElementById("q").value = state.q || "";
  document.getElementById("type").value = state.type || "";
  document.getElementById("sort").value = state.sort || "relevance";
}

/** A link to another state of the page: a real href (open in a new tab, share), followed
 * here without a reload. */
function stateLink(state, attrs, ...children) {
  return el("a", Object.assign({ href: urlOf(state), onclick: (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    go(state, true);
  } }, attrs), ...children);
}

async function run(state) {
  const ticket = ++running;
  fillForm(state);
  const params = new URLSearchParams();
  for (const key of KEYS) if (state[key]) params.set(key, state[key]);
  params.set("size", String(SIZE));
  document.getElementById("total").textContent = T.loading;
  results.setAttribute("aria-busy", "true");
  let result;
  try {
    result = (await api("/api/v1/search?" + params)).body;
  } catch (error) {
    if (ticket !== running) return;
    results.removeAttribute("aria-busy");
    document.getElementById("total").textContent = errorText(error);
    say(errorText(error), true);
    return;
  }
  await levelsReady;
  if (ticket !== running) return;  // a newer search answered first
  results.removeAttribute("aria-busy");
  const page = Number(state.page || 1);
  const pages = Math.max(1, Math.ceil(result.total / SIZE));
  renderTotal(result, page, pages);
  renderCards(result.items);
  renderFacets(state, result);
  renderActive(state, result);
  renderPager(state, page, pages);
  document.title = (state.q ? `${state.q} · ` : "") + `${T.search} · OpenWan`;
  keepLanguageLink();
}

/** The header's language link names this search too (the server wrote it for the first). */
function keepLanguageLink() {
  const link = document.querySelector("header a.lang");
  if (!link) return;
  const target = new URL(link.href, location.href);
  const params = new URLSearchParams(location.search);
  params.set("lang", target.searchParams.get("lang") || "");
  link.href = location.pathname + "?" + params;
}

function renderTotal(result, page, pages) {
  const count = result.total_exact ? String(result.total) : `${result.total}+`;
  let text = result.total ? t("search.results_count").replace("{n}", count) : T.no_results;
  if (pages > 1) text += " · " + t("search.page_of").replace("{page}", page).replace("{pages}", pages);
  document.getElementById("total").textContent = text;
}

function renderCards(items) {
  results.replaceChildren();
  if (!items.length) {
    results.append(el("li", { class: "empty muted", text: T.no_results_hint }));
    return;
  }
  for (const asset of items) results.append(card(asset));
}

function card(asset) {
  // The link is named by the title; what the picture says is repeated in the line below it.
  const thumb = el("div", { class: "thumb", "aria-hidden": "true" });
  const placeholder = el("span", { class: `placeholder type-${asset.type}`, text: typeLabel(asset.type) });
  thumb.append(placeholder);  // under the picture, seen until it loads or if it cannot
  if (asset.thumbnail_url) {
    const img = el("img", { src: asset.thumbnail_url, alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => img.remove());
    thumb.append(img);
  }
  const seconds = asset.technical && asset.technical.duration;
  if (seconds) thumb.append(el("span", { class: "badge", text: duration(seconds) }));
  if (asset.media_state !== "ready") thumb.append(el("span", { class: "badge state", text: t("media." + asset.media_state) }));
  if (asset.type === "video" && asset.media_state === "ready") scrubbable(thumb, asset.id);
  const meta = [typeLabel(asset.type)];
  if (asset.status !== "published") meta.push(statusLabel(asset.status));
  if (seconds) meta.push(duration(seconds));
  meta.push(new Date(asset.published_at || asset.created_at).toLocaleDateString(LANG === "zh" ? "zh-CN" : "en-GB"));
  return el("li", { "data-id": asset.id, class: "card-item" },
    el("a", { href: `/assets/${asset.id}`, class: "card-link" }, thumb,
      el("span", { class: "card-title", text: asset.title })),
    el("div", { class: "meta muted", text: meta.join(" · ") }));
}

/** Hover scrub: the pointer's place across the picture picks a tile of the video's sprite
 * (its WebVTT index says where each tile is). Loaded on the first hover only. */
function scrubbable(thumb, id) {
  let scrub = null;
  const layer = el("div", { class: "scrub", "aria-hidden": "true", hidden: true }, el("span", { class: "scrub-bar" }));
  thumb.append(layer);
  thumb.addEventListener("pointerenter", async () => {
    if (scrub === null) {
      scrub = loadScrub(id).catch(() => undefined);
    }
  });
  thumb.addEventListener("pointermove", async (event) => {
    const sheet = await scrub;
    if (!sheet || !sheet.cues.length) return;
    const box = thumb.getBoundingClientRect();
    const fraction = Math.min(0.999, Math.max(0, (event.clientX - box.left) / box.width));
    const cue = sheet.cues[Math.floor(fraction * sheet.cues.length)];
    const scale = box.width / cue.w;
    layer.hidden = false;
    layer.dataset.tile = String(sheet.cues.indexOf(cue));
    Object.assign(layer.style, {
      backgroundImage: `url("${sheet.image}")`,
      backgroundSize: `${sheet.width * scale}px ${sheet.height * scale}px`,
      backgroundPosition: `-${cue.x * scale}px -${cue.y * scale}px`,
      height: `${cue.h * scale}px`,
    });
    layer.firstChild.style.width = `${fraction * 100}%`;
  });
  thumb.addEventListener("pointerleave", () => { layer.hidden = true; });
}

function facetName(name, value, result) {
  if (name === "type") return typeLabel(value);
  if (name === "category") return (result.category_names || {})[value] || `#${value}`;
  if (name === "level") return levels[value] || `${T.level} ${value}`;
  return value;
}

function facetState(state, name, value) {
  if (name === "type") return changed(state, { type: state.type === value ? undefined : value });
  if (name === "category") return changed(state, { category_id: state.category_id === value ? undefined : value });
  if (name === "level") return changed(state, { level: state.level === value ? undefined : value });
  const on = state.from === value && state.to === value;
  return changed(state, { from: on ? undefined : value, to: on ? undefined : value });
}

function facetActive(state, name, value) {
  return (name === "type" && state.type === value) || (name === "category" && state.category_id === value)
    || (name === "level" && state.level === value) || (name === "year" && state.from === value && state.to === value);
}

function renderFacets(state, result) {
  const box = document.getElementById("facets");
  box.replaceChildren();
  for (const name of ["type", "category", "level", "year"]) {
    let entries = Object.entries((result.facets || {})[name] || {});
    if (!entries.length) continue;
    if (name === "year") entries.sort((a, b) => b[0].localeCompare(a[0]));
    const list = el("ul", { class: "facet-list" });
    for (const [value, count] of entries) {
      const active = facetActive(state, name, value);
      const label = facetName(name, value, result);
      list.append(el("li", {}, stateLink(facetState(state, name, value), {
        class: active ? "facet on" : "facet", "aria-current": active ? "true" : undefined, "data-facet": name, "data-value": value,
      }, el("span", { class: "facet-name", text: label }), el("span", { class: "count", text: String(count) }))));
    }
    const heading = el("h2", { id: `facet-${name}`, text: t("facet." + name) });
    box.append(el("section", { class: "facet-group", "aria-labelledby": `facet-${name}` }, heading, list));
  }
}

function renderActive(state, result) {
  const box = document.getElementById("active-filters");
  box.replaceChildren();
  const chips = [];
  if (state.type) chips.push([typeLabel(state.type), { type: undefined }]);
  if (state.category_id) chips.push([facetName("category", state.category_id, result), { category_id: undefined }]);
  if (state.level) chips.push([facetName("level", state.level, result), { level: undefined }]);
  if (state.from || state.to) {
    const span = state.from === state.to ? state.from : `${state.from || "…"} – ${state.to || "…"}`;
    chips.push([span, { from: undefined, to: undefined }]);
  }
  for (const [label, change] of chips) {
    box.append(stateLink(changed(state, change), { class: "chip", "aria-label": t("remove_filter").replace("{name}", label) },
      el("span", { text: label }), el("span", { "aria-hidden": "true", text: " ×" })));
  }
  if (chips.length > 1) box.append(stateLink(changed(state, { type: undefined, category_id: undefined, level: undefined, from: undefined, to: undefined }), { class: "chip clear", text: T.clear_filters }));
}

/** Pages as links: first, last, the current one and its neighbours, gaps shown as "…". */
function renderPager(state, page, pages) {
  const nav = document.getElementById("pager");
  nav.replaceChildren();
  nav.hidden = pages <= 1;
  if (pages <= 1) return;
  const list = el("ul", {});
  const at = (n) => changed(state, { page: String(n) });
  list.append(el("li", {}, page > 1 ? stateLink(at(page - 1), { rel: "prev", class: "step", text: T["search.previous"] })
    : el("span", { class: "step muted", "aria-disabled": "true", text: T["search.previous"] })));
  let last = 0;
  for (let n = 1; n <= pages; n++) {
    if (n !== 1 && n !== pages && Math.abs(n - page) > 2) continue;
    if (n - last > 1) list.append(el("li", { class: "gap", "aria-hidden": "true", text: "…" }));
    last = n;
    const label = t("search.page_n").replace("{n}", n);
    list.append(el("li", {}, n === page
      ? el("a", { href: urlOf(at(n)), "aria-current": "page", "aria-label": label, class: "on", text: String(n) })
      : stateLink(at(n), { "aria-label": label, text: String(n) })));
  }
  list.append(el("li", {}, page < pages ? stateLink(at(page + 1), { rel: "next", class: "step", text: T["search.next"] })
    : el("span", { class: "step muted", "aria-disabled": "true", text: T["search.next"] })));
  nav.append(list);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const state = stateFromUrl();
  go(changed(state, {
    q: document.getElementById("q").value.trim() || undefined,
    type: document.getElementById("type").value || undefined,
    sort: document.getElementById("sort").value,
  }));
});
for (const id of ["type", "sort"]) {
  document.getElementById(id).addEventListener("change", () => form.requestSubmit());
}
window.addEventListener("popstate", () => run(stateFromUrl()));

// Level names load beside the first search, not before it.
const levelsReady = levelNames().then((names) => { levels = names; });
run(stateFromUrl());
