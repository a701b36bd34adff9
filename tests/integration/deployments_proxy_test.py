#!/usr/bin/python3
"""The deployment API behind a ringshard load balancer, end to end (ctest
integration.deployments_proxy).

    deployments_proxy_test.py PATH/TO/ringshard SOURCE_DIR [-k SUBSTRING]

Starts two deployment-API nodes (deployments_support.py's DeploymentsServer:
127.0.0.1:0, plain HTTP, each its own data directory, both with the same
two tokens) and a third ringshard as their load balancer: --no-plugins and
the README's config/load-balancer.example.toml, its backends replaced by
--upstream nodes=127.0.0.1:P1,127.0.0.1:P2, its listeners on port 0.

Each node has its own SQLite store, so a deployment lives on the node that
took its create. The example balances with maglev on the Authorization
header: one token always reaches the same node, and that is what makes the
API work through the balancer. The tests check exactly that:
  - create (201), get, list, wait, delete (202), batch through the balancer,
    and the deployment is found on exactly one node, directly;
  - /v1/stream through the balancer (a relayed WebSocket upgrade) gets the
    deployment.update events of a create made through the balancer;
  - each token's deployments are all on one node; 64 unknown tokens (64
    hash keys) reach both nodes (consistent hashing spreads keys), their
    401s counted per backend by the balancer's
    ringshard_upstream_responses_total{class="4xx"};
  - the balancer's /metrics (admin listener) has the upstream families
    for both backends, both up, health probes sent, the upgrade counted.

Exit status: 0 all passed, 1 a test failed, 77 python3-websockets is
missing. Every process is started by this script and stopped by its pid.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import http.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deployments_support import (  # noqa: E402
    SCOPE_READ, SCOPE_WRITE, Client, DeploymentsServer, ServerError, TestFailure, Token,
    batch_request, batch_results, check, create_body, expect_equal, expect_status, list_page,
    run_tests, slowdown, stream_event_ok, unique)
from ws_python_support import _LISTENING, _die_with_parent, terminate  # noqa: E402

try:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatusCode
except ImportError as e:
    print(f"SKIP: python3-websockets is not installed for {sys.executable} ({e})")
    sys.exit(77)

SUITE_BUDGET_S = 120.0
STEP_S = 15.0
SLOW = 1
UPSTREAM = "nodes"
PROBES = ("ringshard_proxy_health_checks_total", frozenset({("upstream", UPSTREAM)}))
_ADMIN = re.compile(rb"admin on 127\.0\.0\.1:(\d+)")


def slow(seconds):
    return seconds * SLOW


class Balancer:
    """ringshard --no-plugins with the example config, in front of `backends`
    (ports). Its HTTP and admin ports come from stderr ("listening on",
    "admin on"); stop() is SIGTERM then a wait, to this child's pid only."""

    def __init__(self, binary, config_path, backends, shards=2, start_timeout=30.0):
        self.dir = tempfile.mkdtemp(prefix="ringshard-lb-")
        self.args = [binary, "--no-plugins", "--config", config_path,
                     "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                     "--tls-listen", "off", "--shards", str(shards),
                     "--data-dir", os.path.join(self.dir, "data"),
                     "--upstream", f"{UPSTREAM}=" + ",".join(f"127.0.0.1:{p}" for p in backends)]
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.admin_port = None
        self._lines = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None

    def start(self):
        with self._lock:
            self._lines.append("---- balancer: " + " ".join(self.args) + "\n")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._ready.wait(self.start_timeout) or self.port is None or self.admin_port is None:
            self.stop(2.0)
            raise ServerError(f"the balancer did not report its ports; stderr:\n{self.output()}")

    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            with self._lock:
                self._lines.append(line.decode("utf-8", "replace"))
            m = _LISTENING.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
            m = _ADMIN.search(line)
            if m and self.admin_port is None:
                self.admin_port = int(m.group(1))
            if self.port is not None and self.admin_port is not None:
                self._ready.set()
        self._ready.set()

    def output(self):
        with self._lock:
            return "".join(self._lines)

    def stop(self, timeout=20.0):
        if self.proc is None:
            return None
        return terminate(self.proc, self._reader, timeout)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def metrics(self):
        """{(family, frozenset(labels.items())): value} of the admin /metrics."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=STEP_S)
        try:
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            text = r.read().decode()
        finally:
            conn.close()
        check(r.status == 200, f"balancer /metrics answered {r.status}")
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
            if not m:
                continue
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
        return out


BINARY = None
CONFIG = None
NODES = []      # the two DeploymentsServer
LB = None
TOKENS = []     # the same two tokens on both nodes


def backend_label(node):
    return f"127.0.0.1:{node.port}"


def upstream_requests(metrics):
    """Requests the balancer sent to each node, by node index."""
    out = []
    for n in NODES:
        key = ("ringshard_upstream_requests_total",
               frozenset({("upstream", UPSTREAM), ("backend", backend_label(n))}))
        check(key in metrics, f"no ringshard_upstream_requests_total for {backend_label(n)} "
                              f"on the balancer's /metrics")
        out.append(metrics[key])
    return out


def lb_client(token):
    return Client(LB.port, token.secret, timeout=STEP_S)


def node_client(node, token):
    return Client(node.port, token.secret, timeout=STEP_S)


def home_of(dep_id, token):
    """The indices of the nodes that have dep_id, asked directly."""
    found = []
    for i, n in enumerate(NODES):
        c = node_client(n, token)
        try:
            r = c.get(f"/v1/deployments/{dep_id}")
        finally:
            c.close()
        expect_status(r, (200, 404), f"GET {dep_id} directly on node {i}")
        if r.status == 200:
            found.append(i)
    return found

# ---------------------------------------------------------------------------


def test_crud_through_the_balancer():
    tok = TOKENS[0]
    c = lb_client(tok)
    try:
        m = LB.metrics()
        before = upstream_requests(m)
        probes_before = m.get(PROBES, 0)
        body = create_body(unique("lb"))
        r = c.post("/v1/deployments", body)
        expect_status(r, 201, "create through the balancer")
        dep = r.json()
        expect_equal(dep.get("name"), body["name"], "created name")
        check(r.header("Location") == f"/v1/deployments/{dep['id']}",
              f"Location {r.header('Location')!r}")
        check(r.header("Via") is not None and "ringshard" in r.header("Via"),
              f"no Via from the balancer: {r.headers}")
        homes = home_of(dep["id"], tok)
        expect_equal(len(homes), 1, f"nodes holding {dep['id']}")
        home = homes[0]

        got = c.get_deployment(dep["id"], "get through the balancer")
        expect_equal(got.get("id"), dep["id"], "get id")
        r = c.get("/v1/deployments?limit=1000")
        expect_status(r, 200, "list through the balancer")
        items, _ = list_page(r)
        check(any(d["id"] == dep["id"] for d in items), "the list through the balancer lacks it")
        c.wait_for(dep["id"], "running", timeout_ms=slow(10_000))
        r = c.delete(f"/v1/deployments/{dep['id']}")
        expect_status(r, 202, "delete through the balancer")
        expect_equal(r.json().get("status"), "terminating", "status after delete")
        c.wait_for(dep["id"], "terminated", timeout_ms=slow(10_000))

        new_body = create_body(unique("lb-batch"))
        r = c.post("/v1/batch", batch_request([("create", new_body), ("get", dep["id"])]))
        expect_status(r, 200, "batch through the balancer")
        res = batch_results(r)
        expect_equal([s for s, _ in res], [201, 200], "batch statuses")
        expect_equal(res[0][1].get("name"), new_body["name"], "batch create name")
        expect_equal(res[1][1].get("status"), "terminated", "batch get status")
        expect_equal(home_of(res[0][1]["id"], tok), [home], "node of the batch's create")

        # Every one of these went to the token's node, none to the other:
        # that one got the balancer's health probes at most (they go through
        # the same pools, so they count as requests too).
        m = LB.metrics()
        after = upstream_requests(m)
        probes = m[PROBES] - probes_before
        other = 1 - home
        check(after[home] - before[home] >= 7,
              f"node {home} got {after[home] - before[home]} requests, want >= 7")
        check(after[other] - before[other] <= probes,
              f"node {other} got {after[other] - before[other]} requests, more than the "
              f"{probes:.0f} health probes")
    finally:
        c.close()


async def stream_through_the_balancer():
    tok = TOKENS[0]
    # since=0: the history first, then live, without a gap, so the create
    # below is seen even if the node subscribes this stream after the 101.
    try:
        ws = await websockets.connect(f"ws://127.0.0.1:{LB.port}/v1/stream?since=0",
                                      extra_headers={"Authorization": f"Bearer {tok.secret}"},
                                      open_timeout=slow(STEP_S), max_size=1 << 20,
                                      max_queue=None)
    except InvalidStatusCode as e:
        raise TestFailure(f"the upgrade through the balancer was answered {e.status_code}, "
                          f"want 101")
    try:
        c = lb_client(tok)
        try:
            dep = await asyncio.to_thread(c.create, unique("lb-stream"))
            seen = []
            end = time.monotonic() + slow(STEP_S)
            while "running" not in seen:
                left = end - time.monotonic()
                check(left > 0, f"stream: no running event for {dep['id']} (got {seen})")
                try:
                    msg = await asyncio.wait_for(ws.recv(), left)
                except asyncio.TimeoutError:
                    raise TestFailure(f"stream: no running event for {dep['id']} (got {seen})")
                except ConnectionClosed as e:
                    raise TestFailure(f"stream closed through the balancer ({e.code} {e.reason!r})")
                ev = json.loads(msg)
                check(stream_event_ok(ev), f"not a deployment.update event: {msg[:200]}")
                if ev["deployment_id"] == dep["id"]:
                    seen.append(ev["status"])
            expect_equal(seen, ["pending", "running"], f"events of {dep['id']} in order")
        finally:
            c.close()
    finally:
        await ws.close()


def test_stream_through_the_balancer():
    before = LB.metrics()
    asyncio.run(asyncio.wait_for(stream_through_the_balancer(), slow(60)))
    key = ("ringshard_proxy_websocket_upgrades_total", frozenset({("upstream", UPSTREAM)}))
    after = LB.metrics()
    check(key in after, "no ringshard_proxy_websocket_upgrades_total on the balancer")
    check(after[key] - before.get(key, 0) >= 1,
          f"upgrades relayed: {before.get(key, 0)} -> {after[key]}")


def test_each_token_sticks_to_one_node():
    for tok in TOKENS:
        c = lb_client(tok)
        try:
            deps = [c.create(unique("stick")) for _ in range(4)]
        finally:
            c.close()
        homes = {tuple(home_of(d["id"], tok)) for d in deps}
        check(len(homes) == 1 and len(next(iter(homes))) == 1,
              f"token {tok.name}: its deployments are on nodes {sorted(homes)}, want one node")


def rejected_by_node(metrics):
    """4xx answers each node gave the balancer (health probes never get one)."""
    return [metrics.get(("ringshard_upstream_responses_total",
                         frozenset({("upstream", UPSTREAM), ("backend", backend_label(n)),
                                    ("class", "4xx")})), 0) for n in NODES]


def test_keys_spread_over_both_nodes():
    before = rejected_by_node(LB.metrics())
    c = Client(LB.port, None, timeout=STEP_S)
    try:
        # 64 unknown tokens, 64 hash keys: maglev gives each of the two
        # backends about half of the keys (all on one node: odds 2^-63).
        # Each node answers 401, passed through; the 4xx count per backend
        # says which node each went to.
        for i in range(64):
            r = c.get("/v1/deployments", token=f"unknown-{i}")
            expect_status(r, 401, f"an unknown token through the balancer ({i})")
    finally:
        c.close()
    got = [a - b for a, b in zip(rejected_by_node(LB.metrics()), before)]
    expect_equal(sum(got), 64, f"4xx answers of the nodes ({got})")
    check(all(g > 0 for g in got), f"64 keys reached only one node: {got}")


def test_balancer_metrics():
    m = LB.metrics()
    for n in NODES:
        labels = frozenset({("upstream", UPSTREAM), ("backend", backend_label(n))})
        for fam in ("ringshard_upstream_requests_total", "ringshard_upstream_connects_total",
                    "ringshard_upstream_backend_up", "ringshard_upstream_backend_healthy",
                    "ringshard_upstream_backend_ejected", "ringshard_upstream_ejections_total"):
            check((fam, labels) in m, f"{fam} for {backend_label(n)} missing on /metrics")
        expect_equal(m[("ringshard_upstream_backend_up", labels)], 1.0,
                     f"{backend_label(n)} up")
        expect_equal(m[("ringshard_upstream_backend_ejected", labels)], 0.0,
                     f"{backend_label(n)} ejected")
    group = frozenset({("upstream", UPSTREAM)})
    for fam in ("ringshard_proxy_requests_total", "ringshard_proxy_no_backend_total",
                "ringshard_proxy_health_checks_total", "ringshard_proxy_upstream_errors_total"):
        check((fam, group) in m, f"{fam} missing on /metrics")
    expect_equal(m[("ringshard_proxy_no_backend_total", group)], 0.0, "requests without a backend")
    expect_equal(m[("ringshard_proxy_upstream_errors_total", group)], 0.0, "upstream errors")
    # The example probes each backend every 2 s (plus up to 0.5 s of
    # jitter): wait until both have answered a probe (a 2xx each; one of
    # the nodes may have had no API request) rather than hope.
    def probed(m):
        ok = [m.get(("ringshard_upstream_responses_total",
                     frozenset({("upstream", UPSTREAM), ("backend", backend_label(n)),
                                ("class", "2xx")})), 0) for n in NODES]
        return m[PROBES] >= 2 and all(x > 0 for x in ok)
    end = time.monotonic() + slow(STEP_S)
    while not probed(m):
        check(time.monotonic() < end, f"no probes answered by both nodes within "
                                      f"{slow(STEP_S):.0f} s")
        time.sleep(0.1)
        m = LB.metrics()
    fails = ("ringshard_proxy_health_check_failures_total", group)
    expect_equal(m.get(fails), 0.0, "failed health probes")
    for n in NODES:
        labels = frozenset({("upstream", UPSTREAM), ("backend", backend_label(n))})
        expect_equal(m[("ringshard_upstream_backend_healthy", labels)], 1.0,
                     f"{backend_label(n)} healthy after probes")

# ---------------------------------------------------------------------------


def servers_output():
    out = ""
    for i, n in enumerate(NODES):
        out += f"---- node {i} ----\n{n.output(4000)}"
    if LB is not None:
        out += f"---- balancer ----\n{LB.output()[-4000:]}"
    return out


def main():
    global BINARY, CONFIG, LB, SLOW, TOKENS
    if len(sys.argv) < 3 or not os.access(sys.argv[1], os.X_OK):
        sys.stderr.write(f"usage: {sys.argv[0]} PATH/TO/ringshard SOURCE_DIR [-k SUBSTRING]\n")
        return 2
    BINARY = sys.argv[1]
    CONFIG = os.path.join(sys.argv[2], "config", "load-balancer.example.toml")
    SLOW = slowdown(BINARY)
    TOKENS = [Token("alice", [SCOPE_READ, SCOPE_WRITE]), Token("bob", [SCOPE_READ, SCOPE_WRITE])]
    # The example must stay a valid configuration.
    chk = subprocess.run([BINARY, "--no-plugins", "--config", CONFIG, "--check-config"],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if chk.returncode != 0:
        print(f"FAIL {CONFIG} --check-config exited {chk.returncode}: "
              f"{chk.stderr.decode()[-2000:]}")
        return 1
    try:
        for _ in range(2):
            n = DeploymentsServer(BINARY, tls=False, tokens=list(TOKENS))
            NODES.append(n)
            n.start()
        LB = Balancer(BINARY, CONFIG, [n.port for n in NODES])
        LB.start()
        return run_tests([
            ("crud_through_the_balancer", test_crud_through_the_balancer),
            ("stream_through_the_balancer", test_stream_through_the_balancer),
            ("each_token_sticks_to_one_node", test_each_token_sticks_to_one_node),
            ("keys_spread_over_both_nodes", test_keys_spread_over_both_nodes),
            ("balancer_metrics", test_balancer_metrics),
        ], servers_output, SUITE_BUDGET_S * SLOW)
    except ServerError as e:
        print(f"FAIL start: {e}")
        return 1
    finally:
        if LB is not None:
            LB.close()
        for n in NODES:
            n.close()


if __name__ == "__main__":
    sys.exit(main())
