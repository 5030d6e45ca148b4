// The REST API with the bearer token. The token lives in sessionStorage: closing the browser signs out,
// and a shared console in a harbour office does not keep yesterday's duty officer signed in.

const KEY = "seawatch.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  if (raw && response.ok) return response;
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// Small DOM helper: h("div", {class: "x", onclick: fn}, child, "text", …)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// A modal form: fields [{name, label, type, value, options}] → resolves to {name: value} or null.
export function ask(title, fields, { okLabel, cancelLabel } = {}) {
  return new Promise((resolve) => {
    const dialog = document.getElementById("dialog");
    const form = h("form", { method: "dialog", class: "dialog-form" });
    form.append(h("h3", {}, title));
    const inputs = {};
    for (const field of fields) {
      let input;
      if (field.type === "select") {
        input = h("select", { name: field.name }, field.options.map(([v, label]) => h("option", { value: v, selected: v === field.value }, label)));
      } else if (field.type === "textarea") {
        input = h("textarea", { name: field.name, rows: 3 }, field.value || "");
      } else if (field.type === "text-readonly") {
        input = h("textarea", { name: field.name, rows: 3, readonly: true, class: "token-out" }, field.value || "");
      } else {
        input = h("input", { name: field.name, type: field.type || "text", value: field.value || "", required: field.required, pattern: field.pattern });
      }
      inputs[field.name] = input;
      form.append(h("label", {}, h("span", {}, field.label), input));
    }
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => { dialog.close(); resolve(null); } }, cancelLabel || "Cancel");
    const ok = h("button", { type: "submit", class: "primary", value: "ok" }, okLabel || "OK");
    form.append(h("div", { class: "dialog-buttons" }, cancelLabel === "" ? null : cancel, ok));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, input] of Object.entries(inputs)) values[name] = input.value;
      dialog.close();
      resolve(values);
    });
    dialog.replaceChildren(form);
    dialog.showModal();
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = h("div", { class: `toast ${kind}`, role: "status" }, message);
  box.append(el);
  setTimeout(() => el.remove(), 6000);
}
