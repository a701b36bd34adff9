// The deployment API's console in headless Chromium (ctest
// integration.deployments_console; run_browser_test.sh installs playwright-core
// and runs this).
//
//   node console_test.js RINGSHARD NODE_MODULES CHROMIUM
//
// Starts the binary with the deployments plugin (127.0.0.1:0, 2 shards,
// plain HTTP, a temporary data directory, one read-write token, the
// simulated executor starting deployments after 300 ms), opens
// /v1/console#token=TOKEN, waits for the page's stream to be open
// (#stream-state says "open"), creates a deployment through the form
// (#name, #image, #cpu, #memory, #create), and watches its row (data-id)
// in #deployments go pending -> running without a reload: the page learns
// of the change from /v1/stream. The row's deployment is checked through
// the API. No error may reach the page's console. Everything is bounded by
// a watchdog; the server (by its own pid, and it dies with this process)
// and the browser are always stopped, the temporary directory removed.
"use strict";

const { spawn } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const [binary, nodeModules, chromiumPath] = process.argv.slice(2);
if (!binary || !nodeModules || !chromiumPath) {
  console.error("usage: node console_test.js RINGSHARD NODE_MODULES CHROMIUM");
  process.exit(2);
}
const { chromium } = require(path.join(nodeModules, "playwright-core"));

const WATCHDOG_MS = 120_000;
const STEP_MS = 15_000;
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync"];

const token = "rs_test_" + crypto.randomBytes(16).toString("hex");
const digest = crypto.createHash("sha256").update(token).digest("hex");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ringshard-console-"));
let server = null;
let browser = null;
let serverOutput = "";

function fail(message) {
  console.error("FAIL: " + message);
  if (serverOutput) console.error("ringshard stderr:\n" + serverOutput.slice(-8000));
  console.log("0 passed, 1 failed");
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
  fs.rmSync(work, { recursive: true, force: true });
}

const watchdog = setTimeout(() => fail(`no result within ${WATCHDOG_MS / 1000} s`), WATCHDOG_MS);

