// What the administration sections share: tables that scroll inside their own box, edit
// dialogs (<dialog>, focus kept and given back, the API's errors beside the control), paging.
import { api, el, errorText, t, say } from "../common.js";

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

/** A real table with column headers, wrapped in a box that scrolls sideways on its own. */
export function table(caption, headers, rows) {
  const head = el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })));
  const body = el("tbody", {}, ...rows);
  const id = nextId("caption");
  const node = el("table", { class: "admin-table" },
    el("caption", { id, class: "visually-hidden", text: caption }), el("thead", {}, head), body);
  // A focusable, named region: keyboard users can scroll it too.
  return el("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-labelledby": id }, node);
}

export const cell = (...children) => el("td", {}, ...children);
export const rowHead = (text) => el("th", { scope: "row", text });
/** Indent a tree row by its depth (CSSOM: the page's CSP allows no style attributes). */
export function indent(node, depth) {
  if (depth) node.style.setProperty("--depth", String(depth));
  node.classList.add("indent");
  return node;
}

export const yesNo = (value) => t(value ? "adm.yes" : "adm.no");

export function button(text, onclick, cls = "secondary", label) {
  // A failed asynchronous action says why instead of failing silently.
  const run = (event) => {
    const result = onclick(event);
    if (result && result.catch) result.catch((error) => say(errorText(error), true));
  };
  return el("button", { type: "button", class: cls, text, onclick: run, "aria-label": label });
}

export const actions = (...buttons) => el("div", { class: "actions" }, ...buttons.filter(Boolean));

/** The section's own message line (errors stay until the next load). */
export function sectionMessage(body) {
  let box = body.querySelector(":scope > .section-error");
  if (!box) {
    box = el("p", { class: "section-error error", role: "alert", hidden: true });
    body.prepend(box);
  }
  return {
    show(error) { box.textContent = typeof error === "string" ? error : errorText(error); box.hidden = false; },
    clear() { box.textContent = ""; box.hidden = true; },
  };
}

/** The field an API error names: ``field`` of an APIError, the first detail of a 422. */
export function errorField(error) {
  const body = error && error.body && error.body.error;
  if (!body) return null;
  if (body.field) return String(body.field);
  if (Array.isArray(body.details) && body.details[0]) return String(body.details[0].field || "");
  return null;
}

function control(spec) {
  const id = nextId("f");
  const hint = spec.help ? el("span", { class: "hint muted", id: id + "-hint", text: spec.help }) : null;
  const error = el("span", { class: "field-error error", id: id + "-error", hidden: true });
  const described = [hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" ");
  let input;
  let read;
  if (spec.type === "checkbox") {
    input = el("input", { type: "checkbox", id, name: spec.name, checked: !!spec.value, "aria-describedby": described });
    read = () => input.checked;
    return { node: el("div", { class: "field check" }, input, el("label", { for: id, text: spec.label }), hint, error), input, read, error, spec };
  }
  if (spec.type === "checkboxes" || spec.type === "radios") {
    const kind = spec.type === "radios" ? "radio" : "checkbox";
    const chosen = new Set(kind === "checkbox" ? (spec.value || []).map(String) : []);
    const boxes = spec.options.map((o) => {
      const box = el("input", { type: kind, name: spec.name + "-" + id, value: String(o.value), id: nextId("o"),
        checked: kind === "radio" ? String(spec.value) === String(o.value) : chosen.has(String(o.value)) });
      return { box, node: indent(el("li", {}, box, el("label", { for: box.id, text: o.label })), o.depth) };
    });
    const fieldset = el("fieldset", { class: "field choices", "aria-describedby": described },
      el("legend", { text: spec.label }), hint, el("ul", { class: "checks" }, ...boxes.map((b) => b.node)), error);
    read = kind === "radio"
      ? () => { const on = boxes.find((b) => b.box.checked); return on ? on.box.value : null; }
      : () => boxes.filter((b) => b.box.checked).map((b) => (spec.numeric ? Number(b.box.value) : b.box.value));
    input = boxes.length ? boxes[0].box : fieldset;
    return { node: fieldset, input, read, error, spec, boxes };
  }
  if (spec.type === "select") {
    input = el("select", { id, name: spec.name, "aria-describedby": described, required: spec.required },
      ...spec.options.map((o) => el("option", { value: String(o.value), text: o.label, selected: String(o.value) === String(spec.value ?? "") })));
    read = () => (input.value === "" ? null : spec.numeric ? Number(input.value) : input.value);
  } else if (spec.type === "textarea") {
    input = el("textarea", { id, name: spec.name, rows: spec.rows || 3, "aria-describedby": described, required: spec.required });
    input.value = spec.value ?? "";
    read = () => input.value;
  } else {
    input = el("input", { id, name: spec.name, type: spec.type || "text", "aria-describedby": described,
      required: spec.required, readonly: spec.readonly, autocomplete: spec.autocomplete || "off",
      min: spec.min, max: spec.max, step: spec.step, maxlength: spec.maxlength, list: spec.list });
    input.value = spec.value ?? "";
    read = spec.type === "number" ? () => (input.value === "" ? null : Number(input.value)) : () => input.value;
  }
  // The star sits beside the label, not in it: the control's name stays the plain label.
  const label = el("span", { class: "label" }, el("label", { for: id, text: spec.label }),
    spec.required ? el("span", { class: "req", "aria-hidden": "true", text: " *" }) : null);
  return { node: el("div", { class: "field" }, label, input, hint, error), input, read, error, spec };
}

