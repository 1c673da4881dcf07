// Users: list (search, paging), create, edit (profile, level, groups, roles, enabled),
// password reset by the administrator, disable/enable, delete.
import { api, el, say, t, formatDate } from "../common.js";
import * as lookups from "./lookups.js";
import { act, actions, button, cell, confirmAction, openDialog, pager, rowHead, sectionMessage, table, yesNo } from "./ui.js";

const SIZE = 25;
let state = { page: 1, q: "" };
let latest = 0;
let root;
const failed = (error) => sectionMessage(root).show(error);

export async function mount(body) {
  root = body;
  const groups = await lookups.groups();
  const search = el("input", { type: "search", id: "user-search", name: "q", autocomplete: "off" });
  const status = el("select", { id: "user-status", name: "enabled" },
    el("option", { value: "", text: t("adm.any") }), el("option", { value: "true", text: t("adm.enabled") }),
    el("option", { value: "false", text: t("adm.disabled") }));
  const group = groups ? el("select", { id: "user-group", name: "group_id" },
    el("option", { value: "", text: t("adm.any") }), ...groups.map((g) => el("option", { value: String(g.id), text: g.name }))) : null;
  const form = el("form", { class: "toolbar", role: "search", "aria-label": t("adm.user_search") },
    el("label", { for: "user-search", text: t("adm.user_search") }), search,
    el("label", { for: "user-status", text: t("status") }), status,
    group ? el("label", { for: "user-group", text: t("adm.group") }) : null, group,
    el("button", { type: "submit", text: t("search") }),
    button(t("adm.user_new"), () => edit(null), "primary"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state = { page: 1, q: search.value.trim(), enabled: status.value, group_id: group ? group.value : "" };
    load().catch(failed);
  });
  body.append(form, el("div", { class: "users-list" }));
  await load();
}

async function load() {
  const message = sectionMessage(root);
  const query = new URLSearchParams({ page: state.page, size: SIZE });
  for (const key of ["q", "enabled", "group_id"]) if (state[key]) query.set(key, state[key]);
  const mine = ++latest;
  const [result, levels, groups] = await Promise.all([
    api("/api/v1/users?" + query).then((r) => r.body), lookups.levels(), lookups.groups()]);
  if (mine !== latest) return;  // a newer search was asked for meanwhile
  message.clear();
  const groupName = (id) => ((groups || []).find((g) => g.id === id) || { name: "#" + id }).name;
  const rows = result.items.map((u) => el("tr", { "data-user": u.username },
    rowHead(u.username),
    cell(u.display_name),
    cell(lookups.levelName(levels, u.level)),
    cell(u.groups.map(groupName).join(", ")),
    cell(u.roles.join(", ")),
    cell(u.enabled ? (u.locked ? t("adm.locked") : t("adm.enabled")) : t("adm.disabled")),
    cell(u.last_login_at ? formatDate(u.last_login_at) : "—"),
    cell(actions(
      button(t("adm.edit"), () => edit(u), "secondary", `${t("adm.edit")} ${u.username}`),
      button(t("adm.reset_password"), () => resetPassword(u), "secondary", `${t("adm.reset_password")} ${u.username}`),
      button(u.enabled ? t("adm.disable") : t("adm.enable"), () => act(root,
        () => api(`/api/v1/users/${u.id}`, { method: "PATCH", json: { enabled: !u.enabled } }), load,
        u.enabled ? t("adm.user_disabled") : t("adm.user_enabled")), "secondary",
        `${u.enabled ? t("adm.disable") : t("adm.enable")} ${u.username}`),
      button(t("adm.delete"), () => remove(u), "danger", `${t("adm.delete")} ${u.username}`)))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 8, class: "muted", text: t("adm.none") })));
  const box = root.querySelector(".users-list");
  box.replaceChildren(
    table(t("adm.users"), [t("username"), t("adm.display_name"), t("adm.clearance"), t("adm.groups"),
      t("adm.roles"), t("status"), t("adm.last_login"), t("adm.actions")], rows),
    pager(state.page, SIZE, result.total, (page) => { state.page = page; load().catch(failed); }));
}

