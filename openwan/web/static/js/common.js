// OpenWan web UI: what every page shares. Pages are ES modules over the JSON API
// (same-origin cookie session + CSRF header); strings come from the page as JSON data
// (the CSP allows no inline script).

export const T = JSON.parse((document.getElementById("strings") || {}).textContent || "{}");
export const LANG = document.documentElement.lang.startsWith("zh") ? "zh" : "en";

/** The translated string for ``key``, or ``fallback`` (else the key itself). */
export function t(key, fallback) {
  return T[key] !== undefined ? T[key] : (fallback !== undefined ? fallback : key);
}

export function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

/** A message in the page's live region; errors stay until the next message. */
export function say(text, isError) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(say.timer);
  if (!isError) say.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

/** The text to show a user for an API error: its code translated, the server's words else. */
export function errorText(error) {
  const code = error && error.body && error.body.error && error.body.error.code;
  if (code && T["error." + code]) return T["error." + code];
  if (error && error.status === undefined) return t("error.network");
  return (error && error.message) || t("error.unknown");
}

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
    this.code = body && body.error ? body.error.code : undefined;
  }
}

/** fetch() for the JSON API: CSRF header, JSON in and out, ApiError on a non-2xx answer. */
export async function api(path, options = {}) {
  const headers = Object.assign({ "X-CSRF-Token": cookie("openwan_csrf") }, options.headers || {});
  const init = Object.assign({}, options, { headers, credentials: "same-origin" });
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }
  const text = await response.text();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch { body = text; } }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new ApiError(message, response.status, body);
  }
  return { body, response };
}

/** A DOM element: attributes (``text`` sets textContent, ``on*`` adds listeners), children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export const typeLabel = (type) => t(type, type);
export const statusLabel = (status) => t("status." + status, status);
export const mediaLabel = (state) => t("media." + state, state);

/** ``text`` with each ``{name}`` replaced by ``values[name]``. */
export const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

/** Seconds as h:mm:ss or m:ss. */
export function duration(seconds) {
  const total = Math.round(Number(seconds) || 0);
  const two = (n) => String(n).padStart(2, "0");
  const h = Math.floor(total / 3600);
  return h ? `${h}:${two(Math.floor(total / 60) % 60)}:${two(total % 60)}` : `${Math.floor(total / 60)}:${two(total % 60)}`;
}

/** A level's name in the page's language (seeded levels carry Chinese names, English descriptions). */
export const levelName = (level) => (LANG === "zh" ? level.name : (level.description || level.name));

export function formatDate(value) {
  return value ? new Date(value).toLocaleString(LANG === "zh" ? "zh-CN" : "en-GB") : "";
}

/** What the signed-in user may do, as the server rendered it into the page. */
export const CAN = new Set(((document.body && document.body.dataset.can) || "").split(" ").filter(Boolean));

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout-form");
  if (logout) logout.addEventListener("submit", async (event) => {
    event.preventDefault();
    await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": cookie("openwan_csrf") }, credentials: "same-origin" });
    location.href = "/login";
  });
});
