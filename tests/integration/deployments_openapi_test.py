#!/usr/bin/python3
"""The OpenAPI document against the server that serves it (ctest
integration.deployments_openapi).

    deployments_openapi_test.py RINGSHARD BUILD_DIR SOURCE_DIR

1. GET /v1/openapi.json from the live server: 200, JSON, OpenAPI 3.x.
2. Every documented operation answers as documented: each path and method
   is called on the live server (path parameters filled with a real
   deployment, required query parameters and bodies from the document's
   examples or known good values) and must answer a status the document
   lists for it, never 404 or 405 (nor 5xx). Success bodies carry the
   properties their schema calls required. A WebSocket route (a 101
   answer documented) is opened with a real handshake.
3. Every route the plugin registers is documented: the routes are read
   from the plugin's sources (host.route / host.websocket calls in
   SOURCE_DIR/plugins/deployments/plugin_*.cc; the host has no route
   table to ask) and each must be in the document with its method, and
   answer on the live server.
4. `redocly lint` (@redocly/cli, the version pinned in
   tests/integration/openapi/package.json, installed by npm into
   BUILD_DIR/openapi-node on the first run) finds no error.

Exit status: 0 passed, 1 failed, 77 (a skip) when 1-3 passed but the linter
cannot be had (no npm, or npm cannot fetch it); the reason is printed.
"""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from deployments_support import (  # noqa: E402
    DeploymentsServer, TestFailure, batch_request, check, create_body, expect_status, unique)

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# Values for parameters the document gives no example for.
KNOWN_QUERY = {"status": "running", "timeout": "1s", "limit": "10"}
KNOWN_BODIES = {
    ("post", "/v1/deployments"): lambda: create_body(unique("openapi")),
    ("post", "/v1/batch"): lambda: batch_request([("create", create_body(unique("openapi")))]),
}


def template_key(path):
    """/v1/deployments/{deployment_id}/wait -> /v1/deployments/{}/wait"""
    return re.sub(r"\{[^}/]*\}", "{}", path)


def resolve(spec, node, depth=0):
    while isinstance(node, dict) and "$ref" in node and depth < 32:
        ref = node["$ref"]
        check(ref.startswith("#/"), f"only local $refs are followed: {ref}")
        target = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            check(isinstance(target, dict) and part in target, f"dangling $ref {ref}")
            target = target[part]
        node, depth = target, depth + 1
    return node


def example_of(spec, node):
    node = resolve(spec, node or {})
    if "example" in node:
        return node["example"]
    for ex in (node.get("examples") or {}).values():
        ex = resolve(spec, ex)
        if isinstance(ex, dict) and "value" in ex:
            return ex["value"]
    schema = resolve(spec, node.get("schema") or {})
    for k in ("example", "default"):
        if k in schema:
            return schema[k]
    if schema.get("enum"):
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    return None


