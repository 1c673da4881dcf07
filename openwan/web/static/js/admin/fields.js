// Catalogue fields per media type: groups of typed fields (text, longtext, number, date,
// choice, multichoice) with names in both languages, help, required flag and choices. Keys
// never change (stored metadata uses them); a field with values is archived, not deleted.
import { LANG, api, el, t, typeLabel } from "../common.js";
import { act, actions, button, cell, openDialog, rowHead, sectionMessage, table, yesNo } from "./ui.js";

const TYPES = ["video", "audio", "image", "document"];
const KINDS = ["text", "longtext", "number", "date", "choice", "multichoice"];
let root;
const failed = (error) => sectionMessage(root).show(error);
let type = "video";

const nameOf = (node) => (LANG === "en" && node.name_en) || node.name_zh;
const kindLabel = (kind) => t("adm.kind_" + kind, kind);

export async function mount(body) {
  root = body;
  const select = el("select", { id: "fields-type", name: "type" },
    ...TYPES.map((k) => el("option", { value: k, text: typeLabel(k) })));
  select.addEventListener("change", () => { type = select.value; load().catch(failed); });
  body.append(el("div", { class: "toolbar" },
    el("label", { for: "fields-type", text: t("adm.media_type") }), select,
    button(t("adm.group_field_new"), () => editGroup(null), "primary")),
  el("div", { class: "fields-list" }));
  await load();
}

async function load() {
  const groups = (await api(`/api/v1/catalog-fields?type=${type}&include_archived=true`)).body.items;
  sectionMessage(root).clear();
  const blocks = groups.map((g) => {
    const rows = g.fields.map((f) => el("tr", { "data-field": f.key, class: f.enabled ? undefined : "off" },
      rowHead(nameOf(f)),
      cell(el("code", { text: f.key })),
      cell(kindLabel(f.kind)),
      cell(yesNo(f.required)),
      cell(f.choices.join(" / ") || "—"),
      cell(f.archived ? t("adm.archived") : f.enabled ? t("adm.enabled") : t("adm.disabled")),
      cell(actions(
        button(t("adm.edit"), () => editField(f, g), "secondary", `${t("adm.edit")} ${nameOf(f)}`),
        f.archived ? button(t("adm.unarchive"), () => act(root,
          () => api(`/api/v1/catalog-fields/${f.id}`, { method: "PATCH", json: { archived: false } }), load),
        "secondary", `${t("adm.unarchive")} ${nameOf(f)}`) : button(f.enabled ? t("adm.disable") : t("adm.enable"), () => act(root,
          () => api(`/api/v1/catalog-fields/${f.id}`, { method: "PATCH", json: { enabled: !f.enabled } }), load),
        "secondary", `${f.enabled ? t("adm.disable") : t("adm.enable")} ${nameOf(f)}`),
        button(t("adm.delete"), () => remove(f), "danger", `${t("adm.delete")} ${nameOf(f)}`)))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "muted", text: t("adm.none") })));
    const state = g.archived ? ` · ${t("adm.archived")}` : g.enabled ? "" : ` · ${t("adm.disabled")}`;
    return el("div", { class: "field-group", "data-group": g.key },
      el("h3", {}, nameOf(g), el("span", { class: "muted", text: ` (${g.key})${state}` })),
      actions(
        button(t("adm.field_new"), () => editField(null, g), "secondary", `${t("adm.field_new")}: ${nameOf(g)}`),
        button(t("adm.edit"), () => editGroup(g), "secondary", `${t("adm.edit")} ${nameOf(g)}`),
        button(t("adm.delete"), () => remove(g), "danger", `${t("adm.delete")} ${nameOf(g)}`)),
      table(nameOf(g), [t("adm.name"), t("adm.key"), t("adm.kind"), t("adm.required"), t("adm.choices"), t("status"), t("adm.actions")], rows));
  });
  if (!blocks.length) blocks.push(el("p", { class: "muted", text: t("adm.none") }));
  root.querySelector(".fields-list").replaceChildren(...blocks);
}

const names = (node) => [
  { name: "name_zh", label: t("adm.name_zh"), required: true, value: node ? node.name_zh : "", maxlength: 128 },
  { name: "name_en", label: t("adm.name_en"), value: node ? node.name_en : "", maxlength: 128 },
];

