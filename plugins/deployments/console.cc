// plugins/deployments/console.cc: the console page. Everything is inline
// (the page must work with no other route than the API itself); the
// script builds the table with textContent only, never innerHTML, so a
// deployment's name or image cannot inject markup.
//
// Live updates: the WebSocket opens first and the list loads after, so no
// change falls between the two; a status learnt from an event is kept over
// an older one in a list page that arrives later. After a drop the stream
// reconnects with ?since=<last seq> (no gap); on close code 4410 (history
// gone) it reloads the list and reconnects without it.
#include "plugins/deployments/console.h"

namespace ringshard::deployments {
namespace {

constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringshard deployments</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  fieldset { border: 1px solid #c9d1d9; border-radius: 6px; margin: 0 0 1rem; padding: .6rem .8rem; }
  label { margin-right: .8rem; }
  input { font: inherit; padding: .2rem .35rem; }
  input[type=number] { width: 6rem; }
  #token { width: 24rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e1e4e8; }
  td.status { font-weight: 600; }
  td.status[data-status=running] { color: #1a7f37; }
  td.status[data-status=failed] { color: #cf222e; }
  td.status[data-status=terminated], td.status[data-status=terminating] { color: #6e7781; }
  #error { color: #cf222e; min-height: 1.4em; }
  .muted { color: #6e7781; }
</style>
</head>
<body>
<h1>Deployments</h1>
<fieldset>
  <legend>Access</legend>
  <label>Token <input id="token" type="password" autocomplete="off" spellcheck="false"></label>
  <span class="muted">stream: <span id="stream-state">closed</span></span>
</fieldset>
<form id="create-form">
  <fieldset>
    <legend>New deployment</legend>
    <label>Name <input id="name" required maxlength="63" pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"></label>
    <label>Image <input id="image" required maxlength="255"></label>
    <label>CPU <input id="cpu" type="number" min="1" max="64" value="1" required></label>
    <label>Memory (MiB) <input id="memory" type="number" min="64" max="1048576" value="256" required></label>
    <button id="create" type="submit">Create</button>
  </fieldset>
</form>
<div id="error" role="alert"></div>
<table id="deployments">
  <thead><tr><th>Name</th><th>Image</th><th>CPU</th><th>Memory</th><th>Status</th><th>Id</th><th>Updated</th><th></th></tr></thead>
  <tbody></tbody>
</table>
<script>
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const tokenInput = $("token");
  const tbody = $("deployments").querySelector("tbody");
  const streamState = $("stream-state");
  const errorBox = $("error");
  // Status learnt from events, by id: newer than any list page loaded after.
  const eventStatus = new Map();
  let socket = null;
  let lastSeq = null;
  let retryMs = 500;
  let retryTimer = null;
  let generation = 0;

  function showError(text) { errorBox.textContent = text || ""; }

  function token() { return tokenInput.value.trim(); }

  function headers(extra) {
    const h = Object.assign({ "Accept": "application/json", "API-Version": "2026-12-01" }, extra || {});
    if (token()) h["Authorization"] = "Bearer " + token();
    return h;
  }

  async function api(method, path, body) {
    const init = { method: method, headers: headers(body ? { "Content-Type": "application/json" } : null) };
    if (body) {
      init.body = JSON.stringify(body);
      if (window.crypto && crypto.randomUUID) init.headers["Idempotency-Key"] = crypto.randomUUID();
    }
    const res = await fetch(path, init);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const msg = data && data.error ? data.error.message : res.status + " " + res.statusText;
      throw new Error(msg);
    }
    return data;
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function rowFor(id) {
    for (const tr of tbody.rows) if (tr.dataset.id === id) return tr;
    return null;
  }

  function setStatus(tr, status) {
    const td = tr.querySelector(".status");
    td.textContent = status;
    td.dataset.status = status;
    tr.querySelector("button").disabled = status === "terminating" || status === "terminated";
  }

  function upsert(d) {
    let tr = rowFor(d.id);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.id = d.id;
      tr.append(cell(d.name), cell(d.image), cell(String(d.resources.cpu)),
                cell(String(d.resources.memory)), cell("", "status"), cell(d.id, "id"),
                cell(d.updated_at, "updated"));
      const td = document.createElement("td");
      const del = document.createElement("button");
      del.type = "button";
      del.textContent = "Delete";
      del.addEventListener("click", () => remove(d.id));
      td.append(del);
      tr.append(td);
      tbody.append(tr);
    } else {
      tr.querySelector(".updated").textContent = d.updated_at;
    }
    setStatus(tr, eventStatus.get(d.id) || d.status);
  }

  async function remove(id) {
    showError("");
    try {
      upsert(await api("DELETE", "/v1/deployments/" + encodeURIComponent(id)));
    } catch (e) { showError(e.message); }
  }

  async function loadList() {
    showError("");
    const mine = generation;
    const seen = new Set();
    let cursor = "";
    try {
      for (let page = 0; page < 10; page++) {
        const q = "?limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
        const data = await api("GET", "/v1/deployments" + q);
        if (mine !== generation) return;
        for (const d of data.deployments) { seen.add(d.id); upsert(d); }
        if (!data.next_cursor) break;
        cursor = data.next_cursor;
      }
      for (const tr of Array.from(tbody.rows)) if (!seen.has(tr.dataset.id)) tr.remove();
    } catch (e) { showError(e.message); }
  }

  async function fetchOne(id) {
    try { upsert(await api("GET", "/v1/deployments/" + encodeURIComponent(id))); }
    catch (e) { /* deleted meanwhile, or no access: the next event or reload says */ }
  }

  function onEvent(ev) {
    if (!ev || ev.type !== "deployment.update") return;
    if (typeof ev.seq === "number") lastSeq = ev.seq;
    eventStatus.set(ev.deployment_id, ev.status);
    const tr = rowFor(ev.deployment_id);
    if (tr) {
      setStatus(tr, ev.status);
      tr.querySelector(".updated").textContent = ev.timestamp;
    } else {
      fetchOne(ev.deployment_id);
    }
  }

  function closeStream() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (socket) {
      const s = socket;
      socket = null;
      s.onclose = null;
      s.close(1000);
    }
    streamState.textContent = "closed";
  }

  function openStream() {
    closeStream();
    // Without a token (a server without auth) the stream is opened bare.
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = [];
    if (token()) query.push("access_token=" + encodeURIComponent(token()));
    if (lastSeq !== null) query.push("since=" + lastSeq);
    const url = scheme + "//" + location.host + "/v1/stream" + (query.length ? "?" + query.join("&") : "");
    const s = new WebSocket(url);
    socket = s;
    streamState.textContent = "connecting";
    let openedAt = 0;
    s.onopen = () => { if (socket === s) { streamState.textContent = "open"; openedAt = Date.now(); } };
    s.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { /* not an event */ } };
    s.onclose = (c) => {
      if (socket !== s) return;
      socket = null;
      streamState.textContent = "closed";
      if (c.code === 4410) {
        // The events after lastSeq are gone: start over from a fresh list.
        lastSeq = null;
        eventStatus.clear();
        loadList();
      }
      // Back off while connections fail early; a stream that lived a
      // while is retried at once.
      if (openedAt && Date.now() - openedAt > 10000) retryMs = 500;
      retryTimer = setTimeout(openStream, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  function start() {
    generation++;
    localStorage.setItem("ringshard.token", token());
    lastSeq = null;
    eventStatus.clear();
    tbody.replaceChildren();
    openStream();
    loadList();
  }

  $("create-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    $("create").disabled = true;
    try {
      upsert(await api("POST", "/v1/deployments", {
        name: $("name").value.trim(),
        image: $("image").value.trim(),
        resources: { cpu: Number($("cpu").value), memory: Number($("memory").value) },
      }));
      $("name").value = "";
    } catch (err) {
      showError(err.message);
    } finally {
      $("create").disabled = false;
    }
  });

  tokenInput.addEventListener("change", start);

  // #token=... fills the field once, then leaves the address bar (and the
  // history) so the token is not kept there.
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromHash = hash.get("token");
  if (fromHash) {
    tokenInput.value = fromHash;
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    tokenInput.value = localStorage.getItem("ringshard.token") || "";
  }
  start();
})();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view console_html() { return kPage; }

}  // namespace ringshard::deployments