function startServer() {
  const config = path.join(work, "ringshard.toml");
  fs.writeFileSync(config, [
    "[plugins.deployments]",
    "rate_limit_burst = 1000000000",
    "rate_limit_per_second = 1000000",
    "[plugins.deployments.executor]",
    "start_delay_ms = 300",
    "stop_delay_ms = 300",
    "",
  ].join("\n"));
  const args = ["--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "off",
    "--shards", "2", "--data-dir", path.join(work, "data"), "--plugin", "deployments",
    "--config", config, "--auth-token", `rw:${digest}:deployments:read,deployments:write`];
  return new Promise((resolve, reject) => {
    // setpriv (util-linux) makes the server die with this process even if
    // it is killed outright; it execs, so the pid we signal is the server's.
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

function request(port, method, urlPath, auth) {
  return new Promise((resolve, reject) => {
    const headers = auth ? { Authorization: `Bearer ${token}` } : {};
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, headers, timeout: STEP_MS }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.end();
  });
}

// In the page: records every status each [data-id] row of #deployments
// shows, in order, as the DOM changes. A row's status is its data-status,
// a [data-status] or .status inside it, else the status word in its text.
function watchRows() {
  const root = document.querySelector("#deployments");
  if (!root) throw new Error("the page has no #deployments");
  const words = /\b(pending|running|failed|terminating|terminated)\b/;
  const statusOf = (row) => {
    if (row.dataset.status) return row.dataset.status;
    const inner = row.querySelector("[data-status]");
    if (inner) return inner.dataset.status;
    const cell = row.querySelector(".status");
    const m = words.exec((cell || row).textContent);
    return m ? m[1] : null;
  };
  window.__rows = {};
  const record = () => {
    for (const row of root.querySelectorAll("[data-id]")) {
      const seen = (window.__rows[row.dataset.id] ||= []);
      const s = statusOf(row);
      if (s && seen[seen.length - 1] !== s) seen.push(s);
    }
  };
  new MutationObserver(record).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  record();
}

async function main() {
  const port = await startServer();
  const base = `http://127.0.0.1:${port}`;
  const page0 = await request(port, "GET", "/v1/console", false);
  if (page0.status !== 200) return fail(`GET /v1/console answered ${page0.status}: ${page0.body.slice(0, 200)}`);
  if (!/^text\/html/.test(page0.type || "")) return fail(`GET /v1/console Content-Type ${page0.type}`);

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
                                    args: CHROMIUM_ARGS, timeout: 60_000 });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(`${msg.text()} (${msg.location().url || "no url"})`);
  });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  // The console's "Failed to load resource" line does not name the URL.
  page.on("response", (res) => {
    if (res.status() >= 400) pageErrors.push(`${res.request().method()} ${res.url()} answered ${res.status()}`);
  });
  await page.goto(`${base}/v1/console#token=${token}`, { timeout: 30_000 });
  try {
    await page.waitForFunction(() => {
      const s = document.querySelector("#stream-state");
      return s && s.textContent.trim() === "open";
    }, null, { timeout: STEP_MS });
  } catch (e) {
    const state = await page.textContent("#stream-state").catch(() => "(no #stream-state)");
    return fail(`#stream-state is "${state}", not "open", after ${STEP_MS / 1000} s; page errors: ${pageErrors.join("; ")}`);
  }
  console.log("  ok   the console's stream is open");

  await page.evaluate(watchRows);
  const name = "console-" + crypto.randomBytes(4).toString("hex");
  await page.fill("#name", name);
  await page.fill("#image", "nginx:1.27");
  await page.fill("#cpu", "1");
  await page.fill("#memory", "128");
  await page.click("#create");

  // The row of the new deployment, once it has shown running.
  let id;
  try {
    const handle = await page.waitForFunction(() => {
      for (const [rowId, seen] of Object.entries(window.__rows)) {
        if (seen.includes("running")) return rowId;
      }
      return null;
    }, null, { timeout: STEP_MS, polling: 50 });
    id = await handle.jsonValue();
  } catch (e) {
    const rows = await page.evaluate(() => JSON.stringify(window.__rows));
    return fail(`no row in #deployments showed running within ${STEP_MS / 1000} s; rows seen: ${rows}; page errors: ${pageErrors.join("; ")}`);
  }
  const seen = await page.evaluate((rowId) => window.__rows[rowId], id);
  console.log(`  row ${id}: ${seen.join(" -> ")}`);
  if (seen[0] !== "pending" || seen.indexOf("running") !== 1) {
    return fail(`row ${id} went ${seen.join(" -> ")}, want pending -> running`);
  }
  const got = await request(port, "GET", `/v1/deployments/${id}`, true);
  if (got.status !== 200) return fail(`GET /v1/deployments/${id} answered ${got.status}: ${got.body}`);
  const dep = JSON.parse(got.body);
  if (dep.name !== name || dep.image !== "nginx:1.27" || dep.resources?.cpu !== 1 || dep.resources?.memory !== 128) {
    return fail(`the row's deployment is not the one the form made: ${got.body}`);
  }
  if (dep.status !== "running") return fail(`the API says ${dep.status} where the page showed running`);
  const rowsNow = await page.evaluate(() => Object.keys(window.__rows).length);
  if (rowsNow !== 1) return fail(`${rowsNow} rows for one deployment made`);
  console.log("  ok   created through the form, pending -> running live");
  if (pageErrors.length) return fail("errors in the page: " + pageErrors.join("; "));

  await browser.close();
  browser = null;
  const code = await stopServer();
  if (code !== 0) return fail(`ringshard exited with ${code} after SIGTERM`);
  clearTimeout(watchdog);
  fs.rmSync(work, { recursive: true, force: true });
  console.log("1 passed, 0 failed");
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