def required_props(spec, schema):
    schema = resolve(spec, schema or {})
    out = list(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        out += required_props(spec, part)
    return out


def websocket_handshake(port, path, token):
    """The status line of a WebSocket handshake on `path`."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
           f"Authorization: Bearer {token}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    m = re.match(r"HTTP/1\.1 (\d{3})", line)
    check(m is not None, f"WebSocket handshake on {path}: no status line in {data[:200]!r}")
    return int(m.group(1))


def documented_operations(spec):
    paths = spec.get("paths")
    check(isinstance(paths, dict) and paths, "the document has no paths")
    for path, item in paths.items():
        item = resolve(spec, item)
        common = item.get("parameters") or []
        for method in METHODS:
            if method in item:
                yield path, method, resolve(spec, item[method]), common


def probe(srv, spec, path, method, op, common, dep_id):
    """Calls one documented operation; returns a failure text or None."""
    responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
    if not responses:
        return f"{method.upper()} {path}: no responses documented"
    params = [resolve(spec, p) for p in common + (op.get("parameters") or [])]
    url = path
    query = []
    headers = {}
    for p in params:
        name, where = p.get("name"), p.get("in")
        value = example_of(spec, p)
        if where == "path":
            value = dep_id if "id" in name else value
            if value is None:
                return f"{method.upper()} {path}: no value for path parameter {name}"
            url = url.replace("{" + name + "}", str(value))
        elif where == "query" and p.get("required"):
            value = KNOWN_QUERY.get(name, value)
            if value is None:
                return f"{method.upper()} {path}: no value for required query parameter {name}"
            query.append(f"{name}={value}")
        elif where == "header" and p.get("required") and name.lower() != "authorization":
            if value is None:
                return f"{method.upper()} {path}: no value for required header {name}"
            headers[name] = str(value)
    if query:
        url += "?" + "&".join(query)
    if "101" in responses:
        status = websocket_handshake(srv.port, url, srv.rw)
        return None if status == 101 else (
            f"GET {path}: documented as a WebSocket (101) but the handshake answered {status}")
    body = None
    if "requestBody" in op:
        rb = resolve(spec, op["requestBody"])
        content = (rb.get("content") or {}).get("application/json")
        if content is None:
            return f"{method.upper()} {path}: request body documented without application/json"
        known = KNOWN_BODIES.get((method, template_key(path)))
        body = known() if known else example_of(spec, content)
        if body is None:
            return f"{method.upper()} {path}: no example for the request body"
    c = srv.client()
    r = c.request(method.upper(), url, body, headers=headers)
    where = f"{method.upper()} {url} answered {r.status}"
    if r.status in (404, 405):
        return f"{where}: the documented operation is not served ({r.text()[:200]})"
    if r.status >= 500:
        return f"{where}: {r.text()[:200]}"
    # A valid request must get a success the document names ("4XX" and
    # "default" document failures, not what this call should get).
    if not (200 <= r.status < 300 and str(r.status) in responses):
        return f"{where}, not a documented success ({sorted(responses)}): {r.text()[:200]}"
    resp_doc = resolve(spec, responses.get(str(r.status)) or {})
    content = (resp_doc.get("content") or {})
    if 200 <= r.status < 300 and "application/json" in content:
        check((r.header("Content-Type") or "").startswith("application/json"),
              f"{where} with Content-Type {r.header('Content-Type')!r}")
        data = r.json()
        missing = [p for p in required_props(spec, content["application/json"].get("schema"))
                   if not isinstance(data, dict) or p not in data]
        if missing:
            return f"{where} without the required properties {missing}: {r.text()[:200]}"
    return None


def plugin_routes(source_dir):
    """(method, path) of every route the plugin registers, from its sources."""
    out = set()
    src = os.path.join(source_dir, "plugins", "deployments")
    files = sorted(f for f in os.listdir(src) if f.startswith("plugin_") and f.endswith(".cc"))
    route = re.compile(r'\.route\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"')
    ws = re.compile(r'\.websocket\(\s*"([^"]+)"')
    for name in files:
        with open(os.path.join(src, name)) as f:
            text = f.read()
        out |= {(m.lower(), p) for m, p in route.findall(text)}
        out |= {("get", p) for p in ws.findall(text)}
    return out


def lint(spec_path, build_dir):
    """None when redocly passed; raises TestFailure when it found errors;
    returns a reason to skip when it cannot be run."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        return "node or npm is not installed (scripts/install-deps.sh installs them)"
    pkg_dir = os.path.join(HERE, "openapi")
    with open(os.path.join(pkg_dir, "package.json")) as f:
        pinned = json.load(f)["dependencies"]["@redocly/cli"]
    prefix = os.path.join(build_dir, "openapi-node")
    installed_pkg = os.path.join(prefix, "node_modules", "@redocly", "cli", "package.json")
    installed = None
    if os.path.exists(installed_pkg):
        with open(installed_pkg) as f:
            installed = json.load(f).get("version")
    if installed != pinned:
        print(f"installing @redocly/cli {pinned} into {prefix}", flush=True)
        os.makedirs(prefix, exist_ok=True)
        log = os.path.join(prefix, "npm.log")
        with open(log, "w") as out:
            rc = subprocess.call([npm, "install", "--prefix", prefix, "--install-links",
                                  "--no-audit", "--no-fund", "--loglevel=error", pkg_dir],
                                 stdout=out, stderr=subprocess.STDOUT, timeout=600)
        if rc != 0:
            with open(log) as f:
                print(f.read()[-3000:])
            return f"npm could not install @redocly/cli {pinned} (no network?)"
    cli = os.path.join(prefix, "node_modules", "@redocly", "cli", "bin", "cli.js")
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    p = subprocess.run([node, cli, "lint", "--format=stylish", spec_path], env=env,
                       capture_output=True, text=True, timeout=300, cwd=os.path.dirname(spec_path))
    print(p.stdout[-6000:] + p.stderr[-3000:])
    if p.returncode != 0:
        raise TestFailure(f"redocly lint exited {p.returncode} (errors above)")
    return None


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(f"usage: {sys.argv[0]} RINGSHARD BUILD_DIR SOURCE_DIR\n")
        return 2
    binary, build_dir, source_dir = (os.path.abspath(a) for a in sys.argv[1:])
    failures = []
    with DeploymentsServer(binary, tls=False) as srv, tempfile.TemporaryDirectory() as tmp:
        try:
            c = srv.client()
            r = c.get("/v1/openapi.json", token=None)
            expect_status(r, 200, "GET /v1/openapi.json without a token")
            check((r.header("Content-Type") or "").startswith("application/json"),
                  f"openapi.json Content-Type {r.header('Content-Type')!r}")
            spec = r.json()
            check(str(spec.get("openapi", "")).startswith("3."),
                  f"openapi version {spec.get('openapi')!r}")
            spec_path = os.path.join(tmp, "openapi.json")
            with open(spec_path, "wb") as f:
                f.write(r.body)

            dep = c.create(unique("openapi-target"))
            c.wait_for(dep["id"], "running")
            ops = list(documented_operations(spec))
            documented = {(m, template_key(p)) for p, m, _, _ in ops}
            # Deletes last: they would end the deployment the others look at.
            for path, method, op, common in sorted(ops, key=lambda o: o[1] == "delete"):
                err = probe(srv, spec, path, method, op, common, dep["id"])
                print(f"{'ok  ' if err is None else 'FAIL'} documented {method.upper()} {path}"
                      + (f": {err}" if err else ""))
                if err:
                    failures.append(err)

            routes = plugin_routes(source_dir)
            check(len(routes) >= 8, f"only {len(routes)} routes found in the plugin's sources "
                                    f"({sorted(routes)}): is the scan still right?")
            for method, path in sorted(routes):
                if (method, template_key(path)) not in documented:
                    failures.append(f"{method.upper()} {path} is served by the plugin but not "
                                    "documented in /v1/openapi.json")
                    print(f"FAIL served {method.upper()} {path}: not documented")
                else:
                    print(f"ok   served {method.upper()} {path}: documented")
        except TestFailure as e:
            failures.append(str(e))
        if failures:
            print("---- server stderr (tail) ----")
            print(srv.output(6000))
            print(f"0 passed, 1 failed: {len(failures)} problem(s):")
            for f in failures:
                print(f"  - {f}")
            return 1
        try:
            skip = lint(spec_path, build_dir)
        except TestFailure as e:
            print(f"FAIL: {e}\n0 passed, 1 failed")
            return 1
        if skip:
            print(f"SKIP: the document matches the server, but it was not linted: {skip}")
            return 77
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
