// Lists several sections choose from (levels, groups, roles, categories, permissions), read
// once per page and again after a change. A list the caller may not read is empty: the
// section then offers what it can (say, an account manager without admin.groups).
import { api } from "../common.js";

const cache = new Map();

async function load(path) {
  try {
    const body = (await api(path)).body;
    return Array.isArray(body) ? body : body.items;
  } catch (error) {
    if (error.status === 403) return null;
    throw error;
  }
}

function cached(key, path) {
  if (!cache.has(key)) cache.set(key, load(path).catch((error) => { cache.delete(key); throw error; }));
  return cache.get(key);
}

export const levels = () => cached("levels", "/api/v1/levels");
export const groups = () => cached("groups", "/api/v1/groups?size=200");
export const roles = () => cached("roles", "/api/v1/roles");
export const permissions = () => cached("permissions", "/api/v1/permissions");
/** Categories as a flat list in tree order, each with its ``depth``. */
export const categories = () => cached("categories", "/api/v1/categories").then((tree) => tree && flatten(tree));

export function forget(...keys) { for (const key of keys) cache.delete(key); }

export function flatten(nodes, depth = 0, out = []) {
  for (const node of nodes) {
    out.push(Object.assign({}, node, { depth }));
    flatten(node.children || [], depth + 1, out);
  }
  return out;
}

export function levelName(list, id) {
  const found = (list || []).find((l) => l.id === id);
  return found ? `${found.name} (${id})` : String(id);
}
