// Groups: their roles and the categories they see (all, or chosen from the tree), quota.
import { api, bytes, el, say, t } from "../common.js";
import * as lookups from "./lookups.js";
import { actions, button, cell, confirmAction, openDialog, rowHead, sectionMessage, table } from "./ui.js";

const GB = 1024 ** 3;
let root;

export async function mount(body) {
  root = body;
  body.append(el("div", { class: "toolbar" }, button(t("adm.group_new"), () => edit(null), "primary")),
    el("div", { class: "groups-list" }));
  await load();
}

async function load() {
  lookups.forget("groups");
  const [groups, categories] = await Promise.all([lookups.groups(), lookups.categories()]);
  sectionMessage(root).clear();
  const categoryName = (id) => ((categories || []).find((c) => c.id === id) || { name: "#" + id }).name;
  const rows = groups.map((g) => el("tr", { "data-group": g.name },
    rowHead(g.name),
    cell(g.description),
    cell(g.roles.join(", ")),
    cell(g.categories === "all" ? t("adm.all_categories") : g.categories.map(categoryName).join(", ") || "—"),
    cell(String(g.members)),
    cell(g.quota_bytes === null ? t("adm.unlimited") : bytes(g.quota_bytes)),
    cell(actions(
      button(t("adm.edit"), () => edit(g), "secondary", `${t("adm.edit")} ${g.name}`),
      button(t("adm.delete"), () => remove(g), "danger", `${t("adm.delete")} ${g.name}`)))));
  root.querySelector(".groups-list").replaceChildren(table(t("adm.groups"),
    [t("adm.name"), t("adm.description"), t("adm.roles"), t("adm.categories"), t("adm.members"), t("adm.quota"), t("adm.actions")], rows));
}

async function edit(group) {
  const [roles, categories] = await Promise.all([lookups.roles(), lookups.categories()]);
  const all = group ? group.categories === "all" : false;
  const chosen = group && group.categories !== "all" ? group.categories : [];
  openDialog({
    title: group ? `${t("adm.group_edit")}: ${group.name}` : t("adm.group_new"),
    conflictField: "name",
    fields: [
      { name: "name", label: t("adm.name"), required: true, value: group ? group.name : "", maxlength: 256 },
      { name: "description", label: t("adm.description"), value: group ? group.description : "", maxlength: 500 },
      roles ? { name: "roles", label: t("adm.roles"), type: "checkboxes",
        options: roles.map((r) => ({ value: r.name, label: r.description ? `${r.name} — ${r.description}` : r.name })),
        value: group ? group.roles : [] } : { name: "roles", label: t("adm.roles"), value: group ? group.roles.join(", ") : "", help: t("adm.comma_list") },
      { name: "scope", label: t("adm.categories"), type: "radios", value: all ? "all" : "chosen",
        options: [{ value: "all", label: t("adm.all_categories") }, { value: "chosen", label: t("adm.chosen_categories") }], aliases: ["categories"] },
      { name: "categories", label: t("adm.chosen_categories"), type: "checkboxes", numeric: true,
        help: t("adm.subtree_note"),
        options: (categories || []).map((c) => ({ value: c.id, label: c.name, depth: c.depth })), value: chosen },
      { name: "quota_gb", label: t("adm.quota_gb"), type: "number", min: 0, step: "any", help: t("adm.quota_help"),
        value: group && group.quota_bytes !== null ? +(group.quota_bytes / GB).toFixed(3) : "", aliases: ["quota_bytes"] },
    ],
    submit: async (values) => {
      const body = {
        name: values.name, description: values.description,
        roles: Array.isArray(values.roles) ? values.roles : values.roles.split(",").map((r) => r.trim()).filter(Boolean),
        categories: values.scope === "all" ? "all" : values.categories,
        quota_bytes: values.quota_gb === null ? null : Math.round(values.quota_gb * GB),
      };
      if (group) await api(`/api/v1/groups/${group.id}`, { method: "PATCH", json: body });
      else await api("/api/v1/groups", { method: "POST", json: body });
      await load();
    },
  });
}

function remove(group) {
  confirmAction(`${t("adm.delete")}: ${group.name}`, t("adm.group_delete_note"), async () => {
    await api(`/api/v1/groups/${group.id}`, { method: "DELETE" });
    say(t("adm.deleted"));
    await load();
  });
}
