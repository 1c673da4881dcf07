// Levels (clearances): a number, a name as the archive calls it, enabled or not.
import { api, el, say, t } from "../common.js";
import * as lookups from "./lookups.js";
import { actions, button, cell, confirmAction, openDialog, rowHead, sectionMessage, table } from "./ui.js";

let root;

export async function mount(body) {
  root = body;
  body.append(el("div", { class: "toolbar" }, button(t("adm.level_new"), () => edit(null), "primary")),
    el("div", { class: "levels-list" }));
  await load();
}

async function load() {
  lookups.forget("levels");
  const levels = await lookups.levels();
  sectionMessage(root).clear();
  const rows = levels.map((l) => el("tr", { "data-level": String(l.id) },
    rowHead(String(l.id)),
    cell(l.name),
    cell(l.description),
    cell(l.enabled ? t("adm.enabled") : t("adm.disabled")),
    cell(actions(
      button(t("adm.edit"), () => edit(l), "secondary", `${t("adm.edit")} ${l.name}`),
      button(t("adm.delete"), () => remove(l), "danger", `${t("adm.delete")} ${l.name}`)))));
  root.querySelector(".levels-list").replaceChildren(table(t("adm.levels"),
    [t("adm.clearance"), t("adm.name"), t("adm.description"), t("status"), t("adm.actions")], rows));
}

function edit(level) {
  openDialog({
    title: level ? `${t("adm.level_edit")}: ${level.name}` : t("adm.level_new"),
    conflictField: "id",
    messages: { id: { conflict: t("adm.level_taken") } },
    fields: [
      { name: "id", label: t("adm.clearance"), type: "number", min: 1, max: 1000, required: true,
        value: level ? level.id : "", readonly: !!level, help: t("adm.clearance_help") },
      { name: "name", label: t("adm.name"), required: true, value: level ? level.name : "", maxlength: 64 },
      { name: "description", label: t("adm.description"), value: level ? level.description : "", maxlength: 500 },
      { name: "enabled", label: t("adm.enabled"), type: "checkbox", value: level ? level.enabled : true },
    ],
    submit: async (values) => {
      if (level) {
        delete values.id;
        await api(`/api/v1/levels/${level.id}`, { method: "PATCH", json: values });
      } else await api("/api/v1/levels", { method: "POST", json: values });
      await load();
    },
  });
}

function remove(level) {
  confirmAction(`${t("adm.delete")}: ${level.name}`, t("adm.level_delete_note"), async () => {
    await api(`/api/v1/levels/${level.id}`, { method: "DELETE" });
    say(t("adm.deleted"));
    await load();
  });
}
