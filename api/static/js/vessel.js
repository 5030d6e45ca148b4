// The vessel panel: identity, last report, the last 24 h of track on the map, voyages, and playback.
// Track and voyages come from the history API; until a vessel has stored history (or where the server
// has none), the positions this page has seen live stand in for the track.
import { api, h, toast } from "./api.js";
import { t, formatTime, ago, onLangChange, localName } from "./i18n.js";
import { state, on, emit } from "./store.js";
import { showTrack, clearTrack, vesselLabel } from "./map.js";
import { startPlayback } from "./playback.js";

const panel = () => document.getElementById("panel-vessel");
let history = null; // {vesselId, points, fromSession, voyages, detail}

export function initVessel() {
  on("select-vessel", (id) => {
    state.selectedVessel = id;
    emit("show-tab", "vessel");
    render();
    load(id);
  });
  on("positions", (ids) => {
    if (state.selectedVessel != null && ids.includes(state.selectedVessel)) render();
  });
  on("vessel-event", (event) => {
    const list = events.get(event.vessel.id) || [];
    list.unshift(event);
    events.set(event.vessel.id, list.slice(0, 20));
    const name = event.vessel.name || state.vessels.get(event.vessel.id)?.name || `#${event.vessel.id}`;
    toast(t(`event.${event.type}`, { vessel: name, zone: localName(event.zone) }));
    if (state.selectedVessel === event.vessel.id) render();
  });
  onLangChange(render);
  render();
}

const events = new Map(); // vessel id → arrivals and departures seen live, newest first

async function load(id) {
  history = { vesselId: id, points: [], fromSession: true, voyages: null, detail: null };
  const end = new Date();
  const start = new Date(end.getTime() - 24 * 3600 * 1000);
  const [track, voyages, detail] = await Promise.allSettled([
    api(`/api/vessels/${id}/track?start=${start.toISOString()}&end=${end.toISOString()}&format=json&simplify=10`),
    api(`/api/vessels/${id}/voyages`),
    api(`/api/vessels/${id}`),
  ]);
  if (state.selectedVessel !== id) return;
  if (track.status === "fulfilled" && Array.isArray(track.value?.points) && track.value.points.length > 1) {
    history.points = track.value.points;
    history.fromSession = false;
  }
  if (voyages.status === "fulfilled") history.voyages = voyages.value?.voyages ?? (Array.isArray(voyages.value) ? voyages.value : null);
  if (detail.status === "fulfilled") history.detail = detail.value;
  render();
}

function trackPoints() {
  if (!history) return [];
  if (!history.fromSession) return history.points;
  return state.vessels.get(history.vesselId)?.trail || [];
}

function fmt(value, digits = 1) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

function render() {
  const id = state.selectedVessel;
  const v = id == null ? null : state.vessels.get(id);
  if (v == null) {
    clearTrack();
    panel().replaceChildren(h("p", { class: "empty" }, t("vessel.pick")));
    return;
  }
  const detail = history?.vesselId === id ? history.detail : null;
  const owner = [detail?.owner_name, detail?.owner_contact].filter(Boolean).join(" · ");
  const facts = [
    ["vessel.mmsi", v.mmsi ?? detail?.mmsi ?? "—"],
    detail?.hull_number ? ["vessel.hull", detail.hull_number] : null,
    ["vessel.id", v.vessel_id],
    owner ? ["vessel.owner", owner] : null,
    detail?.home_port ? ["vessel.homePort", detail.home_port] : null,
    ["vessel.lastReport", v.ts ? `${formatTime(v.ts)} (${ago(v.ts)})` : "—"],
    ["vessel.position", v.lat != null ? `${fmt(v.lat, 5)}° N, ${fmt(v.lon, 5)}° E` : "—"],
    ["vessel.speed", `${fmt(v.speed)} ${t("unit.kn")}`],
    ["vessel.course", v.course != null ? `${fmt(v.course, 0)}°` : "—"],
    ["vessel.heading", v.heading != null ? `${fmt(v.heading, 0)}°` : "—"],
    ["vessel.status", v.status ?? "—"],
    ["vessel.source", v.source ?? "—"],
  ].filter(Boolean);
  const points = trackPoints();
  showTrack(points);
  const voyages = history?.vesselId === id ? history.voyages : null;
  panel().replaceChildren(
    h("div", { class: "vessel-name" }, v.name || vesselLabel(v) || t("vessel.unnamed"), v.drill ? h("span", { class: "badge drill", style: "margin-left:8px" }, t("alerts.drill")) : null),
    h("dl", { class: "facts" }, facts.map(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, String(value))])),
    h("h3", {}, t("vessel.track24")),
    points.length > 1
      ? h("p", {}, t("vessel.trackPoints", { n: points.length }), history?.fromSession ? h("small", {}, ` (${t("vessel.trackSession")})`) : null)
      : h("p", { class: "empty" }, t("vessel.noTrack")),
    h("button", { type: "button", class: "primary", id: "play-track", disabled: points.length < 2, onclick: () => startPlayback(v, trackPoints()) }, t("vessel.play")),
    h("h3", {}, t("vessel.voyages")),
    voyagesTable(voyages),
    (events.get(id) || []).length ? h("h3", {}, t("vessel.events")) : null,
    ...(events.get(id) || []).map((e) => h("div", { class: "alert-meta" }, `${formatTime(e.ts)} · ${t(`event.${e.type}`, { vessel: "", zone: localName(e.zone) }).trim()}`)),
  );
}

function voyagesTable(voyages) {
  if (!voyages || !voyages.length) return h("p", { class: "empty" }, t("vessel.noVoyages"));
  return h(
    "table",
    { class: "grid" },
    h("tbody", {}, voyages.slice(0, 20).map((voyage) =>
      h("tr", {},
        h("td", {}, formatTime(voyage.departed_at), h("br"), h("small", {}, voyage.from_zone_id || "")),
        h("td", {}, "→"),
        h("td", {}, voyage.arrived_at ? formatTime(voyage.arrived_at) : "…", h("br"), h("small", {}, voyage.to_zone_id || "")),
        h("td", {}, voyage.distance_nm != null ? `${fmt(voyage.distance_nm)} ${t("unit.nm")}` : ""),
      ))),
  );
}
