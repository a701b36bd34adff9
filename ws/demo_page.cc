#include "ws/demo_page.h"

#include <string_view>

#include "http/server.h"

namespace ringshard::ws {

namespace {

// Kept free of external resources so it works on a machine with no network
// and passes a strict reading of the page (no CDN, no fonts).
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringshard WebSocket demo</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  code, pre { font: 13px ui-monospace, monospace; }
  pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; }
  li.ok::marker { content: "\2713  "; color: #080; }
  li.bad::marker { content: "\2717  "; color: #c00; }
  #log { height: 12rem; overflow-y: auto; border: 1px solid #ccc; padding: .4rem; }
</style>
</head>
<body>
<h1>ringshard WebSocket demo</h1>
<p>This page talks to <code>/ws/echo</code> on the server that sent it.</p>
<h2>Self-test: <span id="verdict">running</span></h2>
<p>Extensions: <code id="extensions">-</code></p>
<ol id="steps"></ol>
<pre id="result"></pre>
<h2>Try it</h2>
<form id="form"><input id="input" size="40" value="Hello, ringshard" autocomplete="off">
<button>Send</button> <label><input type="checkbox" id="binary"> as binary</label></form>
<div id="log"></div>
<script>
"use strict";
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/echo";
const $ = (id) => document.getElementById(id);

function open(binaryType) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = binaryType || "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("could not connect to " + url));
  });
}

// The next `count` messages, in order; fails if the socket closes first.
function receive(ws, count) {
  return new Promise((resolve, reject) => {
    const got = [];
    ws.onmessage = (e) => { got.push(e.data); if (got.length === count) resolve(got); };
    ws.onclose = (e) => reject(new Error("closed early: " + e.code + " " + e.reason));
  });
}

function sameBytes(a, b) {
  if (!(a instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a), y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function bigText(n) {
  const words = ["ring", "shard", "uring", "κόσμε", "frame", "deflate", "€", "echo"];
  let s = "", seed = 7;
  while (s.length < n) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; s += words[seed % words.length] + " "; }
  return s.slice(0, n);
}

async function echo(ws, message) {
  const reply = receive(ws, 1);
  ws.send(message);
  const [got] = await reply;
  const ok = typeof message === "string" ? got === message : sameBytes(got, message);
  if (!ok) throw new Error("echo differs (" + (got.length ?? got.byteLength) + " back)");
}

async function selfTest() {
  const result = { pass: false, url, extensions: null, steps: [] };
  const step = async (name, fn) => {
    const t0 = performance.now();
    const li = document.createElement("li");
    li.textContent = name;
    $("steps").append(li);
    try {
      await fn();
      li.className = "ok";
      result.steps.push({ name, ok: true, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      li.className = "bad";
      li.textContent += ": " + e.message;
      result.steps.push({ name, ok: false, error: e.message });
      throw new Error(name + ": " + e.message);
    }
  };
  let ws;
  try {
    await step("connect", async () => { ws = await open(); });
    result.extensions = ws.extensions;
    $("extensions").textContent = ws.extensions || "(none)";
    await step("short text", () => echo(ws, "Hello, κόσμε! \u{1F44B}"));
    await step("100 KB text", () => echo(ws, bigText(100000)));
    await step("empty text", () => echo(ws, ""));
    const bytes = new Uint8Array(65536);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
    await step("64 KiB binary", () => echo(ws, bytes.buffer));
    await step("10 pipelined messages", async () => {
      const replies = receive(ws, 10);
      for (let i = 0; i < 10; i++) ws.send("message " + i);
      const got = await replies;
      got.forEach((m, i) => { if (m !== "message " + i) throw new Error("got " + m + " as reply " + i); });
    });
    await step("close 1000", () => new Promise((resolve, reject) => {
      ws.onclose = (e) => (e.code === 1000 && e.wasClean) ? resolve()
          : reject(new Error("closed with " + e.code + ", clean: " + e.wasClean));
      ws.close(1000, "done");
    }));
    result.pass = true;
    document.title = "PASS";
  } catch (e) {
    result.error = e.message;
    document.title = "FAIL: " + e.message;
  }
  $("verdict").textContent = result.pass ? "passed" : "failed";
  $("result").textContent = JSON.stringify(result, null, 1);
}

let live;
function log(text) {
  const line = document.createElement("div");
  line.textContent = text;
  $("log").append(line);
  $("log").scrollTop = $("log").scrollHeight;
}
$("form").onsubmit = async (e) => {
  e.preventDefault();
  if (!live || live.readyState !== WebSocket.OPEN) {
    live = await open();
    live.onmessage = (m) => log("< " + (typeof m.data === "string" ? m.data
        : "[binary " + m.data.byteLength + " bytes]"));
    live.onclose = (c) => log("closed " + c.code + " " + c.reason);
  }
  const text = $("input").value;
  const data = $("binary").checked ? new TextEncoder().encode(text).buffer : text;
  log("> " + text);
  live.send(data);
};
selfTest();
</script>
</body>
</html>
)html";

}  // namespace

void add_demo_page(http::Router& router) {
  router.add(http::Method::kGet, "/ws/demo", [](http::ServerRequest&, http::Response& res) {
    res.header("Cache-Control", "no-store");
    res.send(200, "text/html; charset=utf-8", kPage);
  });
}

}  // namespace ringshard::ws
