// Administration.
import { api, el, errorText } from "./common.js";

async function fill(id, path, label) {
  const list = document.getElementById(id);
  try {
    const body = (await api(path)).body;
    const items = Array.isArray(body) ? body : body.items;
    for (const item of items) list.append(el("li", { text: label(item) }));
  } catch (error) { list.append(el("li", { class: "error", text: errorText(error) })); }
}

fill("admin-users", "/api/v1/users", (u) => `${u.username} · ${u.display_name || ""} · L${u.level}`);
fill("admin-groups", "/api/v1/groups", (g) => g.name);
fill("admin-categories", "/api/v1/categories", (c) => c.name);
