// Weather warnings in force and the return-to-port board: which boats are still out, how far from
// the nearest port, and when they can be in.
import { api, h } from "./api.js";
import { t, formatTime, onLangChange } from "./i18n.js";
import { emit } from "./store.js";
import { focus, showWeather } from "./map.js";

const panel = () => document.getElementById("panel-weather");
let warnings = null; // null: not loaded or unavailable
let unavailable = false;

export function initWeather() {
  onLangChange(render);
  refresh();
  setInterval(refresh, 30000);
}

async function refresh() {
  try {
    warnings = (await api("/api/weather")).warnings;
    unavailable = false;
  } catch (err) {
    unavailable = err.status === 503;
    warnings = null;
  }
  render();
}

function render() {
  const count = document.getElementById("weather-count");
  count.textContent = warnings && warnings.length ? String(warnings.length) : "";
  emit("drill-weather", Boolean(warnings && warnings.some((w) => w.warning.drill)));
  showWeather(warnings || []);
  if (unavailable) return panel().replaceChildren(h("p", { class: "empty" }, t("weather.unavailable")));
  if (!warnings || !warnings.length) return panel().replaceChildren(h("p", { class: "empty" }, t("weather.none")));
  panel().replaceChildren(...warnings.map(block));
}

function block({ warning, vessels_at_sea: vessels }) {
  const sev = (warning.severity || "").toLowerCase() === "extreme" ? "sev-critical" : "";
  return h(
    "div",
    { class: `warning ${sev}` },
    h("h4", {}, warning.headline || warning.event, warning.drill ? h("span", { class: "badge drill", style: "margin-left:6px" }, t("alerts.drill")) : null),
    h("div", { class: "alert-meta" }, `${warning.sender} · ${formatTime(warning.start)} ${warning.end ? t("weather.until", { t: formatTime(warning.end) }) : ""}`),
    h("h3", {}, t("weather.board"), ` (${vessels.length})`),
    vessels.length
      ? h("table", { class: "grid" },
          h("thead", {}, h("tr", {}, ["weather.vessel", "weather.port", "weather.distance", "weather.eta"].map((k) => h("th", {}, t(k))))),
          h("tbody", {}, vessels.map((v) => h("tr", { style: "cursor:pointer", onclick: () => { focus(v.lon, v.lat); emit("select-vessel", v.vessel_id); } },
            h("td", {}, v.name || v.mmsi || `#${v.vessel_id}`),
            h("td", {}, v.nearest_port || "—"),
            h("td", {}, v.distance_nm != null ? `${v.distance_nm.toFixed(1)} ${t("unit.nm")}` : "—"),
            h("td", {}, formatTime(v.eta)),
          ))))
      : h("p", { class: "empty" }, t("weather.allIn")),
  );
}
