// The websocket: authenticate with the first message (a token in the URL would land in proxy logs),
// subscribe to alerts and positions in the map's view, resume with `since_seq` after any drop so no
// alert is ever missed, and re-subscribe when the view moves.
import { token } from "./api.js";
import { state, emit, on, TRAIL_MAX } from "./store.js";

let socket = null;
let view = null;
let retry = 1000;
let stopped = false;
let resubscribeTimer = null;

export function startLive(initialView) {
  view = initialView;
  stopped = false;
  connect();
  on("view", (box) => {
    view = box;
    clearTimeout(resubscribeTimer);
    resubscribeTimer = setTimeout(subscribe, 300);
  });
}

export function stopLive() {
  stopped = true;
  if (socket) socket.close(1000, "signed out");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  emit("connection", "connecting");
  socket.addEventListener("open", () => socket.send(JSON.stringify({ op: "auth", token: token() })));
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    socket = null;
    if (stopped) return;
    emit("connection", event.code === 4401 ? "unauthorized" : "down");
    if (event.code === 4401) return;
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  });
}

function subscribe() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ op: "subscribe", streams: ["alerts", "positions", "vessels"], bbox: view, since_seq: state.lastSeq }));
}

function handle(message) {
  if (message.stream === "control") {
    if (message.type === "welcome") subscribe();
    if (message.type === "subscribed") {
      retry = 1000;
      emit("connection", "live");
    }
    return;
  }
  if (message.stream === "alerts") {
    const alert = message.alert;
    const known = state.alerts.get(alert.id);
    state.alerts.set(alert.id, alert);
    state.lastSeq = Math.max(state.lastSeq, message.seq);
    emit("alert", { alert, isNew: !known });
    return;
  }
  if (message.stream === "vessels") {
    emit("vessel-event", message);
    return;
  }
  if (message.stream === "positions") {
    for (const delta of message.vessels) {
      const previous = state.vessels.get(delta.vessel_id);
      const trail = previous?.trail || [];
      if (delta.lon != null && delta.lat != null && (!trail.length || trail[trail.length - 1].ts !== delta.ts)) {
        trail.push({ ts: delta.ts, lon: delta.lon, lat: delta.lat, speed: delta.speed, course: delta.course });
        if (trail.length > TRAIL_MAX) trail.shift();
      }
      state.vessels.set(delta.vessel_id, { ...previous, ...delta, trail });
    }
    emit("positions", message.vessels.map((d) => d.vessel_id));
  }
}

// The picture before the first live delta: an API process without the rules has none to send on
// subscribe, so the console starts from GET /api/vessels (the tracker's latest state of each vessel).
export async function seedVessels(api) {
  let body;
  try {
    body = await api("/api/vessels?limit=5000");
  } catch {
    return; // an older server without the vessel list: live deltas fill the map
  }
  const ids = [];
  for (const v of body.vessels || []) {
    const p = v.position;
    if (!p || p.lon == null || p.lat == null || state.vessels.has(v.id)) continue;
    state.vessels.set(v.id, {
      vessel_id: v.id, mmsi: v.mmsi, name: v.name, lon: p.lon, lat: p.lat, speed: p.speed, course: p.course,
      heading: p.heading, status: p.status, source: p.source, ts: p.ts, drill: false,
      trail: [{ ts: p.ts, lon: p.lon, lat: p.lat, speed: p.speed, course: p.course }],
    });
    ids.push(v.id);
  }
  if (ids.length) emit("positions", ids);
}
