// Headless Chromium against the ringshard binary (ctest integration.ws_browser;
// run_browser_test.sh installs playwright-core and runs this).
//
//   node ws_browser_test.js RINGSHARD NODE_MODULES CHROMIUM
//
// Starts the binary (127.0.0.1:0, 2 shards, plain HTTP), opens the page the
// server itself serves at /ws/demo, and waits for the page's self-test over
// /ws/echo (texts up to 100 KB, a binary ArrayBuffer, pipelined messages, a
// clean close). Passes when the page says PASS and the browser negotiated
// permessage-deflate (Chromium offers it by default). Then a second page on
// the same origin checks /ws/chat in the browser: two sockets, one channel.
// Everything is bounded by a watchdog; the server and the browser are
// always stopped, the server by its own pid (and it dies with this process).
"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const path = require("path");

const [binary, nodeModules, chromiumPath] = process.argv.slice(2);
if (!binary || !nodeModules || !chromiumPath) {
  console.error("usage: node ws_browser_test.js RINGSHARD NODE_MODULES CHROMIUM");
  process.exit(2);
}
const { chromium } = require(path.join(nodeModules, "playwright-core"));

const WATCHDOG_MS = 120_000;
// The machine has no network: these keep Chromium from trying to reach it.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync"];

let server = null;
let browser = null;
let serverOutput = "";

function fail(message) {
  console.error("FAIL: " + message);
  if (serverOutput) console.error("ringshard stderr:\n" + serverOutput);
  cleanup().finally(() => process.exit(1));
}

async function cleanup() {
  if (browser) {
    const b = browser;
    browser = null;
    await b.close().catch(() => {});
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill("SIGKILL");
  }
}

const watchdog = setTimeout(() => fail(`no result within ${WATCHDOG_MS / 1000} s`), WATCHDOG_MS);

function startServer() {
  return new Promise((resolve, reject) => {
    const args = ["--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "off", "--no-plugins",
                  "--shards", "2"];
    // setpriv (util-linux) makes the server die with this process even if
    // it is killed outright, e.g. by ctest's timeout; it execs, so the pid
    // we signal is the server's own.
    const setpriv = "/usr/bin/setpriv";
    server = fs.existsSync(setpriv)
      ? spawn(setpriv, ["--pdeathsig", "KILL", "--", binary, ...args], { stdio: ["ignore", "ignore", "pipe"] })
      : spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    server.on("error", reject);
    server.on("exit", (code, sig) => reject(new Error(`ringshard exited (${code ?? sig}) before listening`)));
    server.stderr.on("data", (chunk) => {
      serverOutput += chunk.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(serverOutput);
      if (m) resolve(Number(m[1]));
    });
  });
}

function stopServer() {
  return new Promise((resolve) => {
    server.removeAllListeners("exit");
    if (server.exitCode !== null) return resolve(server.exitCode);
    server.on("exit", (code, sig) => resolve(code ?? 128));
    server.kill("SIGTERM");
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"], body }));
    }).on("error", reject);
  });
}

// Runs in the page: two /ws/chat sockets, one joins a channel, the other
// joins and publishes; the first must get the message.
async function chatInPage() {
  const url = "ws://" + location.host + "/ws/chat";
  const open = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("could not open " + url));
  });
  const next = (ws) => new Promise((resolve) => { ws.onmessage = (e) => resolve(JSON.parse(e.data)); });
  const a = await open();
  const b = await open();
  for (const ws of [a, b]) {
    const joined = next(ws);
    ws.send(JSON.stringify({ type: "join_channel", channel: "browser" }));
    if ((await joined).type !== "joined") throw new Error("join failed");
  }
  const got = next(a);
  b.send(JSON.stringify({ type: "channel_message", channel: "browser", message: { hi: "κόσμε" } }));
  const m = await got;
  a.close(1000);
  b.close(1000);
  return m;
}

async function main() {
  const port = await startServer();
  const base = `http://127.0.0.1:${port}`;
  const page0 = await get(base + "/ws/demo");
  if (page0.status !== 200) {
    return fail(`GET /ws/demo answered ${page0.status}: is ws::add_demo_page() called in ServerApp?`);
  }
  if (page0.type !== "text/html; charset=utf-8") {
    return fail(`GET /ws/demo Content-Type ${page0.type}`);
  }

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
                                    args: CHROMIUM_ARGS, timeout: 60_000 });
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
  page.on("pageerror", (err) => consoleErrors.push(err.message));
  await page.goto(base + "/ws/demo", { timeout: 30_000 });
  await page.waitForFunction(() => document.title === "PASS" || document.title.startsWith("FAIL"),
                             null, { timeout: 60_000 });
  const title = await page.title();
  const result = JSON.parse(await page.textContent("#result"));
  console.log(`${browser.version()}: ${title}; extensions "${result.extensions}"`);
  for (const s of result.steps) console.log(`  ${s.ok ? "ok  " : "FAIL"} ${s.name}${s.ok ? ` (${s.ms} ms)` : ": " + s.error}`);
  if (title !== "PASS" || !result.pass) return fail(`the page's self-test: ${title}`);
  if (!/(^|,\s*)permessage-deflate(;|,|$)/.test(result.extensions || "")) {
    return fail(`permessage-deflate was not negotiated (ws.extensions = "${result.extensions}")`);
  }
  if (consoleErrors.length) return fail("errors in the page: " + consoleErrors.join("; "));

  const chat = await page.evaluate(chatInPage);
  const want = { type: "channel_message", channel: "browser", message: { hi: "κόσμε" } };
  if (JSON.stringify(chat) !== JSON.stringify(want)) {
    return fail(`/ws/chat in the browser: got ${JSON.stringify(chat)}`);
  }
  console.log("  ok   /ws/chat channel message between two browser sockets");

  await browser.close();
  browser = null;
  const code = await stopServer();
  if (code !== 0) return fail(`ringshard exited with ${code} after SIGTERM`);
  clearTimeout(watchdog);
  console.log("PASS");
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
