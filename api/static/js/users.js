// User management, for admins: add a user (its token is shown once), change a role, disable, revoke
// tokens, issue a new token.
import { api, ask, h, toast } from "./api.js";
import { t, onLangChange } from "./i18n.js";
import { can } from "./store.js";

const ROLES = ["viewer", "operator", "dispatcher", "official", "admin"];
const panel = () => document.getElementById("panel-users");
let users = [];

export async function initUsers() {
  if (!can("users.manage")) return;
  onLangChange(render);
  await refresh();
}

async function refresh() {
  users = await api("/api/users");
  render();
}

async function run(promise) {
  try {
    const result = await promise;
    await refresh();
    return result;
  } catch (err) {
    toast(t("users.failed", { why: err.message }), "error");
    return null;
  }
}

async function showToken(issued) {
  if (!issued) return;
  await ask(t("users.tokenOnce", { name: issued.user.name }), [{ name: "token", label: "", type: "text-readonly", value: issued.token }], { okLabel: t("dialog.ok"), cancelLabel: "" });
}

function render() {
  const roleOptions = () => ROLES.map((r) => [r, t("role." + r)]);
  const add = h("button", { type: "button", class: "primary", onclick: async () => {
    const values = await ask(t("users.add"), [
      { name: "name", label: t("users.name"), required: true },
      { name: "role", label: t("users.role"), type: "select", options: roleOptions(), value: "operator" },
    ], { okLabel: t("dialog.ok"), cancelLabel: t("dialog.cancel") });
    if (values) showToken(await run(api("/api/users", { method: "POST", body: values })));
  } }, t("users.add"));
  const rows = users.map((u) => {
    const path = `/api/users/${encodeURIComponent(u.name)}`;
    const role = h("select", { onchange: (e) => run(api(path, { method: "PATCH", body: { role: e.target.value } })) },
      ROLES.map((r) => h("option", { value: r, selected: r === u.role }, t("role." + r))));
    return h("tr", { dataset: { user: u.name } },
      h("td", {}, u.name, u.disabled ? h("small", {}, ` (${t("users.disabled")})`) : null),
      h("td", {}, role),
      h("td", {}, String(u.tokens)),
      h("td", { class: "row-buttons" },
        h("button", { type: "button", class: "secondary", onclick: async () => showToken(await run(api(`${path}/tokens`, { method: "POST" }))) }, t("users.newToken")),
        h("button", { type: "button", class: "secondary", onclick: () => run(api(`${path}/revoke`, { method: "POST" })) }, t("users.revoke")),
        h("button", { type: "button", class: "secondary", onclick: () => run(api(path, { method: "PATCH", body: { disabled: !u.disabled } })) }, u.disabled ? t("users.enable") : t("users.disable")),
      ));
  });
  panel().replaceChildren(
    h("div", { class: "panel-tools" }, h("span"), add),
    h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["users.name", "users.role", "users.tokens"].map((k) => h("th", {}, t(k))), h("th"))),
      h("tbody", {}, rows)),
  );
}