function editGroup(group) {
  openDialog({
    title: group ? `${t("adm.group_field_edit")}: ${nameOf(group)}` : `${t("adm.group_field_new")} · ${typeLabel(type)}`,
    conflictField: "key",
    fields: [
      { name: "key", label: t("adm.key"), value: group ? group.key : "", readonly: !!group, maxlength: 64, help: t("adm.key_help") },
      ...names(group),
      { name: "weight", label: t("adm.weight"), type: "number", step: 1, value: group ? group.weight : 0, help: t("adm.weight_help") },
      { name: "enabled", label: t("adm.enabled"), type: "checkbox", value: group ? group.enabled : true },
    ],
    messages: { key: { validation_error: t("adm.key_help") } },
    submit: async (values) => {
      if (values.weight === null) values.weight = 0;
      if (group) {
        delete values.key;
        await api(`/api/v1/catalog-fields/${group.id}`, { method: "PATCH", json: values });
      } else {
        if (!values.key) delete values.key;
        await api("/api/v1/catalog-fields", { method: "POST", json: { ...values, media_type: type, kind: "group" } });
      }
      await load();
    },
  });
}

function editField(field, group) {
  const { items } = openDialog({
    title: field ? `${t("adm.field_edit")}: ${nameOf(field)}` : `${t("adm.field_new")} · ${nameOf(group)}`,
    conflictField: "key",
    fields: [
      { name: "key", label: t("adm.key"), value: field ? field.key : "", readonly: !!field, maxlength: 64, help: t("adm.key_help") },
      { name: "kind", label: t("adm.kind"), type: "select", options: KINDS.map((k) => ({ value: k, label: kindLabel(k) })), value: field ? field.kind : "text" },
      ...names(field),
      { name: "help_zh", label: t("adm.help_zh"), value: field ? field.help_zh : "", maxlength: 512 },
      { name: "help_en", label: t("adm.help_en"), value: field ? field.help_en : "", maxlength: 512 },
      { name: "choices", label: t("adm.choices"), type: "textarea", rows: 4, value: field ? field.choices.join("\n") : "", help: t("adm.choices_help") },
      { name: "required", label: t("adm.required"), type: "checkbox", value: field ? field.required : false },
      { name: "weight", label: t("adm.weight"), type: "number", step: 1, value: field ? field.weight : 0, help: t("adm.weight_help") },
      { name: "enabled", label: t("adm.enabled"), type: "checkbox", value: field ? field.enabled : true },
    ],
    messages: { key: { validation_error: t("adm.key_help") }, choices: { "*": t("adm.choices_help") },
      kind: { schema_conflict: t("adm.kind_conflict") } },
    submit: async (values) => {
      const choosing = values.kind === "choice" || values.kind === "multichoice";
      values.choices = choosing ? values.choices.split("\n").map((c) => c.trim()).filter(Boolean) : [];
      if (values.weight === null) values.weight = 0;
      if (field) {
        delete values.key;
        await api(`/api/v1/catalog-fields/${field.id}`, { method: "PATCH", json: values });
      } else {
        if (!values.key) delete values.key;
        await api("/api/v1/catalog-fields", { method: "POST", json: { ...values, media_type: type, parent_id: group.id } });
      }
      await load();
    },
  });
  // Choices belong to choice fields only.
  const kind = items.find((i) => i.spec.name === "kind").input;
  const choices = items.find((i) => i.spec.name === "choices").node;
  const sync = () => { choices.hidden = !["choice", "multichoice"].includes(kind.value); };
  kind.addEventListener("change", sync);
  sync();
}

function remove(node) {
  const isGroup = node.kind === "group";
  openDialog({
    title: `${t("adm.delete")}: ${nameOf(node)}`,
    submitLabel: t("adm.delete"), danger: true,
    extra: el("p", { text: t(isGroup ? "adm.group_field_delete_note" : "adm.field_delete_note") }),
    fields: [{ name: "archive", label: t("adm.archive_instead"), type: "checkbox", help: t("adm.archive_help") }],
    submit: async (values, { showError }) => {
      try {
        await api(`/api/v1/catalog-fields/${node.id}${values.archive ? "?archive=true" : ""}`, { method: "DELETE" });
      } catch (error) {
        const body = error.body && error.body.error;
        if (error.status === 409 && body && body.assets) {
          showError(error, t("adm.field_has_values").replace("{n}", body.assets), "archive");
          return false;
        }
        if (error.status === 409 && error.code === "not_empty") { showError(error, t("adm.group_has_fields"), "archive"); return false; }
        throw error;
      }
      await load();
    },
  });
}
