"""Shared by the deployment API's end-to-end tests (deployments_*_test.py).

    with DeploymentsServer(binary, plugin={"rate_limit_burst": 3}) as srv:
        api = srv.client(srv.rw)              # keep-alive http.client, Bearer rw
        r = api.post("/v1/deployments", create_body("web-1"))
        expect_status(r, 201, "create")

DeploymentsServer runs the ringshard binary with the deployments plugin:
127.0.0.1:0 for HTTP and (unless tls=False) HTTPS, 2 shards, no admin
listener, a temporary work directory (or the one given, for restarts) holding
--data-dir and a
ringshard.toml holding [plugins.deployments], and two bearer tokens: `rw`
(deployments:read,deployments:write) and `ro` (deployments:read). The ports
come from stderr ("listening on 127.0.0.1:P", then "https on 127.0.0.1:P");
a thread keeps reading stderr so the server never blocks on the pipe, and
output() has it for failure messages. stop() is SIGTERM then a wait; kill()
is SIGKILL; both signal only the child this object started, by its pid, and
the child gets SIGKILL if the test process dies first (PR_SET_PDEATHSIG).
close() stops it and removes the temporary directory it made.

The protocol shapes that the tests depend on (list page, batch, wait query,
API-Version) are written once, in the block "THE API'S SHAPES" below.

Standard library only, /usr/bin/python3 (Debian's; python3-websockets is
installed for it). Thread-safe where a test uses threads: each Client is one
connection, used by one thread.
"""

import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

# ---------------------------------------------------------------------------
# THE API'S SHAPES (plugins/deployments/model*.h and plugin_*.cc)

SCOPE_READ = "deployments:read"
SCOPE_WRITE = "deployments:write"
ID_RE = re.compile(r"^deploy_[a-z2-7]{20}$")
# RFC 3339 date-time as the API writes it (UTC, "Z" or an offset).
RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
API_VERSION = "2026-12-01"          # a date the server knows (model_version.h)
UNKNOWN_API_VERSION = "1999-01-01"  # one it does not
STATUSES = ("pending", "running", "failed", "terminating", "terminated")
HEALTH_PATH = "/health"


def create_body(name, image="nginx:1.27", cpu=1, memory=128):
    return {"name": name, "image": image, "resources": {"cpu": cpu, "memory": memory}}


def list_path(limit=None, cursor=None, status=None):
    q = {}
    if limit is not None:
        q["limit"] = str(limit)
    if cursor is not None:
        q["cursor"] = cursor
    if status is not None:
        q["status"] = status
    return "/v1/deployments" + ("?" + urllib.parse.urlencode(q) if q else "")


def list_page(resp):
    """(deployments, next cursor or None) of a 200 list answer."""
    body = resp.json()
    items = body.get("deployments")
    if not isinstance(items, list):
        raise TestFailure(f"list answer has no \"deployments\" array: {resp.text()[:300]}")
    cursor = body.get("next_cursor")
    return items, (cursor or None)


def wait_path(dep_id, status, timeout_ms):
    """timeout: "500ms", "30s", "2m" or bare seconds (model_query.h)."""
    return f"/v1/deployments/{dep_id}/wait?status={status}&timeout={timeout_ms}ms"


def batch_request(ops):
    """ops: ("create", body) | ("get", id) | ("delete", id) | raw dicts
    (model_batch.h: {"batch":[{"op","path"|"body"}]})."""
    out = []
    for op in ops:
        if isinstance(op, dict):
            out.append(op)
        elif op[0] == "create":
            out.append({"op": "create", "body": op[1]})
        else:
            out.append({"op": op[0], "path": f"/v1/deployments/{op[1]}"})
    return {"batch": out}


def batch_results(resp):
    """[(status, body)] of a 200 batch answer, in order."""
    body = resp.json()
    results = body.get("results")
    if not isinstance(results, list):
        raise TestFailure(f"batch answer has no \"results\" array: {resp.text()[:300]}")
    out = []
    for r in results:
        if not isinstance(r, dict) or "status" not in r:
            raise TestFailure(f"batch result without a status: {r!r}"[:300])
        out.append((r["status"], r.get("body")))
    return out


def stream_event_ok(ev):
    """The fields every deployment.update message carries."""
    return (isinstance(ev, dict) and ev.get("type") == "deployment.update"
            and isinstance(ev.get("seq"), int) and ID_RE.match(str(ev.get("deployment_id")))
            and ev.get("status") in STATUSES
            and RFC3339_RE.match(str(ev.get("timestamp"))) is not None)

