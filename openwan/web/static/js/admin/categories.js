// The category tree: add, rename, move (a new parent), re-weight, disable, delete (assets
// moved to another category first when it holds any).
import { api, el, t } from "../common.js";
import * as lookups from "./lookups.js";
import { actions, button, cell, indent, openDialog, sectionMessage, table } from "./ui.js";

let root;
let flat = [];

export async function mount(body) {
  root = body;
  body.append(el("div", { class: "toolbar" }, button(t("adm.category_new"), () => edit(null, null), "primary")),
    el("p", { class: "muted", text: t("adm.category_note") }), el("div", { class: "categories-list" }));
  await load();
}

async function load() {
  lookups.forget("categories");
  flat = await lookups.categories();
  sectionMessage(root).clear();
  const rows = flat.map((c) => el("tr", { "data-category": c.name, class: c.enabled ? undefined : "off" },
    indent(el("th", { scope: "row" },
      c.depth ? el("span", { class: "muted", "aria-hidden": "true", text: "└ " }) : null, c.name), c.depth),
    cell(String(c.weight)),
    cell(c.enabled ? t("adm.enabled") : t("adm.disabled")),
    cell(actions(
      button(t("adm.category_add_below"), () => edit(null, c.id), "secondary", `${t("adm.category_add_below")} ${c.name}`),
      button(t("adm.edit"), () => edit(c, c.parent_id), "secondary", `${t("adm.edit")} ${c.name}`),
      button(t("adm.delete"), () => remove(c), "danger", `${t("adm.delete")} ${c.name}`)))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 4, class: "muted", text: t("adm.none") })));
  root.querySelector(".categories-list").replaceChildren(table(t("adm.categories"),
    [t("adm.name"), t("adm.weight"), t("status"), t("adm.actions")], rows));
}

function parentOptions(exclude) {
  // A category cannot move below itself: its own subtree is not offered.
  const options = flat.filter((c) => !exclude || !c.path.startsWith(exclude.path))
    .map((c) => ({ value: c.id, label: "\u00a0\u00a0".repeat(c.depth) + c.name }));
  return [{ value: "", label: t("adm.top_level") }, ...options];
}

function edit(category, parentId) {
  openDialog({
    title: category ? `${t("adm.category_edit")}: ${category.name}` : t("adm.category_new"),
    conflictField: "name",
    fields: [
      { name: "name", label: t("adm.name"), required: true, value: category ? category.name : "", maxlength: 255 },
      { name: "parent_id", label: t("adm.parent"), type: "select", numeric: true, options: parentOptions(category), value: parentId ?? "" },
      { name: "weight", label: t("adm.weight"), type: "number", step: 1, value: category ? category.weight : 0, help: t("adm.weight_help") },
      { name: "enabled", label: t("adm.enabled"), type: "checkbox", value: category ? category.enabled : true },
    ],
    submit: async (values) => {
      if (values.weight === null) values.weight = 0;
      if (category) {
        const changes = {};
        for (const key of ["name", "parent_id", "weight", "enabled"]) {
          if (values[key] !== category[key]) changes[key] = values[key];
        }
        await api(`/api/v1/categories/${category.id}`, { method: "PATCH", json: changes });
      } else await api("/api/v1/categories", { method: "POST", json: values });
      await load();
    },
  });
}

function remove(category) {
  const targets = flat.filter((c) => c.id !== category.id)
    .map((c) => ({ value: c.id, label: "\u00a0\u00a0".repeat(c.depth) + c.name }));
  openDialog({
    title: `${t("adm.delete")}: ${category.name}`,
    submitLabel: t("adm.delete"), danger: true,
    extra: el("p", { text: t("adm.category_delete_note") }),
    messages: { move_to: { not_empty: t("adm.category_holds_assets") } },
    fields: [{ name: "move_to", label: t("adm.move_assets_to"), type: "select", numeric: true,
      options: [{ value: "", label: t("adm.move_nowhere") }, ...targets], help: t("adm.move_assets_help") }],
    submit: async (values, { showError }) => {
      const query = values.move_to ? `?move_to=${values.move_to}` : "";
      try {
        await api(`/api/v1/categories/${category.id}${query}`, { method: "DELETE" });
      } catch (error) {
        // Assets but no target: ask for one beside the control. Subcategories: say so.
        const body = error.body && error.body.error;
        if (error.status === 409 && body && body.assets) {
          showError(error, t("adm.category_holds_n").replace("{n}", body.assets).replace("{name}", category.name), "move_to");
          return false;
        }
        if (error.status === 409) { showError(error, t("adm.category_has_children")); return false; }
        throw error;
      }
      await load();
    },
  });
}