async function edit(user) {
  const [levels, groups, roles] = await Promise.all([lookups.levels(), lookups.groups(), lookups.roles()]);
  const creating = !user;
  const levelOptions = (levels || []).map((l) => ({ value: l.id, label: `${l.name} (${l.id})${l.enabled ? "" : " — " + t("adm.disabled")}` }));
  const fields = [
    creating ? { name: "username", label: t("username"), required: true, maxlength: 64, autocomplete: "off" } : null,
    creating ? { name: "password", label: t("password"), type: "password", required: true, autocomplete: "new-password", help: t("adm.password_rule") } : null,
    { name: "display_name", label: t("adm.display_name"), value: user ? user.display_name : "", maxlength: 128 },
    { name: "email", label: t("adm.email"), type: "email", value: user ? user.email || "" : "" },
    { name: "level", label: t("adm.clearance"), type: "select", numeric: true, options: levelOptions, value: user ? user.level : 1 },
    groups ? { name: "groups", label: t("adm.groups"), type: "checkboxes", numeric: true,
      options: groups.map((g) => ({ value: g.id, label: g.name })), value: user ? user.groups : [] } : null,
    roles ? { name: "roles", label: t("adm.direct_roles"), type: "checkboxes", help: t("adm.direct_roles_help"),
      options: roles.map((r) => ({ value: r.name, label: r.name })), value: user ? user.roles : [] } : null,
    { name: "enabled", label: t("adm.enabled"), type: "checkbox", value: user ? user.enabled : true },
    user ? { name: "locked", label: t("adm.locked"), type: "checkbox", value: user.locked } : null,
  ];
  openDialog({
    title: creating ? t("adm.user_new") : `${t("adm.user_edit")}: ${user.username}`,
    fields, conflictField: "username",
    messages: { password: { "*": t("adm.password_rule") }, username: { validation_error: t("adm.username_rule") } },
    submit: async (values) => {
      if (values.email === "") values.email = null;
      if (creating) await api("/api/v1/users", { method: "POST", json: values });
      else await api(`/api/v1/users/${user.id}`, { method: "PATCH", json: values });
      await load();
    },
  });
}

/** A strong random password (the administrator passes it on; the user may change it). */
function generatePassword() {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

function resetPassword(user) {
  const generate = button(t("adm.generate_password"), () => {
    const value = generatePassword();
    for (const item of opened.items) {
      item.input.value = value;
      item.input.type = "text";  // shown, so that it can be passed on
    }
    opened.items[0].input.select();
  });
  const opened = openDialog({
    title: `${t("adm.reset_password")}: ${user.username}`,
    fields: [
      { name: "password", label: t("adm.new_password"), type: "password", required: true, autocomplete: "new-password", help: t("adm.password_rule") },
      { name: "again", label: t("adm.repeat_password"), type: "password", required: true, autocomplete: "new-password" },
    ],
    messages: { password: { "*": t("adm.password_rule") } },
    submitLabel: t("adm.reset_password"),
    submit: async (values, { showError }) => {
      if (values.password !== values.again) {
        showError({ body: { error: { field: "again" } } }, t("adm.passwords_differ"));
        return false;
      }
      await api(`/api/v1/users/${user.id}`, { method: "PATCH", json: { password: values.password } });
      await load();
    },
    extra: el("div", {}, generate, el("p", { class: "muted", text: t("adm.reset_note") })),
  });
}

function remove(user) {
  confirmAction(`${t("adm.delete")}: ${user.username}`, t("adm.user_delete_note"), async () => {
    await api(`/api/v1/users/${user.id}`, { method: "DELETE" });
    say(t("adm.deleted"));
    await load();
  });
}