# ---------------------------------------------------------------------------
# Checks


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def expect_equal(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        raise TestFailure(f"{what}: got {g[:300]}, want {w[:300]}")


def expect_status(resp, want, what):
    wants = want if isinstance(want, (tuple, list, set)) else (want,)
    if resp.status not in wants:
        raise TestFailure(f"{what}: {resp.method} {resp.path} answered {resp.status}, want "
                          f"{' or '.join(map(str, wants))}; body: {resp.text()[:400]}")


def expect_error(resp, status, code, what, field=None, reason=None):
    """A standard error body {"error":{"code","message","details"}} with `status`,
    `code` and, when given, details.field / details.reason; details.request_id
    is the response's X-Request-ID when it has one."""
    expect_status(resp, status, what)
    try:
        body = json.loads(resp.body)
    except ValueError:
        raise TestFailure(f"{what}: error body is not JSON: {resp.text()[:300]}")
    err = body.get("error") if isinstance(body, dict) else None
    check(isinstance(err, dict), f"{what}: no \"error\" object in {resp.text()[:300]}")
    expect_equal(err.get("code"), code, f"{what}: error.code (body {resp.text()[:300]})")
    check(isinstance(err.get("message"), str) and err["message"],
          f"{what}: error.message missing or empty: {resp.text()[:300]}")
    details = err.get("details")
    check(isinstance(details, dict), f"{what}: error.details is not an object: {resp.text()[:300]}")
    if field is not None:
        expect_equal(details.get("field"), field, f"{what}: details.field")
    if reason is not None:
        expect_equal(details.get("reason"), reason, f"{what}: details.reason")
    rid = resp.header("X-Request-ID")
    if rid is not None:
        expect_equal(details.get("request_id"), rid, f"{what}: details.request_id vs X-Request-ID "
                     f"(body {resp.text()[:300]})")
    return err


def parse_rfc3339(text, what):
    m = RFC3339_RE.match(text or "")
    check(m is not None, f"{what}: {text!r} is not an RFC 3339 date-time")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    import datetime
    tz = datetime.timezone.utc
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(zone[1:3]),
                                                         minutes=int(zone[4:6])))
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
    except ValueError as e:
        raise TestFailure(f"{what}: {text!r} is not a valid date-time ({e})")
    return dt.timestamp() + (float(frac) if frac else 0.0)


def unique(prefix):
    """A deployment name no other test uses: [a-z0-9-], <= 63 characters."""
    return f"{prefix}-{secrets.token_hex(4)}"[:63]

# ---------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, method, path, status, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self._json = None

    def header(self, name):
        """The first field named `name` (case-insensitive), or None."""
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                raise TestFailure(f"{self.method} {self.path} ({self.status}): body is not JSON: "
                                  f"{self.text()[:300]}")
        return self._json


