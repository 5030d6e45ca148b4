// The console's shared state and a tiny event bus. Modules read the state and react to events; only
// live.js and the REST calls change it.

export const state = {
  user: null, // {name, role}
  permissions: new Set(),
  config: null,
  vessels: new Map(), // vessel_id → latest delta, plus `trail`: [{ts, lon, lat, speed, course}] seen live
  alerts: new Map(), // alert id → alert JSON
  lastSeq: 0,
  selectedVessel: null,
};

// What each role may do, mirroring api/policy.py so the console shows only the actions a user has.
// The server enforces the policy regardless; this only hides buttons that would answer 403.
const POLICY = {
  "alerts.ack": ["operator", "dispatcher"],
  "alerts.note": ["operator", "dispatcher"],
  "alerts.assign": ["dispatcher"],
  "alerts.resolve": ["operator", "dispatcher"],
  "alerts.resolve_distress": ["dispatcher"],
  "zones.write": ["admin"],
  "users.manage": ["admin"],
  "history.read": ["official", "dispatcher", "operator", "admin"],
};

export function setUser(user) {
  state.user = user;
  state.permissions = new Set(Object.entries(POLICY).filter(([, roles]) => roles.includes(user.role)).map(([p]) => p));
}

export function can(permission) {
  return state.permissions.has(permission);
}

const handlers = new Map();

export function on(event, fn) {
  if (!handlers.has(event)) handlers.set(event, []);
  handlers.get(event).push(fn);
}

export function emit(event, data) {
  for (const fn of handlers.get(event) || []) {
    try {
      fn(data);
    } catch (err) {
      console.error(`handler for ${event} failed`, err);
    }
  }
}

export const TRAIL_MAX = 2000;
