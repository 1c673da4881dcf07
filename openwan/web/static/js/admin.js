// Administration: one collapsible section per task, each shown only with its permission
// (the page is rendered with the caller's rights; the API checks them again). A section
// loads when first opened; the address's #fragment opens it directly.
import { errorText, say } from "./common.js";
import { sectionMessage } from "./admin/ui.js";

const loaders = {
  users: () => import("./admin/users.js"),
  groups: () => import("./admin/groups.js"),
  roles: () => import("./admin/roles.js"),
  permissions: () => import("./admin/permissions.js"),
  levels: () => import("./admin/levels.js"),
  categories: () => import("./admin/categories.js"),
  fields: () => import("./admin/fields.js"),
  audit: () => import("./admin/audit.js"),
};

const sections = [...document.querySelectorAll("section[data-section]")];

async function open(section, focus) {
  const toggle = section.querySelector("h2 button.disclosure");
  const body = section.querySelector(".section-body");
  toggle.setAttribute("aria-expanded", "true");
  body.hidden = false;
  if (focus) toggle.focus();
  if (section.dataset.loaded) return;
  section.dataset.loaded = "loading";
  body.setAttribute("aria-busy", "true");
  try {
    const module = await loaders[section.dataset.section]();
    await module.mount(body);
    section.dataset.loaded = "yes";
  } catch (error) {
    delete section.dataset.loaded;
    sectionMessage(body).show(error);
    say(errorText(error), true);
  } finally {
    body.removeAttribute("aria-busy");
  }
}

function close(section) {
  section.querySelector("h2 button.disclosure").setAttribute("aria-expanded", "false");
  section.querySelector(".section-body").hidden = true;
}

for (const section of sections) {
  section.querySelector("h2 button.disclosure").addEventListener("click", (event) => {
    if (event.currentTarget.getAttribute("aria-expanded") === "true") close(section);
    else open(section);
  });
}

function openFromHash(focus) {
  const wanted = sections.find((s) => "#" + s.id === location.hash);
  if (wanted) open(wanted, focus);
  return wanted;
}

window.addEventListener("hashchange", () => openFromHash(true));
if (!openFromHash(false) && sections.length) open(sections[0]);
