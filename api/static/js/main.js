// Console start-up: sign in with a token, then the map, the panels and the live stream.
import { api, setToken, token, ApiError } from "./api.js";
import { t, applyStatic, setLang, lang, onLangChange } from "./i18n.js";
import { state, setUser, can, on, emit } from "./store.js";
import { initMap, refreshVessel, viewBox } from "./map.js";
import { initAlerts, loadAlerts } from "./alerts.js";
import { initVessel } from "./vessel.js";
import { initPlayback } from "./playback.js";
import { initWeather } from "./weather.js";
import { initZones } from "./zones.js";
import { initUsers } from "./users.js";
import { startLive, stopLive, seedVessels } from "./live.js";
import { unlockAudio, setMuted, isMuted } from "./sound.js";

const el = (id) => document.getElementById(id);

function wireLanguage() {
  for (const button of document.querySelectorAll(".lang-switch")) {
    button.addEventListener("click", () => setLang(lang() === "en" ? "zh-CN" : "en"));
  }
}

async function signIn(candidate) {
  setToken(candidate);
  try {
    return await api("/api/me");
  } catch (err) {
    setToken(null);
    throw err;
  }
}

function showLogin(message = "") {
  el("app").hidden = true;
  el("login").hidden = false;
  el("login-error").textContent = message;
  el("login-token").focus();
}

el("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  unlockAudio();
  const value = el("login-token").value.trim();
  try {
    const me = await signIn(value);
    el("login-token").value = "";
    await start(me);
  } catch (err) {
    const key = err instanceof ApiError ? (err.status === 429 ? "login.limited" : "login.bad") : "login.offline";
    showLogin(t(key));
  }
});

async function start(me) {
  setUser(me);
  el("login").hidden = true;
  el("app").hidden = false;
  const who = () => el("who").replaceChildren(document.createTextNode(`${me.name} · `), Object.assign(document.createElement("b"), { textContent: t("role." + me.role) }));
  who();
  onLangChange(who);
  for (const tab of document.querySelectorAll("[data-needs]")) tab.hidden = !can(tab.dataset.needs);
  wireTabs();
  wireTop();

  state.config = await api("/api/console/config");
  await initMap(state.config);
  window.seawatchMap = (await import("./map.js")).map; // for the browser tests and the curious
  initAlerts();
  initVessel();
  initPlayback();
  initWeather();
  await Promise.allSettled([loadAlerts(), initZones(), initUsers()]);
  on("positions", (ids) => {
    for (const id of ids) refreshVessel(id);
    updateDrill();
  });
  on("drill-data", (value) => { drill.alerts = value; updateDrill(); });
  on("drill-weather", (value) => { drill.weather = value; updateDrill(); });
  updateDrill();
  await seedVessels(api);
  startLive(viewBox());
  document.body.dataset.ready = "true"; // for the browser tests: the console is up
}

const drill = { alerts: false, weather: false };

function updateDrill() {
  const vessels = [...state.vessels.values()].some((v) => v.drill);
  el("drill-banner").hidden = !(state.config?.drill_mode || drill.alerts || drill.weather || vessels);
}

function wireTabs() {
  const show = (name) => {
    for (const tab of document.querySelectorAll("[data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
  };
  for (const tab of document.querySelectorAll("[data-tab]")) tab.addEventListener("click", () => show(tab.dataset.tab));
  on("show-tab", show);
  show("alerts");
}

function wireTop() {
  el("logout").addEventListener("click", () => {
    // Signing out forgets the token on this browser; an admin revokes tokens (Users tab) when needed.
    stopLive();
    setToken(null);
    location.reload();
  });
  el("mute").addEventListener("click", () => {
    setMuted(!isMuted());
    el("mute").textContent = t(isMuted() ? "top.unmute" : "top.mute");
    el("mute").classList.toggle("muted", isMuted());
  });
  onLangChange(() => { el("mute").textContent = t(isMuted() ? "top.unmute" : "top.mute"); });
  on("connection", (status) => {
    const conn = el("conn");
    conn.className = `conn ${status === "live" ? "live" : status === "connecting" ? "" : "down"}`;
    conn.textContent = t(status === "live" ? "top.live" : status === "connecting" ? "top.connecting" : "top.disconnected");
    conn.dataset.status = status;
    if (status === "unauthorized") showLogin(t("login.bad"));
  });
}

applyStatic();
wireLanguage();
if (token()) {
  api("/api/me").then(start).catch(() => { setToken(null); showLogin(); });
} else {
  showLogin();
}
