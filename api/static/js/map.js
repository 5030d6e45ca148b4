// The map: offline coast (always), online tiles (when configured), zones, vessels with heading and a
// colour for their state, clustered when zoomed out.
import { t, localName, onLangChange } from "./i18n.js";
import { api } from "./api.js";
import { state, emit, on } from "./store.js";

const L = window.L;
export let map;
let cluster;
const markers = new Map(); // vessel_id → L.Marker
let zonesLayer;
let weatherLayer;
let trackLayer;
let layersControl;
let legend;

export const ZONE_COLOURS = {
  prohibited: "#c40f1c",
  restricted: "#d95a00",
  protected: "#2e7d32",
  moratorium: "#8e24aa",
  fishing_area: "#00838f",
  harbour: "#1f5fbf",
  shelter: "#3949ab",
  anchorage: "#5c6bc0",
  shipping_lane: "#6d4c41",
};

const STATE_COLOURS = {
  critical: "#c40f1c",
  alert: "#d95a00",
  underway: "#1c7c3a",
  stopped: "#1f5fbf",
  stale: "#8a949e",
};

const STALE_MS = 15 * 60 * 1000;

export async function initMap(config) {
  const [lon1, lat1, lon2, lat2] = config.region;
  map = L.map("map", { zoomControl: true, zoomSnap: 0.25, minZoom: 5, maxZoom: 18 });
  map.fitBounds([[lat1, lon1], [lat2, lon2]]);
  map.createPane("coast");
  map.getPane("coast").style.zIndex = 250; // above tiles, below zones and vessels

  const overlays = {};
  const bases = {};
  if (config.tile_url) {
    const tiles = L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 18 });
    tiles.addTo(map);
    bases[t("map.tiles")] = tiles;
  }
  if (!config.tile_url) {
    // Offline, the coast data covers the region only: sea inside it, a neutral grey outside where
    // nothing is known, rather than blue that would claim open water.
    L.rectangle([[lat1, lon1], [lat2, lon2]], { pane: "coast", interactive: false, stroke: false, fillColor: "#b9d3e6", fillOpacity: 1 }).addTo(map);
  }
  const coast = L.geoJSON(null, {
    pane: "coast",
    interactive: false,
    style: { color: "#7d7358", weight: 1.2, fillColor: "#efe9da", fillOpacity: config.tile_url ? 0.0 : 1.0 },
    attribution: "Coast: GSHHG (Wessel &amp; Smith), LGPL-3.0",
  });
  coast.addTo(map);
  overlays[t("map.coast")] = coast;
  api("/api/console/coast.geojson")
    .then((data) => coast.addData(data))
    .catch((err) => console.error("coast layer", err));

  zonesLayer = L.geoJSON(null, {
    style: (f) => zoneStyle(f.properties.kind),
    onEachFeature: (f, layer) => layer.bindTooltip(() => `${localName(f.properties)} · ${t("zonekind." + f.properties.kind)}`, { sticky: true }),
  }).addTo(map);
  overlays[t("map.zones")] = zonesLayer;

  // Warning areas under the vessels, dashed so the zones beneath stay readable.
  weatherLayer = L.geoJSON(null, {
    style: (f) => ({ className: "weather-area", color: f.properties.extreme ? "#c40f1c" : "#d95a00", weight: 2, dashArray: "2 6", fillOpacity: 0.06 }),
    onEachFeature: (f, layer) => layer.bindTooltip(() => f.properties.headline, { sticky: true }),
  }).addTo(map);
  overlays[t("map.weather")] = weatherLayer;

  cluster = L.markerClusterGroup({ disableClusteringAtZoom: 12, maxClusterRadius: 50, showCoverageOnHover: false, chunkedLoading: true });
  cluster.addTo(map);
  overlays[t("map.vessels")] = cluster;

  trackLayer = L.layerGroup().addTo(map);
  layersControl = L.control.layers(bases, overlays, { collapsed: true, position: "topleft" }).addTo(map);
  L.control.scale({ imperial: false, metric: true, position: "bottomright" }).addTo(map);
  addLegend();
  onLangChange(() => {
    addLegend();
    for (const id of markers.keys()) refreshVessel(id);
  });
  map.on("moveend", () => emit("view", viewBox()));
  on("alerts-changed", () => {
    for (const id of markers.keys()) refreshVessel(id);
  });
}

export function viewBox() {
  // Padded so that vessels just off screen are already there when the dispatcher pans.
  const b = map.getBounds().pad(0.5);
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
}

export function zoneStyle(kind) {
  const colour = ZONE_COLOURS[kind] || "#444";
  const dashed = kind === "shipping_lane" || kind === "moratorium";
  return { color: colour, weight: 2, fillColor: colour, fillOpacity: kind === "moratorium" ? 0.04 : 0.12, dashArray: dashed ? "6 5" : null };
}

