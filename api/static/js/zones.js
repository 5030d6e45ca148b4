// Zones on the map for everyone; for admins, an editor: draw a new outline by clicking corners, set
// id, name and kind, save; edit or delete an existing zone.
import { api, h, toast } from "./api.js";
import { t, localName, onLangChange } from "./i18n.js";
import { can } from "./store.js";
import { map, showZones, ZONE_COLOURS, zoneStyle } from "./map.js";

const L = window.L;
const KINDS = Object.keys(ZONE_COLOURS);
const panel = () => document.getElementById("panel-zones");
let zones = [];
let editing = null; // {feature|null, corners: [[lat, lon]], drawing: bool}
let sketch = null;

export async function initZones() {
  onLangChange(render);
  map.on("click", (event) => {
    if (!editing || !editing.drawing) return;
    editing.corners.push([event.latlng.lat, event.latlng.lng]);
    drawSketch();
    render();
  });
  await refresh();
}

async function refresh() {
  try {
    const collection = await api("/api/zones");
    zones = collection.features;
    showZones(collection);
  } catch (err) {
    zones = [];
  }
  render();
}

function drawSketch() {
  if (sketch) sketch.remove();
  sketch = null;
  if (!editing || !editing.corners.length) return;
  const style = { ...zoneStyle(editing.kind || "restricted"), weight: 3, dashArray: "4 4" };
  sketch = editing.corners.length >= 3 ? L.polygon(editing.corners, style) : L.polyline(editing.corners, style);
  sketch.addTo(map);
}

function startEdit(feature) {
  const corners = feature && feature.geometry.type === "Polygon" ? feature.geometry.coordinates[0].slice(0, -1).map(([lon, lat]) => [lat, lon]) : [];
  editing = { feature, corners, drawing: !feature, kind: feature?.properties.kind || "restricted" };
  drawSketch();
  render();
}

function stopEdit() {
  editing = null;
  drawSketch();
  render();
}

async function save(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  const properties = { ...(editing.feature?.properties || {}), name: data.name, kind: data.kind };
  delete properties.updated_at;
  if (data.id) properties.id = data.id;
  else delete properties.id;
  let geometry = editing.feature?.geometry;
  if (editing.drawing || !geometry) {
    const ring = editing.corners.map(([lat, lon]) => [Number(lon.toFixed(6)), Number(lat.toFixed(6))]);
    ring.push(ring[0]);
    geometry = { type: "Polygon", coordinates: [ring] };
  }
  const feature = { type: "Feature", properties, geometry };
  try {
    if (editing.feature) await api(`/api/zones/${encodeURIComponent(editing.feature.id)}`, { method: "PUT", body: feature });
    else await api("/api/zones", { method: "POST", body: feature });
    toast(t("zones.saved"));
    stopEdit();
    await refresh();
  } catch (err) {
    toast(t("zones.failed", { why: err.message }), "error");
  }
}

async function remove(feature) {
  if (!window.confirm(t("zones.confirmDelete", { name: localName(feature.properties) }))) return;
  try {
    await api(`/api/zones/${encodeURIComponent(feature.id)}`, { method: "DELETE" });
    await refresh();
  } catch (err) {
    toast(t("zones.failed", { why: err.message }), "error");
  }
}

function editor() {
  const f = editing.feature;
  const form = h("form", { class: "zone-editor", id: "zone-editor", onsubmit: (e) => { e.preventDefault(); save(e.target); } },
    h("label", {}, h("span", {}, t("zones.id")), h("input", { name: "id", value: f?.id || "", pattern: "[A-Za-z0-9][A-Za-z0-9._:\\-]{0,99}", readonly: !!f })),
    h("label", {}, h("span", {}, t("zones.name")), h("input", { name: "name", value: f?.properties.name || "", required: true, maxlength: 200 })),
    h("label", {}, h("span", {}, t("zones.kind")), h("select", { name: "kind", onchange: (e) => { editing.kind = e.target.value; drawSketch(); } },
      KINDS.map((k) => h("option", { value: k, selected: k === editing.kind }, t("zonekind." + k))))),
    editing.drawing ? h("p", {}, t("zones.drawHelp"), ` (${editing.corners.length})`) : null,
    h("div", { class: "row-buttons" },
      editing.drawing
        ? h("button", { type: "button", class: "secondary", onclick: () => { editing.corners.pop(); drawSketch(); render(); } }, t("zones.undo"))
        : h("button", { type: "button", class: "secondary", onclick: () => { editing.drawing = true; editing.corners = []; drawSketch(); render(); } }, t("zones.redraw")),
      h("button", { type: "button", class: "secondary", onclick: stopEdit }, t("zones.cancel")),
      h("button", { type: "submit", class: "primary", disabled: editing.drawing && editing.corners.length < 3 }, t("zones.save")),
    ),
  );
  return form;
}

function render() {
  const admin = can("zones.write");
  const parts = [];
  if (admin && editing) parts.push(editor());
  else if (admin) parts.push(h("div", { class: "panel-tools" }, h("span"), h("button", { type: "button", class: "primary", id: "zone-new", onclick: () => startEdit(null) }, t("zones.new"))));
  if (!zones.length) parts.push(h("p", { class: "empty" }, t("zones.none")));
  for (const f of zones) {
    parts.push(h("div", { class: "zone-row", dataset: { zoneId: f.id } },
      h("span", { class: "swatch", style: `background:${ZONE_COLOURS[f.properties.kind] || "#444"}` }),
      h("span", { class: "name", style: "cursor:pointer", onclick: () => map.fitBounds(L.geoJSON(f).getBounds().pad(0.2)) }, localName(f.properties)),
      h("span", { class: "kind" }, t("zonekind." + f.properties.kind)),
      admin && !editing ? h("button", { type: "button", class: "secondary", onclick: () => startEdit(f) }, t("zones.edit")) : null,
      admin && !editing ? h("button", { type: "button", class: "secondary", onclick: () => remove(f) }, t("zones.delete")) : null,
    ));
  }
  panel().replaceChildren(...parts);
}
