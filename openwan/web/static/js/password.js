// Choosing a new password (required first for an imported account whose password was its name).
import { T, api, errorText, say } from "./common.js";

const form = document.getElementById("password-form");
const fields = ["current_password", "new_password", "repeat_password"];

function show(field, text) {
  const input = document.getElementById(field);
  document.getElementById(field + "-error").textContent = text || "";
  if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  fields.forEach((field) => show(field, ""));
  const value = (field) => document.getElementById(field).value;
  if (!value("current_password")) { show("current_password", T.password_missing); return; }
  if (value("new_password") !== value("repeat_password")) { show("repeat_password", T.password_mismatch); return; }
  try {
    await api("/password", { method: "POST", json: { current_password: value("current_password"), new_password: value("new_password") } });
    say(T.password_changed);
    location.href = form.dataset.next || "/search";
  } catch (error) {
    const code = error.code;
    const field = code === "wrong_password" ? "current_password"
      : (error.body && error.body.error && error.body.error.field) || "new_password";
    const detail = code === "validation_error" && error.body.error.message ? ` (${error.body.error.message})` : "";
    show(fields.includes(field) ? field : "new_password", errorText(error) + detail);
  }
});
