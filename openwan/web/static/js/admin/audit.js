// The audit log: who did what to which object, when; filtered by who, action, object (an
// asset, a category, ...) and a date range; paged, newest first; each entry's before/after.
import { api, el, formatDate, t } from "../common.js";
import { cell, nextId, pager, sectionMessage, table } from "./ui.js";

const SIZE = 50;
const TARGETS = ["asset", "user", "group", "role", "permission", "level", "category", "catalog_field", "api_token"];
let root;
const failed = (error) => sectionMessage(root).show(error);
let form;
let page = 1;

/** "category.update" → "Category · changed" in the UI's language (the code stays as a title). */
export function actionLabel(action) {
  const [object, verb] = action.split(/\.(.*)/s);
  const o = t("adm.obj_" + object, object);
  const v = verb ? t("adm.verb_" + verb, verb) : "";
  return v ? `${o} · ${v}` : o;
}

function input(name, label, attrs = {}, help) {
  const id = nextId("audit");
  const described = help ? id + "-hint" : undefined;
  const control = attrs.options
    ? el("select", { id, name }, ...attrs.options)
    : el("input", Object.assign({ id, name, type: "text", autocomplete: "off", "aria-describedby": described }, attrs));
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control,
    help ? el("span", { class: "hint muted", id: described, text: help }) : null);
}

export async function mount(body) {
  root = body;
  const actions = (await api("/api/v1/audit/actions")).body;
  const option = (value, text) => el("option", { value, text });
  form = el("form", { class: "filters", "aria-label": t("adm.audit_filters") },
    input("actor", t("adm.audit_who"), { maxlength: 64 }, t("adm.audit_who_help")),
    input("action", t("adm.audit_action"), { options: [option("", t("adm.any")),
      ...[...new Set(actions.map((a) => a.split(".")[0]))].map((o) => option(o + ".", `${t("adm.obj_" + o, o)} · ${t("adm.any")}`)),
      ...actions.map((a) => option(a, actionLabel(a)))] }),
    input("target_type", t("adm.audit_object"), { options: [option("", t("adm.any")), ...TARGETS.map((o) => option(o, t("adm.obj_" + o, o)))] }),
    input("target_id", t("adm.audit_object_id"), { maxlength: 64, inputmode: "numeric" }),
    input("from", t("adm.audit_from"), { type: "date" }),
    input("to", t("adm.audit_to"), { type: "date" }),
    input("success", t("adm.audit_outcome"), { options: [option("", t("adm.any")), option("true", t("adm.ok")), option("false", t("adm.failed"))] }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: t("adm.apply") }),
      el("button", { type: "reset", class: "secondary", text: t("adm.clear") })));
  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; load().catch(failed); });
  form.addEventListener("reset", () => setTimeout(() => { page = 1; load().catch(failed); }));
  body.append(form, el("div", { class: "audit-list", "aria-live": "polite" }));
  await load();
}

function query() {
  const data = new FormData(form);
  const params = new URLSearchParams({ page, size: SIZE });
  for (const key of ["actor", "action", "target_type", "target_id", "success"]) {
    const value = String(data.get(key) || "").trim();
    if (value) params.set(key, value);
  }
  // Dates are the user's local days: from the start of "from" to the end of "to".
  const from = data.get("from");
  const to = data.get("to");
  if (from) params.set("from", new Date(from + "T00:00:00").toISOString());
  if (to) {
    const end = new Date(to + "T00:00:00");
    end.setDate(end.getDate() + 1);
    params.set("to", end.toISOString());
  }
  return params;
}

function detail(entry) {
  const keys = Object.keys(entry.detail || {});
  if (!keys.length) return "—";
  return el("details", {}, el("summary", { text: t("adm.audit_detail") }),
    el("pre", { text: JSON.stringify(entry.detail, null, 2) }));
}

function target(entry) {
  if (!entry.target_type) return "—";
  const text = `${t("adm.obj_" + entry.target_type, entry.target_type)} ${entry.target_id || ""}`;
  return entry.target_type === "asset" && entry.target_id
    ? el("a", { href: `/assets/${encodeURIComponent(entry.target_id)}`, text }) : text;
}

let latest = 0;

async function load() {
  const mine = ++latest;
  const result = (await api("/api/v1/audit?" + query())).body;
  if (mine !== latest) return;  // a newer filter was asked for meanwhile
  sectionMessage(root).clear();
  const rows = result.items.map((e) => el("tr", { "data-action": e.action },
    cell(el("time", { datetime: e.at, text: formatDate(e.at) })),
    cell(e.actor || "—"),
    cell(el("span", { title: e.action, text: actionLabel(e.action) })),
    cell(target(e)),
    cell(e.success ? t("adm.ok") : el("span", { class: "error", text: t("adm.failed") })),
    cell(e.ip || "—"),
    cell(detail(e))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "muted", text: t("adm.none") })));
  root.querySelector(".audit-list").replaceChildren(
    table(t("adm.audit"), [t("adm.audit_when"), t("adm.audit_who"), t("adm.audit_action"), t("adm.audit_object"),
      t("adm.audit_outcome"), t("adm.audit_ip"), t("adm.audit_detail")], rows),
    pager(page, SIZE, result.total, (p) => { page = p; load().catch(failed); }));
}