class Client:
    """One keep-alive connection (reopened when the server closed it)."""

    # Every answer must carry X-Request-ID (the server's request-id middleware).
    require_request_id = True

    def __init__(self, port, token=None, tls=False, timeout=15.0):
        self.port = port
        self.token = token
        self.tls = tls
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        if self.tls:
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=self.timeout,
                                                    context=insecure_tls())
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, token="default",
                content_type="application/json", raw_headers=()):
        """body: bytes/str sent as is, anything else as JSON. headers: a dict.
        raw_headers: (name, value) pairs sent as given (repeats allowed).
        token: "default" for this client's, None for no Authorization."""
        if self.conn is None:
            self._connect()
        tok = self.token if token == "default" else token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        conn = self.conn
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            sent = {k.lower() for k, _ in raw_headers} | {k.lower() for k in (headers or {})}
            if tok is not None and "authorization" not in sent:
                conn.putheader("Authorization", f"Bearer {tok}")
            if body is not None:
                if content_type is not None and "content-type" not in sent:
                    conn.putheader("Content-Type", content_type)
                conn.putheader("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            for k, v in raw_headers:
                conn.putheader(k, v)
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise TestFailure(f"{method} {path}: connection failed: {type(e).__name__}: {e}")
        resp = Response(method, path, r.status, r.getheaders(), data)
        if r.will_close:
            self.close()
        if self.require_request_id and not resp.header("X-Request-ID"):
            raise TestFailure(f"{method} {path} ({resp.status}): no X-Request-ID header")
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # --- the API, asserting the happy path
    def create(self, name=None, what="create", **kw):
        r = self.post("/v1/deployments", create_body(name or unique("d"), **kw))
        expect_status(r, 201, what)
        return r.json()

    def get_deployment(self, dep_id, what="get"):
        r = self.get(f"/v1/deployments/{dep_id}")
        expect_status(r, 200, f"{what}: GET {dep_id}")
        return r.json()

    def wait_for(self, dep_id, status, timeout_ms=10_000, what="wait"):
        r = self.get(wait_path(dep_id, status, timeout_ms))
        expect_status(r, 200, f"{what}: wait for {dep_id} to be {status}")
        body = r.json()
        expect_equal(body.get("status"), status, f"{what}: status in the wait answer")
        return body

    def list_all(self, limit=100, status=None, what="list"):
        """Every deployment, paging with the cursor; checks no id repeats."""
        seen, out, cursor = set(), [], None
        for _ in range(100_000):
            r = self.get(list_path(limit=limit, cursor=cursor, status=status))
            expect_status(r, 200, f"{what}: list page")
            items, cursor = list_page(r)
            for d in items:
                check(d["id"] not in seen, f"{what}: {d['id']} listed twice")
                seen.add(d["id"])
                out.append(d)
            if cursor is None:
                return out
        raise TestFailure(f"{what}: the list never ended")


_INSECURE = None


def insecure_tls():
    """TLS client context without verification: the dev certificate is self-signed."""
    global _INSECURE
    if _INSECURE is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _INSECURE = ctx
    return _INSECURE

# ---------------------------------------------------------------------------
# The server

# The child-process pieces the WebSocket tests' server runner has already:
# SIGKILL when this process dies (PR_SET_PDEATHSIG), the "listening on"
# line, and SIGTERM-then-drain.
from ws_python_support import _LISTENING, _die_with_parent, terminate  # noqa: E402

_HTTPS = re.compile(rb"https on 127\.0\.0\.1:(\d+)")


class ServerError(TestFailure):
    pass


class Token:
    def __init__(self, name, scopes):
        self.name = name
        self.secret = "rs_test_" + secrets.token_hex(16)
        self.scopes = scopes

    def flag(self):
        digest = hashlib.sha256(self.secret.encode()).hexdigest()
        return f"{self.name}:{digest}:{','.join(self.scopes)}"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def plugin_toml(plugin):
    """[plugins.deployments] from a dict; a nested dict is a sub-table."""
    lines = ["[plugins.deployments]"]
    tables = []
    for k, v in plugin.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {toml_value(v)}")
    for name, table in tables:
        lines.append(f"[plugins.deployments.{name}]")
        for k, v in table.items():
            lines.append(f"{k} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


# What the tests run with unless they say otherwise: no rate limit in the way
# (the largest burst; test_rate_limit_* cover the limit), a lifecycle quick
# enough to watch.
DEFAULT_PLUGIN = {
    "rate_limit_burst": 1_000_000_000,
    "rate_limit_per_second": 1_000_000.0,
    "executor": {"start_delay_ms": 300, "stop_delay_ms": 300, "failure_rate": 0.0},
}


def merged(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


class DeploymentsServer:
    def __init__(self, binary, plugin=None, work_dir=None, shards=2, tls=True,
                 extra_args=(), tokens=None, start_timeout=30.0):
        self.binary = binary
        self.plugin = merged(DEFAULT_PLUGIN, plugin)
        self.shards = shards
        self.tls = tls
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        # work_dir holds data/ (--data-dir) and ringshard.toml; a restart on
        # the same work_dir finds the same store.
        self._own_dir = work_dir is None
        self.dir = work_dir or tempfile.mkdtemp(prefix="ringshard-deployments-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "ringshard.toml")
        if tokens is None:
            tokens = [Token("rw", [SCOPE_READ, SCOPE_WRITE]), Token("ro", [SCOPE_READ])]
        self.tokens = {t.name: t for t in tokens}
        self.proc = None
        self.port = None
        self.tls_port = None
        self._lines = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None
        self.starts = 0

    @property
    def rw(self):
        return self.tokens["rw"].secret

    @property
    def ro(self):
        return self.tokens["ro"].secret

    def args(self):
        a = [self.binary, "--listen", "127.0.0.1:0",
             "--tls-listen", "127.0.0.1:0" if self.tls else "off",
             "--admin-listen", "off", "--shards", str(self.shards),
             "--data-dir", self.data_dir, "--plugin", "deployments",
             "--config", self.config_path]
        for t in self.tokens.values():
            a += ["--auth-token", t.flag()]
        return a + self.extra_args

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Starts (or restarts, on the same data directory) and waits for the ports."""
        check(self.proc is None or self.proc.poll() is not None, "start() while running")
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config_path, "w") as f:
            f.write(plugin_toml(self.plugin))
        self.port = self.tls_port = None
        self._ready.clear()
        with self._lock:
            self._lines.append(f"---- start {self.starts + 1}: {' '.join(self.args())}\n")
        self.starts += 1
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True)
        self._reader.start()
        if not self._ready.wait(self.start_timeout) or self.port is None or (
                self.tls and self.tls_port is None):
            try:  # stderr closed: it is exiting, or has
                code = self.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                code = None
            self.kill()
            why = (f"exited with status {code} before listening" if code is not None else
                   f"did not report its port(s) within {self.start_timeout:.0f} s")
            raise ServerError(f"ringshard {why}; stderr:\n{self.output()}")

    def _read_stderr(self, proc):
        for line in iter(proc.stderr.readline, b""):
            with self._lock:
                self._lines.append(line.decode("utf-8", "replace"))
            if self.port is None:
                m = _LISTENING.search(line)
                if m:
                    self.port = int(m.group(1))
            if self.tls and self.tls_port is None:
                m = _HTTPS.search(line)
                if m:
                    self.tls_port = int(m.group(1))
            if self.port is not None and (self.tls_port is not None or not self.tls):
                self._ready.set()
        self._ready.set()  # exited: start() reports it

    def output(self, tail=None):
        with self._lock:
            text = "".join(self._lines)
        return text if tail is None else text[-tail:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20.0):
        """SIGTERM, then the drain; the exit status (SIGKILL after `timeout`)."""
        if self.proc is None:
            return None
        return terminate(self.proc, self._reader, timeout)

    def kill(self):
        """SIGKILL, now; waits for the exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._reader is not None:
            self._reader.join(5.0)
        return self.proc.returncode

    def close(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, token="rw", tls=False, timeout=15.0):
        secret = self.tokens[token].secret if token in self.tokens else token
        return Client(self.tls_port if tls else self.port, secret, tls=tls, timeout=timeout)

# ---------------------------------------------------------------------------
# Running tests


def binary_from_argv():
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.stderr.write(f"usage: {sys.argv[0]} PATH/TO/ringshard [-k SUBSTRING]\n")
        sys.exit(2)
    return sys.argv[1]


def slowdown(binary):
    """4 for a sanitizer build (ASan, TSan: several times slower), else 1."""
    try:
        with open(binary, "rb") as f:
            data = f.read()
    except OSError:
        return 1
    return 4 if b"AddressSanitizer" in data or b"ThreadSanitizer" in data else 1


def name_filter():
    if "-k" in sys.argv:
        i = sys.argv.index("-k")
        if i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return None


def run_tests(tests, servers_output, deadline_s):
    """Runs (name, fn) in order, each fn() raising TestFailure/Skip or returning.
    Prints one line per test and a summary; returns the exit status (0, 1).
    servers_output(): text to print after a failure (the servers' stderr)."""
    wanted = name_filter()
    passed = failed = skipped = 0
    started = time.monotonic()
    failures = []
    for name, fn in tests:
        if wanted and wanted not in name:
            continue
        if time.monotonic() - started > deadline_s:
            print(f"FAIL {name}: not run, the suite is past its {deadline_s:.0f} s budget",
                  flush=True)
            failed += 1
            failures.append(name)
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print(f"skip {name}: {e}", flush=True)
            continue
        except TestFailure as e:
            failed += 1
            failures.append(name)
            print(f"FAIL {name}: {e}", flush=True)
            continue
        except Exception:
            failed += 1
            failures.append(name)
            print(f"FAIL {name}: unexpected exception\n{traceback.format_exc()}", flush=True)
            continue
        passed += 1
        print(f"ok   {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
    total = time.monotonic() - started
    if failures:
        out = servers_output()
        if out:
            print("---- server stderr (tail) ----")
            print(out[-8000:])
        print("failed: " + ", ".join(failures))
    print(f"{passed} passed, {failed} failed, {skipped} skipped ({total:.1f} s)", flush=True)
    return 1 if failed else 0


@contextlib.contextmanager
def temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
