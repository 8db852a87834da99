// Story2Video studio: live progress from the operation event streams, and the actions (regenerate, render,
// cancel) through the public API. No dependencies, no build step.
"use strict";

(function () {
  const FINAL = ["operation.succeeded", "operation.failed", "operation.cancelled"];
  const STAGE_EVENTS = ["operation.stage_completed"].concat(FINAL);

  function $(selector, root) { return (root || document).querySelector(selector); }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function newOperationId(kind) {
    const random = Math.random().toString(36).slice(2, 8);
    return `studio-${kind}-${Date.now().toString(36)}-${random}`;
  }

  function notice(message, kind) {
    const box = $("#notice");
    if (!box) return;
    box.hidden = false;
    box.className = `notice ${kind || "info"}`;
    box.textContent = message;
  }

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { "X-Studio-Request": "1" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.status === 401) {
      window.location.assign(`/studio/login?next=${encodeURIComponent(window.location.pathname)}`);
    }
    if (!response.ok) {
      const message = data && data.message ? `${data.code}: ${data.message}` : `HTTP ${response.status}`;
      throw new Error(message);
    }
    return data;
  }

  async function refresh(container) {
    const url = container && container.dataset.refresh;
    if (!url) return;
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign(`/studio/login?next=${encodeURIComponent(window.location.pathname)}`);
      return;
    }
    if (response.ok) container.innerHTML = await response.text();
  }

  // --- live operations ----------------------------------------------------------------------------------

  const watched = new Map();

  function liveRow(operationId, label) {
    let row = $(`.live-op[data-operation-id="${operationId}"]`);
    if (row) return row;
    row = el("div", { class: "live-op card", "data-operation-id": operationId, "data-status": "queued",
                      "data-percent": "0" });
    const head = el("div", { class: "live-head" });
    head.append(el("strong", { class: "live-label" }, label || operationId),
                el("span", { class: "badge live-status status-queued" }, "queued"),
                el("span", { class: "live-stage muted" }, ""));
    const cancel = el("button", { type: "button", class: "cancel" }, "Cancel");
    cancel.addEventListener("click", () => cancelOperation(operationId, cancel));
    head.append(cancel);
    const bar = el("progress", { max: "100", value: "0", class: "live-bar" });
    const pct = el("span", { class: "live-pct" }, "0%");
    const steps = el("ol", { class: "live-steps" });
    const error = el("p", { class: "error live-error", hidden: "" });
    row.append(head, bar, pct, steps, error);
    $("#live").prepend(row);
    return row;
  }

  function show(row, data) {
    const progress = data.progress || {};
    const percent = typeof progress.percent === "number" ? progress.percent : 0;
    const status = data.status || row.dataset.status;
    row.dataset.status = status;
    row.dataset.percent = String(percent);
    $(".live-bar", row).value = percent;
    $(".live-pct", row).textContent = `${percent.toFixed(0)}%`;
    const badge = $(".live-status", row);
    badge.textContent = status;
    badge.className = `badge live-status status-${status}`;
    $(".live-stage", row).textContent = data.stage || progress.stage || "";
  }

  function finish(operationId, row, data) {
    const entry = watched.get(operationId);
    if (entry && entry.source) entry.source.close();
    if (entry && entry.timer) clearInterval(entry.timer);
    watched.delete(operationId);
    show(row, data);
    const cancel = $(".cancel", row);
    if (cancel) cancel.remove();
    if (data.error) {
      const error = $(".live-error", row);
      error.hidden = false;
      error.textContent = `${data.error.code}: ${data.error.message}`;
    }
    row.classList.add("ended");
    refresh($("#panel")).then(() => {
      const status = $("#film") && $("#film").dataset.storyStatus;
      if (status && $("#story-status")) $("#story-status").textContent = status;
    });
  }

  function poll(operationId, row) {
    // Without the event stream (it could not be opened): read the operation every second.
    const entry = watched.get(operationId) || {};
    if (entry.timer) return;
    entry.timer = setInterval(async () => {
      try {
        const op = await api("GET", `/api/v1/operations/${operationId}`);
        if (["succeeded", "failed", "cancelled"].includes(op.status)) finish(operationId, row, op);
        else show(row, op);
      } catch (_) { /* try again */ }
    }, 1000);
    watched.set(operationId, entry);
  }

  function watch(operationId, label) {
    if (watched.has(operationId)) return;
    const row = liveRow(operationId, label);
    const source = new EventSource(`/api/v1/operations/${operationId}/events?progress=true`);
    watched.set(operationId, { source });
    source.addEventListener("progress", (message) => show(row, JSON.parse(message.data)));
    STAGE_EVENTS.forEach((name) => source.addEventListener(name, (message) => {
      const event = JSON.parse(message.data);
      if (name === "operation.stage_completed") {
        $(".live-steps", row).append(el("li", { "data-event-id": event.event_id }, `✓ ${event.stage}`));
        show(row, event);
      } else {
        finish(operationId, row, event);
      }
    }));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && watched.has(operationId)) {
        source.close();
        poll(operationId, row);
      }
    };
  }

  async function cancelOperation(operationId, button) {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/operations/${operationId}/cancel`);
    } catch (error) {
      notice(`Cancel failed: ${error.message}`, "error");
      button.disabled = false;
    }
  }

  // --- actions ------------------------------------------------------------------------------------------

  function storyData() {
    const node = $("#studio-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  async function start(path, body, label) {
    try {
      const op = await api("POST", path, body);
      notice(`${label}: ${op.operation_id} ${op.status}`, "info");
      watch(op.operation_id, label);
      return op;
    } catch (error) {
      notice(`${label} refused — ${error.message}`, "error");
      return null;
    }
  }

  function renderBody(form, data) {
    const body = { operation_id: newOperationId("render"), story_id: data.story_id, user_id: data.user_id };
    const fields = new FormData(form);
    for (const [name, value] of fields.entries()) {
      if (value === "") continue;
      if (name === "transition_s") body[name] = Number(value);
      else if (name === "burn_subtitles") body[name] = value === "true";
      else body[name] = value;
    }
    return body;
  }

  function regenerateBody(form, data) {
    const shotId = form.dataset.shotId;
    const body = { operation_id: newOperationId("regen"), story_id: data.story_id, user_id: data.user_id,
                   shot_id: shotId };
    for (const field of form.elements) {
      if (!field.name) continue;
      let initial = field.defaultValue;
      if (field.tagName === "SELECT") {
        const chosen = Array.from(field.options).find((option) => option.defaultSelected) || field.options[0];
        initial = chosen ? chosen.value : "";
      }
      if (field.value.trim() !== (initial || "").trim()) body[field.name] = field.value;
    }
    return body;
  }

  function storyPage() {
    const data = storyData();
    if (!data) return;
    (data.active || []).forEach((operationId) => watch(operationId));
    const renderForm = $("#render-form");
    renderForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = $("#render-button");
      button.disabled = true;
      await start("/api/v1/video/render", renderBody(renderForm, data), "render");
      button.disabled = false;
    });
    $("#panel").addEventListener("submit", async (event) => {
      const form = event.target;
      if (!form.classList.contains("regen-form")) return;
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const op = await start("/api/v1/shot/regenerate", regenerateBody(form, data), `regenerate ${form.dataset.shotId}`);
      if (!op) button.disabled = false;
    });
  }

  function indexPage() {
    const container = $("#operations");
    if (!container) return;
    setInterval(() => { if (!document.hidden) refresh(container); }, 3000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.classList.contains("page-story")) storyPage();
    if (document.body.classList.contains("page-index")) indexPage();
  });
})();
