// What the search and asset pages share: level names, a video's scrub sprite.
import { api, levelName } from "./common.js";

/** Level id → name in the UI's language (the name is Chinese, the description English). */
export async function levelNames() {
  try {
    const rows = (await api("/api/v1/levels")).body;
    return Object.fromEntries(rows.map((l) => [String(l.id), levelName(l)]));
  } catch {
    return {};
  }
}

function seconds(stamp) {
  const [h, m, s] = stamp.split(":");
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** The WebVTT index of a sprite: cues ``{start, end, x, y, w, h}`` and the image they cut. */
export function parseSpriteVtt(text, base) {
  const cues = [];
  let image = null;
  let width = 0;
  let height = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const time = lines[i].match(/^(\d+:\d\d:\d\d\.\d+)\s+-->\s+(\d+:\d\d:\d\d\.\d+)/);
    if (!time || i + 1 >= lines.length) continue;
    const target = lines[i + 1].trim();
    const hash = target.match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/);
    if (!hash) continue;
    image = image || new URL(hash[1], base).href;
    const [x, y, w, h] = hash.slice(2).map(Number);
    width = Math.max(width, x + w);
    height = Math.max(height, y + h);
    cues.push({ start: seconds(time[1]), end: seconds(time[2]), x, y, w, h });
  }
  return { image, width, height, cues };
}

/** A video's sprite sheet and cues, from its renditions (null when it has none). */
export async function loadScrub(assetId, renditions) {
  const items = renditions || (await api(`/api/v1/assets/${assetId}/renditions`)).body.items;
  const index = items.find((r) => r.kind === "sprite_index");
  if (!index) return null;
  const response = await fetch(index.url, { credentials: "same-origin" });
  if (!response.ok) return null;
  const sheet = parseSpriteVtt(await response.text(), response.url);
  return sheet.cues.length ? sheet : null;
}
