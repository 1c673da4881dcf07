// The permissions list: the built-in ones OpenWan checks, and custom ones for integrations.
import { api, el, say, t } from "../common.js";
import * as lookups from "./lookups.js";
import { actions, button, cell, confirmAction, openDialog, rowHead, sectionMessage, table, yesNo } from "./ui.js";

let root;

export async function mount(body) {
  root = body;
  body.append(el("div", { class: "toolbar" }, button(t("adm.permission_new"), () => edit(null), "primary")),
    el("div", { class: "permissions-list" }));
  await load();
}

async function load() {
  lookups.forget("permissions");
  const permissions = await lookups.permissions();
  sectionMessage(root).clear();
  const rows = permissions.map((p) => el("tr", { "data-permission": p.name },
    rowHead(p.name),
    cell(t("perm." + p.name, p.description)),
    cell(yesNo(p.builtin)),
    cell(actions(
      button(t("adm.edit"), () => edit(p), "secondary", `${t("adm.edit")} ${p.name}`),
      p.builtin ? null : button(t("adm.delete"), () => remove(p), "danger", `${t("adm.delete")} ${p.name}`)))));
  root.querySelector(".permissions-list").replaceChildren(table(t("adm.permissions"),
    [t("adm.name"), t("adm.description"), t("adm.builtin"), t("adm.actions")], rows));
}

function edit(permission) {
  openDialog({
    title: permission ? `${t("adm.permission_edit")}: ${permission.name}` : t("adm.permission_new"),
    conflictField: "name",
    messages: { name: { validation_error: t("adm.permission_rule") } },
    fields: [
      permission ? null : { name: "name", label: t("adm.name"), required: true, maxlength: 64, help: t("adm.permission_rule") },
      { name: "description", label: t("adm.description"), value: permission ? permission.description : "", maxlength: 500 },
    ],
    submit: async (values) => {
      if (permission) await api(`/api/v1/permissions/${permission.id}`, { method: "PATCH", json: values });
      else await api("/api/v1/permissions", { method: "POST", json: values });
      await load();
    },
  });
}

function remove(permission) {
  confirmAction(`${t("adm.delete")}: ${permission.name}`, t("adm.permission_delete_note"), async () => {
    await api(`/api/v1/permissions/${permission.id}`, { method: "DELETE" });
    say(t("adm.deleted"));
    await load();
  });
}