function markError(item, text) {
  item.error.textContent = text;
  item.error.hidden = false;
  const target = item.boxes ? item.node : item.input;
  target.setAttribute("aria-invalid", "true");
}

/**
 * Open a modal edit dialog. ``fields``: [{name, label, type, value, options, required, help}];
 * ``submit(values)`` does the API call (an ApiError is shown beside the control it names, or
 * at the top of the dialog); ``messages``: {fieldName: {code: text}} to say more than the
 * generic translation. Focus goes to the first control and back to the opener on close.
 */
export function openDialog({ title, fields, submitLabel, submit, extra, danger, messages = {}, conflictField }) {
  const opener = document.activeElement;
  const headingId = nextId("dlg");
  const items = fields.filter(Boolean).map(control);
  const alert = el("p", { class: "dialog-error error", role: "alert", hidden: true });
  const form = el("form", { method: "dialog", novalidate: true });
  const cancel = button(t("adm.cancel"), () => dialog.close());
  const ok = el("button", { type: "submit", class: danger ? "danger" : undefined, text: submitLabel || t("adm.save") });
  form.append(alert, ...items.map((i) => i.node), ...(extra ? [extra] : []), el("div", { class: "actions dialog-actions" }, ok, cancel));
  const dialog = el("dialog", { class: "admin-dialog", "aria-labelledby": headingId },
    el("h3", { id: headingId, text: title }), form);
  const values = () => Object.fromEntries(items.map((i) => [i.spec.name, i.read()]));
  const clearErrors = () => {
    alert.hidden = true;
    for (const i of items) { i.error.hidden = true; (i.boxes ? i.node : i.input).removeAttribute("aria-invalid"); }
  };
  const showError = (error, override, fieldName) => {
    const field = fieldName || errorField(error);
    const code = error && error.code;
    const name = field ? field.split(".")[0] : null;
    const item = name && items.find((i) => i.spec.name === name || (i.spec.aliases || []).includes(name));
    const special = name && messages[name] && (messages[name][code] || messages[name]["*"]);
    // A 409 naming the control that must be unique: a duplicate name (or key, or number).
    const taken = code === "conflict" && conflictField && name === conflictField;
    const text = override || special || (taken ? t("adm.err_taken") : errorText(error));
    if (item) { markError(item, text); item.input.focus(); }
    else { alert.textContent = text; alert.hidden = false; alert.setAttribute("tabindex", "-1"); alert.focus(); }
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const missing = items.find((i) => i.spec.required && (i.read() === "" || i.read() === null));
    if (missing) { markError(missing, t("adm.err_required")); missing.input.focus(); return; }
    ok.disabled = true;
    try {
      const done = await submit(values(), { showError, dialog });
      if (done !== false) dialog.close();
    } catch (error) { showError(error); }
    finally { ok.disabled = false; }
  });
  // Focus goes back to the opener; when the list was redrawn meanwhile, to the button of the
  // same name in the same section, else to the section's heading.
  const section = opener && opener.closest ? opener.closest("section") : null;
  const name = opener ? opener.getAttribute("aria-label") || opener.textContent : "";
  dialog.addEventListener("close", () => {
    dialog.remove();
    let target = opener && opener.isConnected ? opener : null;
    if (!target && section) {
      target = [...section.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") || b.textContent) === name)
        || section.querySelector("h2 button");
    }
    if (target && target.focus) target.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = items.find((i) => !i.spec.readonly);
  (first ? first.input : ok).focus();
  return { dialog, showError, items, values };
}

/** Ask before something that cannot be undone, then ``run()`` it; an error the API answers
 * stays in the dialog (say, a level still in use). */
export function confirmAction(title, text, run, confirmLabel) {
  openDialog({
    title, fields: [], submitLabel: confirmLabel || t("adm.delete"), danger: true,
    extra: el("p", { text }), submit: run,
  });
}

/** Previous/next paging with "page x of y"; ``go(page)`` loads a page. */
export function pager(page, size, total, go) {
  const pages = Math.max(1, Math.ceil(total / size));
  const nav = el("nav", { class: "pager", "aria-label": t("adm.paging") });
  const prev = button(t("adm.prev"), () => go(page - 1));
  const next = button(t("adm.next"), () => go(page + 1));
  prev.disabled = page <= 1;
  next.disabled = page >= pages;
  const where = t("adm.page_of").replace("{page}", page).replace("{pages}", pages).replace("{total}", total);
  nav.append(prev, el("span", { text: where }), next);
  return nav;
}

/** Run an API call from a button: a message on success, the translated error in the
 * section otherwise. */
export async function act(root, call, done, message) {
  const box = sectionMessage(root);
  try {
    await call();
    box.clear();
    if (message) say(message);
    if (done) await done();
  } catch (error) {
    box.show(error);
    say(errorText(error), true);
  }
}

export { api, el, t, say, errorText };