export function showZones(collection) {
  zonesLayer.clearLayers();
  zonesLayer.addData(collection);
}

// The areas of the warnings in force, as the weather panel lists them.
export function showWeather(warnings) {
  if (!weatherLayer) return;
  weatherLayer.clearLayers();
  for (const { warning } of warnings) {
    if (!warning.area) continue;
    const extreme = (warning.severity || "").toLowerCase() === "extreme";
    weatherLayer.addData({ type: "Feature", geometry: warning.area, properties: { headline: warning.headline || warning.event, extreme } });
  }
}

function addLegend() {
  if (legend) legend.remove();
  legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    const rows = [
      ["critical", "legend.distress"],
      ["alert", "legend.alert"],
      ["underway", "legend.underway"],
      ["stopped", "legend.stopped"],
      ["stale", "legend.stale"],
    ];
    div.innerHTML = `<b>${t("legend.title")}</b>` + rows.map(([k, key]) => `<div><i style="background:${STATE_COLOURS[k]}"></i>${t(key)}</div>`).join("");
    return div;
  };
  legend.addTo(map);
}

// The worst open alert for each vessel decides its colour before movement does.
function vesselAlertLevel(vesselId) {
  let level = null;
  for (const alert of state.alerts.values()) {
    if (alert.state === "resolved" || !alert.vessel || alert.vessel.id !== vesselId) continue;
    if (alert.severity === "critical") return "critical";
    level = "alert";
  }
  return level;
}

export function vesselStateKey(v, now = Date.now()) {
  const level = vesselAlertLevel(v.vessel_id);
  if (level) return level;
  if (v.ts && now - new Date(v.ts).getTime() > STALE_MS) return "stale";
  return (v.speed ?? 0) >= 1 ? "underway" : "stopped";
}

function vesselIcon(v) {
  const key = vesselStateKey(v);
  const colour = STATE_COLOURS[key];
  const heading = v.heading ?? v.course;
  const moving = heading !== null && heading !== undefined && (v.speed ?? 0) >= 0.5;
  const size = key === "critical" ? 34 : 28;
  // A pointed hull when we know where it is heading; a circle when it is stopped or heading is unknown.
  const shape = moving
    ? `<path d="M0,-13 L8,10 L0,5.5 L-8,10 Z" fill="${colour}" stroke="#000" stroke-width="1.2" transform="rotate(${heading})"/>`
    : `<circle r="7.5" fill="${colour}" stroke="#000" stroke-width="1.2"/>`;
  const ring = key === "critical" ? `<circle r="13" fill="none" stroke="${colour}" stroke-width="3"><animate attributeName="r" values="9;15;9" dur="1.2s" repeatCount="indefinite"/></circle>` : "";
  const drill = v.drill ? `<circle r="10" fill="none" stroke="#6a1b9a" stroke-width="2" stroke-dasharray="3 2"/>` : "";
  return L.divIcon({
    className: "vessel-icon",
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
    html: `<svg width="${size}" height="${size}" viewBox="-15 -15 30 30" data-vessel="${v.vessel_id}" data-state="${key}">${ring}${drill}${shape}</svg>`,
  });
}

export function vesselLabel(v) {
  return v.name || (v.mmsi ? `MMSI ${v.mmsi}` : `#${v.vessel_id}`);
}

export function refreshVessel(id) {
  const v = state.vessels.get(id);
  if (!v || v.lon == null || v.lat == null) return;
  let marker = markers.get(id);
  if (!marker) {
    marker = L.marker([v.lat, v.lon], { icon: vesselIcon(v), keyboard: false, riseOnHover: true });
    marker.on("click", () => emit("select-vessel", id));
    marker.bindTooltip(() => vesselLabel(state.vessels.get(id) || v), { direction: "top", offset: [0, -10] });
    markers.set(id, marker);
    cluster.addLayer(marker);
    return;
  }
  marker.setLatLng([v.lat, v.lon]);
  marker.setIcon(vesselIcon(v));
  // Cluster groups place markers once; a moved marker must be re-added so its cluster is right.
  if (cluster.hasLayer(marker)) cluster.refreshClusters(marker);
}

export function focus(lon, lat, zoom = 13) {
  map.setView([lat, lon], Math.max(map.getZoom(), zoom));
}

export function showTrack(points) {
  trackLayer.clearLayers();
  if (!points || points.length < 2) return;
  const line = L.polyline(points.map((p) => [p.lat, p.lon]), { color: "#0b2540", weight: 3, opacity: 0.85 });
  trackLayer.addLayer(L.polyline(line.getLatLngs(), { color: "#ffffff", weight: 6, opacity: 0.7 }));
  trackLayer.addLayer(line);
}

export function clearTrack() {
  trackLayer.clearLayers();
}

export function layerControl() {
  return layersControl;
}
