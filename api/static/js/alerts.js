// The alert panel: open alerts, most severe first and newest first within a severity, with the actions
// the user's role allows. A critical alert sounds the alarm and flashes as it arrives.
import { api, ask, h, toast } from "./api.js";
import { t, formatTime, ago, onLangChange, lang } from "./i18n.js";
import { state, can, on, emit } from "./store.js";
import { alarm } from "./sound.js";
import { focus } from "./map.js";

const RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
const panel = () => document.getElementById("panel-alerts");
let showResolved = false;
const flashing = new Set();

export async function loadAlerts() {
  const query = ["open", "acknowledged", "assigned"].map((s) => `state=${s}`).join("&");
  const body = await api(`/api/alerts?${query}&limit=1000`);
  for (const alert of body.alerts) {
    state.alerts.set(alert.id, alert);
    state.lastSeq = Math.max(state.lastSeq, alert.seq);
  }
  render();
  emit("alerts-changed");
}

export function initAlerts() {
  on("alert", ({ alert, isNew }) => {
    if (alert.severity === "critical" && alert.state === "open") {
      alarm();
      flashing.add(alert.id);
    }
    if (isNew && alert.severity === "critical") emit("show-tab", "alerts");
    render();
    emit("alerts-changed");
  });
  onLangChange(render);
  setInterval(render, 30000); // keeps the "n min ago" current
}

function sorted() {
  return [...state.alerts.values()]
    .filter((a) => showResolved || a.state !== "resolved")
    .sort((a, b) => {
      const resolved = (a.state === "resolved") - (b.state === "resolved");
      if (resolved) return resolved;
      const rank = (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9);
      if (rank) return rank;
      return b.opened_at.localeCompare(a.opened_at);
    });
}

export function render() {
  const alerts = sorted();
  const open = [...state.alerts.values()].filter((a) => a.state !== "resolved");
  const count = document.getElementById("alert-count");
  count.textContent = open.length ? String(open.length) : "";
  count.classList.toggle("critical", open.some((a) => a.severity === "critical" && a.state === "open"));
  emit("drill-data", open.some((a) => a.drill));

  const toggle = h("label", {}, h("input", { type: "checkbox", checked: showResolved, onchange: (e) => { showResolved = e.target.checked; render(); } }), " ", t("alerts.showResolved"));
  const tools = h("div", { class: "panel-tools" }, h("span", {}, t("alerts.count", { n: open.length })), toggle);
  const list = alerts.length ? alerts.map(card) : [h("p", { class: "empty" }, t("alerts.none"))];
  panel().replaceChildren(tools, ...list);
}

function card(alert) {
  const classes = ["alert", `sev-${alert.severity}`, `state-${alert.state}`];
  if (flashing.has(alert.id)) {
    classes.push("new");
    flashing.delete(alert.id);
  }
  const vessel = alert.vessel?.name || (alert.vessel?.mmsi ? `MMSI ${alert.vessel.mmsi}` : "");
  const meta = [vessel, formatTime(alert.opened_at), ago(alert.updated_at)];
  if (alert.assigned_to) meta.push(t("alerts.assigned", { who: alert.assigned_to }));
  return h(
    "article",
    { class: classes.join(" "), dataset: { alertId: alert.id, severity: alert.severity, state: alert.state } },
    h(
      "div",
      { class: "alert-head" },
      h("span", { class: `badge sev-${alert.severity}` }, t(`severity.${alert.severity}`)),
      h("span", { class: "badge" , style: "background:#34495e" }, t(`kind.${alert.kind}`)),
      h("span", { class: `badge state state-${alert.state}` }, t(`state.${alert.state}`)),
      alert.drill ? h("span", { class: "badge drill" }, t("alerts.drill")) : null,
      h("div", { class: "alert-title", title: alert.title }, localTitle(alert, vessel)),
    ),
    h("div", { class: "alert-meta" }, meta.filter(Boolean).join(" · ")),
    actions(alert),
  );
}

// The rules write titles in English. In another language the card says what kind of alert it is, for
// which vessel, and where (zone or warning) from the details; the rule's own words stay on hover.
function localTitle(alert, vessel) {
  if (lang() === "en") return alert.title;
  const d = alert.details || {};
  const where = d.zone_name || d.headline || d.event || d.feed || "";
  const what = [vessel, where].filter(Boolean).join(" · ");
  return what ? t("alerts.title", { kind: t(`kind.${alert.kind}`), what }) : t(`kind.${alert.kind}`);
}

function actions(alert) {
  const box = h("div", { class: "alert-actions" });
  const live = alert.state !== "resolved";
  if (alert.position) {
    box.append(h("button", { type: "button", class: "secondary", onclick: () => {
      focus(alert.position.lon, alert.position.lat);
      if (alert.vessel?.id != null) emit("select-vessel", alert.vessel.id);
    } }, t("alerts.locate")));
  }
  if (live && alert.state === "open" && can("alerts.ack")) {
    box.append(h("button", { type: "button", class: alert.severity === "critical" ? "danger" : "primary", dataset: { action: "ack" }, onclick: () => act(alert, "ack", {}) }, t("alerts.ack")));
  }
  if (live && can("alerts.assign")) {
    box.append(h("button", { type: "button", class: "secondary", dataset: { action: "assign" }, onclick: async () => {
      const values = await ask(t("alerts.assign"), [{ name: "assignee", label: t("alerts.assignee"), required: true, value: alert.assigned_to || "" }], labels());
      if (values) act(alert, "assign", { assignee: values.assignee });
    } }, t("alerts.assign")));
  }
  const mayResolve = can("alerts.resolve") && (alert.kind !== "distress" || can("alerts.resolve_distress"));
  if (live && mayResolve) {
    box.append(h("button", { type: "button", class: "secondary", dataset: { action: "resolve" }, onclick: async () => {
      const values = await ask(t("alerts.resolve"), [{ name: "note", label: t("alerts.resolveNote"), type: "textarea" }], labels());
      if (values) act(alert, "resolve", values.note ? { note: values.note } : {});
    } }, t("alerts.resolve")));
  }
  if (live && can("alerts.note")) {
    box.append(h("button", { type: "button", class: "secondary", dataset: { action: "note" }, onclick: async () => {
      const values = await ask(t("alerts.note"), [{ name: "note", label: t("alerts.noteText"), type: "textarea", required: true }], labels());
      if (values && values.note) act(alert, "note", { note: values.note });
    } }, t("alerts.note")));
  }
  return box;
}

function labels() {
  return { okLabel: t("dialog.ok"), cancelLabel: t("dialog.cancel") };
}

async function act(alert, action, body) {
  try {
    const updated = await api(`/api/alerts/${alert.id}/${action}`, { method: "POST", body });
    // The websocket brings the change too; applying the answer now makes the click feel immediate.
    if (!state.alerts.has(updated.id) || state.alerts.get(updated.id).seq <= updated.seq) state.alerts.set(updated.id, updated);
    render();
    emit("alerts-changed");
  } catch (err) {
    toast(t("alerts.failed", { why: err.message }), "error");
  }
}
