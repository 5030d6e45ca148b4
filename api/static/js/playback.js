// Track playback: a marker walks the track as a time slider moves, by hand or playing at 60× speed
// (an hour of track in a minute; long gaps are skipped so a night in port does not stall it).
import { t } from "./i18n.js";
import { map, vesselLabel } from "./map.js";

const L = window.L;
let points = [];
let marker = null;
let timer = null;

const el = (id) => document.getElementById(id);

export function initPlayback() {
  el("playback-slider").addEventListener("input", () => show(Number(el("playback-slider").value)));
  el("playback-play").addEventListener("click", () => (timer ? pause() : play()));
  el("playback-close").addEventListener("click", stopPlayback);
}

export function startPlayback(vessel, track) {
  stopPlayback();
  points = track.filter((p) => p.lat != null && p.lon != null);
  if (points.length < 2) return;
  el("playback").hidden = false;
  el("playback-vessel").textContent = vesselLabel(vessel);
  const slider = el("playback-slider");
  slider.max = String(points.length - 1);
  slider.value = "0";
  // The bar took room from the map: resize first, then fit the whole track without animation.
  map.invalidateSize({ animate: false });
  map.fitBounds(L.latLngBounds(points.map((p) => [p.lat, p.lon])).pad(0.2), { animate: false, maxZoom: 15 });
  marker = L.circleMarker([points[0].lat, points[0].lon], { radius: 9, color: "#000", weight: 2, fillColor: "#ffbf00", fillOpacity: 1, pane: "markerPane" }).addTo(map);
  show(0);
}

export function stopPlayback() {
  pause();
  if (marker) marker.remove();
  marker = null;
  el("playback").hidden = true;
  map?.invalidateSize();
}

function show(index) {
  const p = points[index];
  if (!p || !marker) return;
  marker.setLatLng([p.lat, p.lon]);
  el("playback-slider").value = String(index);
  const speed = p.speed != null ? ` · ${Number(p.speed).toFixed(1)} ${t("unit.kn")}` : "";
  el("playback-time").textContent = `${new Date(p.ts).toLocaleString(document.documentElement.lang, { hour12: false })}${speed}`;
  el("playback-time").dataset.index = String(index);
}

function play() {
  el("playback-play").textContent = t("playback.pause");
  let index = Number(el("playback-slider").value);
  if (index >= points.length - 1) index = 0;
  const step = () => {
    if (index >= points.length - 1) return pause();
    const gap = (new Date(points[index + 1].ts) - new Date(points[index].ts)) / 60; // ms at 60×
    index += 1;
    show(index);
    timer = setTimeout(step, Math.min(Math.max(gap, 30), 1000));
  };
  timer = setTimeout(step, 30);
}

function pause() {
  clearTimeout(timer);
  timer = null;
  const button = el("playback-play");
  if (button) button.textContent = t("playback.play");
}
