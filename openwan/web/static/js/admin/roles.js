// Roles and the permissions each holds (built-in roles keep their names; ADMIN holds all).
import { api, el, say, t } from "../common.js";
import * as lookups from "./lookups.js";
import { actions, button, cell, confirmAction, openDialog, rowHead, sectionMessage, table, yesNo } from "./ui.js";

let root;

export async function mount(body) {
  root = body;
  body.append(el("div", { class: "toolbar" }, button(t("adm.role_new"), () => edit(null), "primary")),
    el("div", { class: "roles-list" }));
  await load();
}

async function load() {
  lookups.forget("roles");
  const roles = await lookups.roles();
  sectionMessage(root).clear();
  const rows = roles.map((r) => el("tr", { "data-role": r.name },
    rowHead(r.name),
    cell(r.description),
    cell(el("ul", { class: "tags" }, ...r.permissions.map((p) => el("li", { text: p })))),
    cell(yesNo(r.builtin)),
    cell(actions(
      button(t("adm.edit"), () => edit(r), "secondary", `${t("adm.edit")} ${r.name}`),
      r.builtin ? null : button(t("adm.delete"), () => remove(r), "danger", `${t("adm.delete")} ${r.name}`)))));
  root.querySelector(".roles-list").replaceChildren(table(t("adm.roles"),
    [t("adm.name"), t("adm.description"), t("adm.permissions"), t("adm.builtin"), t("adm.actions")], rows));
}

async function edit(role) {
  const permissions = await lookups.permissions();
  openDialog({
    title: role ? `${t("adm.role_edit")}: ${role.name}` : t("adm.role_new"),
    conflictField: "name",
    fields: [
      { name: "name", label: t("adm.name"), required: true, value: role ? role.name : "", readonly: role && role.builtin, maxlength: 256 },
      { name: "description", label: t("adm.description"), value: role ? role.description : "", maxlength: 500 },
      { name: "permissions", label: t("adm.permissions"), type: "checkboxes",
        options: (permissions || []).map((p) => ({ value: p.name, label: p.description ? `${p.name} — ${p.description}` : p.name })),
        value: role ? role.permissions : [] },
    ],
    submit: async (values) => {
      if (role) {
        const changes = { description: values.description };
        if (values.name !== role.name) changes.name = values.name;
        if (values.permissions.slice().sort().join() !== role.permissions.slice().sort().join()) changes.permissions = values.permissions;
        await api(`/api/v1/roles/${role.id}`, { method: "PATCH", json: changes });
      } else await api("/api/v1/roles", { method: "POST", json: values });
      await load();
    },
  });
}

function remove(role) {
  confirmAction(`${t("adm.delete")}: ${role.name}`, t("adm.role_delete_note"), async () => {
    await api(`/api/v1/roles/${role.id}`, { method: "DELETE" });
    say(t("adm.deleted"));
    await load();
  });
}
