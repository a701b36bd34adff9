#!/usr/bin/python3
"""The deployment API end to end, over the live binary (ctest
integration.deployments_api).

    deployments_api_test.py PATH/TO/ringshard [-k SUBSTRING]

Starts ringshard with the deployments plugin (deployments_support.py:
127.0.0.1:0 for HTTP and HTTPS, 2 shards, a temporary data directory, a
read-write and a read-only token) and checks, with http.client and
python3-websockets: create/get/list/delete and their errors, every
validation error of the create body, the body limit and Content-Type,
bearer auth and scopes (batch included), Idempotency-Key (replay, reuse,
concurrent retries), batch, pagination while others insert, the wait
long-poll, API-Version, the deprecated /v1/status, /health and /ready, and
/v1/stream over wss (every subscriber sees every event, in seq order,
across shards; deployment_id filter; since replay without gap or
duplicate; 4410 for a since older than the history), read-your-writes
across connections, the failed lifecycle, and SIGTERM with a wait parked.
Some tests start servers of their own (a tiny rate limit, burst 0, a
history of 10050 events, failure_rate 1, one shard).

Exit status: 0 all passed, 1 a test failed, 77 python3-websockets is
missing. Each test is bounded; the suite stops starting tests after
SUITE_BUDGET_S.
"""

import asyncio
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deployments_support import (  # noqa: E402
    API_VERSION, ID_RE, UNKNOWN_API_VERSION, DeploymentsServer, Skip, TestFailure,
    batch_request, batch_results, binary_from_argv, check, create_body, expect_equal,
    expect_error, expect_status, insecure_tls, list_page, list_path, parse_rfc3339,
    run_tests, slowdown, stream_event_ok, unique, wait_path)

try:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatusCode
except ImportError as e:
    print(f"SKIP: python3-websockets is not installed for {sys.executable} ({e})")
    sys.exit(77)

# Sanitizer builds (make test-tsan runs this) are several times slower:
# main() scales these by SLOW. Timing checks use slow(seconds).
SUITE_BUDGET_S = 150.0
STEP_S = 15.0  # the longest any single wait for the server may take
SLOW = 1


def slow(seconds):
    return seconds * SLOW
MISSING_ID = "deploy_" + "a" * 20  # well-formed, never issued (ids are random)

BINARY = None
SRV = None  # the main server, started in main()


def api(token="rw", tls=False):
    return SRV.client(token, tls=tls)

# ---------------------------------------------------------------------------
# Health, versions, documents


def test_health_and_ready():
    c = api(token=None)
    r = c.get("/health", token=None)
    expect_status(r, 200, "/health without a token")
    body = r.json()
    expect_equal(body.get("status"), "healthy", "/health status")
    check(isinstance(body.get("version"), str) and body["version"],
          f"/health version should be a non-empty string: {r.text()}")
    check(isinstance(body.get("uptime"), (int, float)) and body["uptime"] >= 0,
          f"/health uptime should be a non-negative number: {r.text()}")
    r = c.get("/ready", token=None)
    expect_status(r, 200, "/ready")


def test_deprecated_status_route():
    r = api().get("/v1/status")
    expect_status(r, 200, "GET /v1/status")
    expect_equal(r.json().get("status"), "healthy", "/v1/status body status")
    # RFC 9745: Deprecation: @<unix seconds>; RFC 8594: Sunset: HTTP-date.
    expect_equal(r.header("Deprecation"), "@1764547200", "Deprecation header")
    expect_equal(r.header("Sunset"), "Fri, 01 Jan 2027 00:00:00 GMT", "Sunset header")
    link = r.header("Link") or ""
    check("</v1/openapi.json>" in link and 'rel="deprecation"' in link,
          f"Link header should point at the docs with rel=\"deprecation\": {link!r}")
    r = api().get("/v1/deployments")
    expect_status(r, 200, "list")
    check(r.header("Deprecation") is None,
          f"a current route carries Deprecation: {r.header('Deprecation')!r}")


def test_api_version_header():
    c = api()
    r = c.get("/v1/deployments", headers={"API-Version": API_VERSION})
    expect_status(r, 200, f"API-Version: {API_VERSION} (known)")
    r = c.get("/v1/deployments", headers={"API-Version": UNKNOWN_API_VERSION})
    expect_error(r, 400, "unsupported_api_version", "unknown API-Version on GET")
    r = c.post("/v1/deployments", create_body(unique("ver")),
               headers={"API-Version": UNKNOWN_API_VERSION})
    expect_error(r, 400, "unsupported_api_version", "unknown API-Version on POST")
    r = c.get("/v1/deployments", headers={"API-Version": "not-a-date"})
    expect_error(r, 400, "unsupported_api_version", "API-Version that is not a date")

# ---------------------------------------------------------------------------
# Create, get, list, delete


def check_deployment(d, want, what):
    check(isinstance(d, dict), f"{what}: not an object: {d!r}")
    check(ID_RE.match(str(d.get("id"))), f"{what}: id {d.get('id')!r} is not deploy_ + 20 base32")
    expect_equal(d.get("name"), want["name"], f"{what}: name")
    expect_equal(d.get("image"), want["image"], f"{what}: image")
    expect_equal(d.get("resources"), want["resources"], f"{what}: resources")
    check(d.get("status") in ("pending", "running", "failed", "terminating", "terminated"),
          f"{what}: status {d.get('status')!r}")
    created = parse_rfc3339(d.get("created_at"), f"{what}: created_at")
    check(abs(created - time.time()) < 300,
          f"{what}: created_at {d.get('created_at')} is not about now")
    if "updated_at" in d:
        updated = parse_rfc3339(d.get("updated_at"), f"{what}: updated_at")
        check(updated >= created - 0.001, f"{what}: updated_at before created_at")


def test_create_get_list_delete():
    c = api()
    want = create_body(unique("web"), image="registry.example/app:1.2.3", cpu=2, memory=512)
    t0 = time.time()
    r = c.post("/v1/deployments", want)
    expect_status(r, 201, "create")
    check((r.header("Content-Type") or "").startswith("application/json"),
          f"create Content-Type {r.header('Content-Type')!r}")
    d = r.json()
    check_deployment(d, want, "create answer")
    expect_equal(d["status"], "pending", "status of a new deployment")
    check(parse_rfc3339(d["created_at"], "created_at") >= t0 - 2, "created_at before the request")
    expect_equal(r.header("Location"), f"/v1/deployments/{d['id']}", "Location")

    # The same record from another connection (likely another shard).
    other = api()
    g = other.get_deployment(d["id"], "get after create")
    check_deployment(g, want, "GET answer")
    expect_equal(g["id"], d["id"], "GET id")
    expect_equal(g["created_at"], d["created_at"], "GET created_at")

    # And over HTTPS.
    tls = api(tls=True)
    expect_equal(tls.get_deployment(d["id"], "get over HTTPS")["id"], d["id"], "HTTPS GET id")
    tls.close()

    listed = [x for x in c.list_all() if x["id"] == d["id"]]
    expect_equal(len(listed), 1, "the new deployment in the list")
    check_deployment(listed[0], want, "list entry")

    running = c.wait_for(d["id"], "running", what="lifecycle")
    check(parse_rfc3339(running["updated_at"], "updated_at") > parse_rfc3339(d["created_at"], "c"),
          f"updated_at {running['updated_at']} did not move past created_at {d['created_at']} "
          "when the deployment started running")
    r = c.delete(f"/v1/deployments/{d['id']}")
    expect_status(r, 202, "delete a running deployment")
    expect_equal(r.json().get("status"), "terminating", "status in the delete answer")
    expect_equal(r.json().get("id"), d["id"], "id in the delete answer")
    done = c.wait_for(d["id"], "terminated", what="after delete")
    check_deployment(done, want, "terminated deployment")
    expect_equal(other.get_deployment(d["id"])["status"], "terminated", "GET after terminated")
    r = c.delete(f"/v1/deployments/{d['id']}")
    expect_status(r, 202, "delete of a terminated deployment (nothing to do)")
    expect_equal(r.json().get("status"), "terminated", "status in the second delete answer")


def test_delete_pending_deployment():
    c = api()
    d = c.create(unique("early"))
    r = c.delete(f"/v1/deployments/{d['id']}")
    expect_status(r, 202, "delete of a pending deployment")
    check(r.json().get("status") in ("terminating", "terminated"),
          f"status after deleting a pending deployment: {r.text()}")
    c.wait_for(d["id"], "terminated", what="pending -> terminated")


def test_not_found():
    c = api()
    for method, path in [("GET", f"/v1/deployments/{MISSING_ID}"),
                         ("DELETE", f"/v1/deployments/{MISSING_ID}"),
                         ("GET", "/v1/deployments/not-an-id"),
                         ("DELETE", "/v1/deployments/not-an-id"),
                         ("GET", wait_path(MISSING_ID, "running", 100))]:
        r = c.request(method, path)
        expect_error(r, 404, "not_found", f"{method} {path}")
    for method, path, allow in [("PUT", "/v1/deployments", {"GET", "POST"}),
                                ("PATCH", f"/v1/deployments/{MISSING_ID}", {"GET", "DELETE"}),
                                ("GET", "/v1/batch", {"POST"})]:
        r = c.request(method, path)
        expect_error(r, 405, "method_not_allowed", f"{method} {path}")
        got = {m.strip() for m in (r.header("Allow") or "").split(",")}
        check(allow <= got, f"{method} {path}: Allow {r.header('Allow')!r} lacks {allow - got}")


def test_read_your_writes_across_connections():
    """An acknowledged create or delete is seen at once by every other
    connection (with 2 shards, some of them on the other shard)."""
    cs = [api() for _ in range(5)]
    for i in range(20):
        d = cs[0].create(unique("ryw"))
        for j, c in enumerate(cs[1:], 1):
            r = c.get(f"/v1/deployments/{d['id']}")
            expect_status(r, 200, f"round {i}: GET on connection {j} right after the 201")
        expect_status(cs[0].delete(f"/v1/deployments/{d['id']}"), 202, f"round {i}: delete")
        for j, c in enumerate(cs[1:], 1):
            st = c.get_deployment(d["id"])["status"]
            check(st in ("terminating", "terminated"),
                  f"round {i}: connection {j} sees {st} right after the 202 of a delete")

# ---------------------------------------------------------------------------
# Validation of the create body


def post_raw(c, body, content_type="application/json"):
    return c.request("POST", "/v1/deployments", body, content_type=content_type)


def test_validation_malformed_json():
    c = api()
    for body in ['{"name":', "", "{", "nul", '{"name":"a",}', "[1,2", '{"name":"a"} x',
                 '{"name":"\\q"}', b'{"name":"\xff"}', '{"name":"a\x01"}']:
        r = post_raw(c, body)
        expect_error(r, 400, "malformed_json", f"malformed body {body!r}")


def test_validation_types_unknown_duplicates_missing():
    c = api()
    good = '"name":"ok-1","image":"nginx","resources":{"cpu":1,"memory":64}'
    cases = [
        # (body, field, reason)
        ("[]", None, "must be a JSON object"),
        ('"text"', None, "must be a JSON object"),
        ("null", None, "must be a JSON object"),
        ('{"name":5,"image":"nginx","resources":{"cpu":1,"memory":64}}', "name", "must be a string"),
        ('{"name":null,"image":"nginx","resources":{"cpu":1,"memory":64}}', "name",
         "must be a string"),
        ('{"name":"a","image":["x"],"resources":{"cpu":1,"memory":64}}', "image",
         "must be a string"),
        ('{"name":"a","image":"nginx","resources":"big"}', "resources", "must be an object"),
        ('{"name":"a","image":"nginx","resources":{"cpu":"2","memory":64}}', "resources.cpu",
         "must be an integer"),
        ('{"name":"a","image":"nginx","resources":{"cpu":2.0,"memory":64}}', "resources.cpu",
         "must be an integer"),
        ('{"name":"a","image":"nginx","resources":{"cpu":2e0,"memory":64}}', "resources.cpu",
         "must be an integer"),
        ('{"name":"a","image":"nginx","resources":{"cpu":1,"memory":true}}', "resources.memory",
         "must be an integer"),
        ('{' + good + ',"extra":1}', "extra", "unknown field"),
        ('{"name":"a","image":"nginx","resources":{"cpu":1,"memory":64,"gpu":1}}',
         "resources.gpu", "unknown field"),
        ('{"name":"a","name":"b","image":"nginx","resources":{"cpu":1,"memory":64}}', "name",
         "duplicate key"),
        ('{"name":"a","image":"nginx","resources":{"cpu":1,"cpu":2,"memory":64}}',
         "resources.cpu", "duplicate key"),
        ('{"image":"nginx","resources":{"cpu":1,"memory":64}}', "name", "is required"),
        ('{"name":"a","resources":{"cpu":1,"memory":64}}', "image", "is required"),
        ('{"name":"a","image":"nginx"}', "resources", "is required"),
        ('{"name":"a","image":"nginx","resources":{"memory":64}}', "resources.cpu", "is required"),
        ('{"name":"a","image":"nginx","resources":{"cpu":1}}', "resources.memory", "is required"),
        ("{}", "name", "is required"),
    ]
    for body, field, reason in cases:
        r = post_raw(c, body)
        err = expect_error(r, 400, "invalid_request", f"body {body}", reason=reason)
        if field is not None:
            expect_equal(err["details"].get("field"), field, f"details.field for {body}")
        else:
            check("field" not in err["details"] or err["details"]["field"] == "",
                  f"no details.field for {body}: {r.text()}")


def test_validation_bounds():
    c = api()
    name_len = "must be between 1 and 63 characters long"
    cpu = "must be between 1 and 64"
    mem = "must be between 64 and 1048576"
    refused = [
        (create_body(""), "name", name_len),
        (create_body("a" * 64), "name", name_len),
        (create_body("Web"), "name", "must contain only a-z, 0-9 and '-'"),
        (create_body("web_1"), "name", "must contain only a-z, 0-9 and '-'"),
        (create_body("wéb"), "name", "must contain only a-z, 0-9 and '-'"),
        (create_body("-web"), "name", "must start and end with a letter or a digit"),
        (create_body("web-"), "name", "must start and end with a letter or a digit"),
        (create_body("b1", image=""), "image", "must not be empty"),
        (create_body("b2", image="i" * 256), "image", "must be at most 255 bytes"),
        (create_body("b3", image="ngi\u0001nx"), "image", "must not contain control characters"),
        (create_body("b4", image="ngi\u007fnx"), "image", "must not contain control characters"),
        (create_body("b5", image="ngi\u0085nx"), "image", "must not contain control characters"),
        (create_body("b6", cpu=0), "resources.cpu", cpu),
        (create_body("b7", cpu=65), "resources.cpu", cpu),
        (create_body("b8", cpu=-1), "resources.cpu", cpu),
        (create_body("b9", memory=63), "resources.memory", mem),
        (create_body("b10", memory=1048577), "resources.memory", mem),
    ]
    for body, field, reason in refused:
        r = c.post("/v1/deployments", body)
        expect_error(r, 400, "invalid_request", f"create {json.dumps(body)[:120]}", field, reason)
    huge = '{"name":"a","image":"nginx","resources":{"cpu":1,"memory":1' + "0" * 30 + "}}"
    expect_error(post_raw(c, huge), 400, "invalid_request", "memory 10^30 written out",
                 "resources.memory", mem)
    # The edges that are accepted.
    for body in [create_body("a"), create_body("a" * 63), create_body("0-9"),
                 create_body(unique("img"), image="i" * 255),
                 create_body(unique("img"), image="κόσμε/€:1"),
                 create_body(unique("cpu"), cpu=1, memory=64),
                 create_body(unique("cpu"), cpu=64, memory=1048576)]:
        r = c.post("/v1/deployments", body)
        expect_status(r, 201, f"create at the edge {json.dumps(body)[:120]}")
        check_deployment(r.json(), body, "edge create answer")


def test_body_limit_and_content_type():
    c = api()
    # 64 KiB is the create route's limit: one byte over is 413.
    pad = 64 * 1024 + 1 - len(json.dumps(create_body("big", image="")))
    big = json.dumps(create_body("big", image="x" * pad))
    check(len(big) == 64 * 1024 + 1, f"test body is {len(big)} bytes")
    c.require_request_id = False  # test_request_id_on_body_limit_refusal checks it
    r = post_raw(c, big)
    expect_error(r, 413, "payload_too_large", "create body of 64 KiB + 1")
    r = post_raw(c, json.dumps(create_body("x", image="x" * (1 << 20))))
    expect_error(r, 413, "payload_too_large", "create body of 1 MiB")
    c.require_request_id = True
    ok = json.dumps(create_body(unique("limit"), image="x" * 255))
    expect_status(post_raw(c, ok + " " * (64 * 1024 - len(ok))), 201, "create body of 64 KiB")
    r = post_raw(c, json.dumps(create_body(unique("ct"))), content_type="text/plain")
    expect_error(r, 415, "unsupported_media_type", "create with Content-Type text/plain")
    r = post_raw(c, json.dumps(create_body(unique("ct"))), content_type=None)
    expect_error(r, 415, "unsupported_media_type", "create without Content-Type")
    r = post_raw(c, json.dumps(create_body(unique("ct"))), content_type="application/jsonx")
    expect_error(r, 415, "unsupported_media_type", "create with application/jsonx")
    r = post_raw(c, json.dumps(create_body(unique("ct"))),
                 content_type="application/json; charset=utf-8")
    expect_status(r, 201, "create with application/json; charset=utf-8")
    r = post_raw(c, json.dumps(create_body(unique("ct"))), content_type="Application/JSON")
    expect_status(r, 201, "create with Application/JSON (media types are case-insensitive)")
    r = c.request("POST", "/v1/batch", b"{}", content_type="text/plain")
    expect_error(r, 415, "unsupported_media_type", "batch with Content-Type text/plain")

def test_body_limit_refusal_closes():
    """A body over the route's limit is refused by the server before any
    middleware (as the OpenAPI document's 413 says): the error body, then
    the connection closes; the server keeps serving others."""
    c = api()
    c.require_request_id = False
    big = json.dumps(create_body("big", image="x" * (64 * 1024)))
    r = post_raw(c, big, content_type="application/json")
    expect_status(r, 413, "create body over 64 KiB")
    check((r.header("Connection") or "").lower() == "close",
          "the 413 for a body over the route's limit does not close the connection")
    r = api().request("GET", "/health")
    expect_status(r, 200, "another client after a 413")

# ---------------------------------------------------------------------------
# Auth


def expect_challenge(r, what, error=None):
    h = r.header("WWW-Authenticate") or ""
    check(h.startswith("Bearer"), f"{what}: WWW-Authenticate {h!r} is not a Bearer challenge")
    if error is not None:
        check(f'error="{error}"' in h, f"{what}: WWW-Authenticate {h!r} lacks error=\"{error}\"")


def test_auth_tokens_and_scopes():
    c = api()
    for method, path, body in [("GET", "/v1/deployments", None),
                               ("GET", f"/v1/deployments/{MISSING_ID}", None),
                               ("POST", "/v1/deployments", create_body(unique("noauth"))),
                               ("DELETE", f"/v1/deployments/{MISSING_ID}", None),
                               ("POST", "/v1/batch", batch_request([("get", MISSING_ID)])),
                               ("GET", wait_path(MISSING_ID, "running", 100), None)]:
        r = c.request(method, path, body, token=None)
        expect_error(r, 401, "unauthorized", f"{method} {path} without a token")
        expect_challenge(r, f"{method} {path} without a token")
        r = c.request(method, path, body, token="rs_test_wrong_token")
        expect_error(r, 401, "unauthorized", f"{method} {path} with a wrong token")
        expect_challenge(r, f"{method} {path} with a wrong token", "invalid_token")
    r = c.request("GET", "/v1/deployments", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    expect_status(r, 401, "Basic credentials instead of a bearer token")

    ro = api("ro")
    r = ro.post("/v1/deployments", create_body(unique("ro")))
    expect_error(r, 403, "forbidden", "create with the read-only token")
    expect_challenge(r, "create with the read-only token", "insufficient_scope")
    d = c.create(unique("ro-target"))
    r = ro.delete(f"/v1/deployments/{d['id']}")
    expect_error(r, 403, "forbidden", "delete with the read-only token")
    expect_equal(ro.get_deployment(d["id"], "ro get")["id"], d["id"], "read-only GET works")
    r = ro.get("/v1/deployments")
    expect_status(r, 200, "read-only list")
    check(c.get_deployment(d["id"])["status"] in ("pending", "running"),
          "the forbidden delete changed nothing")

# ---------------------------------------------------------------------------
# Idempotency


def count_named(c, name):
    return sum(1 for d in c.list_all() if d["name"] == name)


def test_idempotency_replay_and_mismatch():
    c = api()
    key = "key-" + unique("idem")
    body = create_body(unique("idem"))
    r1 = c.post("/v1/deployments", body, headers={"Idempotency-Key": key})
    expect_status(r1, 201, "first keyed create")
    r2 = api().post("/v1/deployments", body, headers={"Idempotency-Key": key})
    expect_status(r2, 201, "retry with the same key and body")
    expect_equal(r2.body, r1.body, "replayed body")
    expect_equal(r2.header("Location"), r1.header("Location"), "replayed Location")
    expect_equal(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed on the replay")
    check(r1.header("Idempotent-Replayed") is None, "Idempotent-Replayed on the first answer")
    expect_equal(count_named(c, body["name"]), 1, "deployments created by two keyed requests")

    other = create_body(unique("idem-other"))
    r3 = c.post("/v1/deployments", other, headers={"Idempotency-Key": key})
    expect_error(r3, 422, "idempotency_key_reused", "same key, different body")
    expect_equal(count_named(c, other["name"]), 0, "deployments created by the refused reuse")

    # The key is the caller's: the same key on another route is another key.
    dep = r1.json()["id"]
    r4 = c.delete(f"/v1/deployments/{dep}", headers={"Idempotency-Key": key})
    expect_status(r4, 202, "the same key on DELETE")
    r5 = c.delete(f"/v1/deployments/{dep}", headers={"Idempotency-Key": key})
    expect_status(r5, 202, "keyed DELETE retried")
    expect_equal(r5.body, r4.body, "replayed DELETE body")


def test_idempotency_key_format():
    c = api()
    body = create_body(unique("keyfmt"))
    r = c.post("/v1/deployments", body, headers={"Idempotency-Key": "k" * 256})
    expect_error(r, 400, "invalid_request", "Idempotency-Key of 256 characters",
                 field="Idempotency-Key")
    r = c.request("POST", "/v1/deployments", body,
                  raw_headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
    expect_error(r, 400, "invalid_request", "Idempotency-Key given twice", field="Idempotency-Key")
    r = c.post("/v1/deployments", body, headers={"Idempotency-Key": "k" * 255})
    expect_status(r, 201, "Idempotency-Key of 255 characters")
    expect_equal(count_named(c, body["name"]), 1, "deployments after the refused keys")


def test_idempotency_concurrent_retries():
    threads_n = 8
    key = "race-" + unique("k")
    body = create_body(unique("race"))
    clients = [api() for _ in range(threads_n)]
    for cl in clients:  # connect first, so the requests leave together
        expect_status(cl.get("/ready"), 200, "warm-up")
    barrier = threading.Barrier(threads_n)
    results = [None] * threads_n

    def fire(i):
        try:
            barrier.wait(STEP_S)
            results[i] = clients[i].post("/v1/deployments", body,
                                         headers={"Idempotency-Key": key})
        except Exception as e:  # reported below
            results[i] = e

    ts = [threading.Thread(target=fire, args=(i,)) for i in range(threads_n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(STEP_S * 2)
    ids = set()
    created = 0
    for i, r in enumerate(results):
        check(not isinstance(r, Exception) and r is not None, f"request {i} failed: {r!r}")
        expect_status(r, (201, 409), f"concurrent keyed create {i}")
        if r.status == 201:
            created += 1
            ids.add(r.json()["id"])
        else:
            expect_error(r, 409, "idempotency_key_in_flight", f"concurrent keyed create {i}")
    check(created >= 1, "no concurrent keyed create answered 201")
    expect_equal(len(ids), 1, f"distinct ids among the 201 answers {sorted(ids)}")
    r = api().post("/v1/deployments", body, headers={"Idempotency-Key": key})
    expect_status(r, 201, "retry after the race")
    expect_equal(r.json()["id"], ids.pop(), "id of the retry after the race")
    expect_equal(count_named(api(), body["name"]), 1, "deployments created by the race")

# ---------------------------------------------------------------------------
# Batch


def test_batch_mixed_operations():
    c = api()
    existing = c.create(unique("batch-get"))
    doomed = c.create(unique("batch-del"))
    new_body = create_body(unique("batch-new"))
    ops = [("create", new_body),
           ("get", existing["id"]),
           ("delete", doomed["id"]),
           ("get", MISSING_ID),
           ("create", create_body("Bad_Name")),
           ("delete", MISSING_ID),
           ("create", {"name": "x", "image": "nginx"}),
           ("get", "not-an-id"),
           {"op": "get", "path": "/v1/elsewhere"},
           {"op": "get", "path": f"/deployments/{existing['id']}"},
           {"op": "create"}]
    r = c.post("/v1/batch", batch_request(ops))
    expect_status(r, 200, "mixed batch")
    res = batch_results(r)
    expect_equal([s for s, _ in res], [201, 200, 202, 404, 400, 404, 400, 404, 400, 200, 400],
                 "statuses in order")
    check_deployment(res[0][1], new_body, "batch create result")
    expect_equal(res[1][1].get("id"), existing["id"], "batch get result id")
    expect_equal(res[2][1].get("id"), doomed["id"], "batch delete result id")
    expect_equal(res[2][1].get("status"), "terminating", "batch delete result status")
    expect_equal(res[9][1].get("id"), existing["id"], "batch get by /deployments/{id}")
    for i, code, field in [(3, "not_found", None), (4, "invalid_request", "name"),
                           (5, "not_found", None), (6, "invalid_request", "resources"),
                           (7, "not_found", None), (8, "invalid_request", "path"),
                           (10, "invalid_request", "body")]:
        err = res[i][1].get("error") if isinstance(res[i][1], dict) else None
        check(isinstance(err, dict), f"batch result {i} has no error object: {res[i][1]!r}")
        expect_equal(err.get("code"), code, f"batch result {i} error code")
        if field is not None:
            expect_equal(err.get("details", {}).get("field"), field, f"batch result {i} field")
    # The batch's create and delete really happened.
    made = c.get_deployment(res[0][1]["id"], "batch-created deployment")
    expect_equal(made["name"], new_body["name"], "batch-created name")
    check(c.get_deployment(doomed["id"])["status"] in ("terminating", "terminated"),
          "batch-deleted deployment is terminating")


def test_batch_limits_and_bad_json():
    c = api()
    count = "must contain between 1 and 100 operations"
    r = c.post("/v1/batch", batch_request([]))
    expect_error(r, 400, "invalid_request", "batch of 0 operations", "batch", count)
    r = c.post("/v1/batch", batch_request([("get", MISSING_ID)] * 101))
    expect_error(r, 400, "invalid_request", "batch of 101 operations", "batch", count)
    r = c.post("/v1/batch", batch_request([("get", MISSING_ID)] * 100))
    expect_status(r, 200, "batch of 100 operations")
    expect_equal([s for s, _ in batch_results(r)], [404] * 100, "statuses of 100 gets")
    for body in ['{"batch":[', "", "[]x", '{"batch":[{"op":"get",}]}']:
        r = c.request("POST", "/v1/batch", body)
        expect_error(r, 400, "malformed_json", f"batch body {body!r}")
    for body, field, reason in [
            ("[]", None, "must be a JSON object"),
            ("{}", "batch", "is required"),
            ('{"batch":{}}', "batch", "must be an array"),
            ('{"ops":[]}', "ops", "unknown field"),
            ('{"batch":[1]}', "batch[0]", "must be an object"),
            ('{"batch":[{"op":"frob","path":"/v1/deployments/x"}]}', "batch[0].op", None),
            ('{"batch":[{"path":"/v1/deployments/x"}]}', "batch[0].op", "is required"),
            ('{"batch":[{"op":"get","body":{}}]}', "batch[0].body", "unknown field")]:
        r = c.request("POST", "/v1/batch", body)
        expect_error(r, 400, "invalid_request", f"batch body {body!r}", field, reason)


def test_batch_scopes_read_only():
    c = api()
    existing = c.create(unique("batch-ro"))
    ro = api("ro")
    r = ro.post("/v1/batch", batch_request([("create", create_body(unique("ro-batch"))),
                                            ("get", existing["id"]),
                                            ("delete", existing["id"])]))
    expect_status(r, 200, "read-only batch (the route needs read only)")
    res = batch_results(r)
    expect_equal([s for s, _ in res], [403, 200, 403], "read-only batch statuses")
    expect_equal(res[0][1]["error"]["code"], "forbidden", "read-only batch create error")
    expect_equal(res[1][1]["id"], existing["id"], "read-only batch get")
    check(c.get_deployment(existing["id"])["status"] in ("pending", "running"),
          "the forbidden batch delete changed nothing")


def test_batch_idempotency():
    c = api()
    key = "batch-" + unique("k")
    body = batch_request([("create", create_body(unique("bk"))),
                          ("create", create_body(unique("bk")))])
    r1 = c.post("/v1/batch", body, headers={"Idempotency-Key": key})
    expect_status(r1, 200, "keyed batch")
    r2 = api().post("/v1/batch", body, headers={"Idempotency-Key": key})
    expect_status(r2, 200, "keyed batch retried")
    expect_equal(r2.body, r1.body, "replayed batch body")
    expect_equal(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed on the batch")

# ---------------------------------------------------------------------------
# Listing


def test_list_query_and_status_filter():
    c = api()
    for q in ["limit=0", "limit=-1", "limit=abc", "limit=1001", "cursor=%%%", "cursor=!!!",
              "status=sleeping"]:
        r = c.get("/v1/deployments?" + q)
        expect_error(r, 400, "invalid_request", f"list ?{q}")
    d = c.create(unique("filter"))
    c.wait_for(d["id"], "running")
    running = c.list_all(status="running")
    check(all(x["status"] == "running" for x in running),
          "?status=running listed another status")
    check(any(x["id"] == d["id"] for x in running), "?status=running misses a running one")
    check(not any(x["id"] == d["id"] for x in c.list_all(status="pending")),
          "?status=pending lists a running deployment")
    r = c.get(list_path(limit=1))
    expect_status(r, 200, "limit=1")
    items, _ = list_page(r)
    expect_equal(len(items), 1, "entries on a page of limit=1")


def test_pagination_under_concurrent_inserts():
    c = api()
    before_ids = set()
    for chunk in range(3):
        ops = [("create", create_body(unique(f"page{chunk}"))) for _ in range(20)]
        r = c.post("/v1/batch", batch_request(ops))
        expect_status(r, 200, "batch of creates before the listing")
        for s, b in batch_results(r):
            expect_equal(s, 201, "create before the listing")
            before_ids.add(b["id"])
    stop = threading.Event()
    first_insert = threading.Event()
    inserted = []
    errors = []

    def insert():
        w = api()
        try:
            while not stop.is_set() and len(inserted) < 200:
                inserted.append(w.create(unique("concurrent"))["id"])
                first_insert.set()
        except Exception as e:
            errors.append(e)
            first_insert.set()

    t = threading.Thread(target=insert)
    t.start()
    seen = []
    try:
        cursor, pages = None, 0
        while True:
            r = c.get(list_path(limit=7, cursor=cursor))
            expect_status(r, 200, f"page {pages}")
            items, cursor = list_page(r)
            check(len(items) <= 7, f"page {pages} has {len(items)} entries for limit=7")
            seen.extend(x["id"] for x in items)
            pages += 1
            if pages == 1:  # the rest of the listing runs while the other thread inserts
                check(first_insert.wait(STEP_S), "the inserting thread made nothing")
            check(pages < 5000, "the listing never ends while others insert")
            if cursor is None:
                break
    finally:
        stop.set()
        t.join(STEP_S)
    check(not errors, f"the inserting thread failed: {errors[:1]}")
    check(len(inserted) > 0, "nothing was inserted while the listing ran")
    dupes = {i for i in seen if seen.count(i) > 1}
    check(not dupes, f"ids listed twice while others inserted: {sorted(dupes)[:5]}")
    missing = before_ids - set(seen)
    check(not missing, f"{len(missing)} deployments that existed before the listing were not "
                       f"listed, e.g. {sorted(missing)[:3]}")

# ---------------------------------------------------------------------------
# Wait


def test_wait():
    c = api()
    d = c.create(unique("wait"))
    t0 = time.monotonic()
    body = c.wait_for(d["id"], "running", timeout_ms=10_000)
    expect_equal(body["id"], d["id"], "wait answer id")
    check(time.monotonic() - t0 < slow(10), "wait for running took the whole timeout")
    # Already there: at once.
    t0 = time.monotonic()
    c.wait_for(d["id"], "running", timeout_ms=10_000, what="wait when already running")
    check(time.monotonic() - t0 < slow(2), "a wait for the current status was not answered at once")
    # Running never becomes pending: 409 at once.
    r = c.get(wait_path(d["id"], "pending", 10_000))
    expect_error(r, 409, "status_unreachable", "wait for pending on a running deployment")
    # Terminated needs a delete: with none, the timeout.
    t0 = time.monotonic()
    r = c.get(wait_path(d["id"], "terminated", 300))
    expect_error(r, 408, "wait_timeout", "wait with a 300 ms timeout")
    took = time.monotonic() - t0
    check(0.25 <= took < slow(5), f"a 300 ms wait answered after {took:.2f} s")
    # A waiter parked on one connection is woken by a delete from another.
    result = {}

    def park():
        result["r"] = api().get(wait_path(d["id"], "terminated", 10_000))
    t = threading.Thread(target=park)
    t.start()
    expect_status(c.delete(f"/v1/deployments/{d['id']}"), 202, "delete while a waiter is parked")
    t.join(STEP_S)
    check("r" in result, "the parked wait did not return")
    expect_status(result["r"], 200, "parked wait for terminated")
    expect_equal(result["r"].json().get("status"), "terminated", "parked wait answer status")
    r = c.get(wait_path(d["id"], "running", 10_000))
    expect_error(r, 409, "status_unreachable", "wait for running on a terminated deployment")
    for q in ["status=sleeping&timeout=100ms", "timeout=100ms", "status=running&timeout=-5",
              "status=running&timeout=abc", "status=running&timeout=0",
              "status=running&timeout=301s", "status=running&timeout_ms=100"]:
        r = c.get(f"/v1/deployments/{d['id']}/wait?{q}")
        expect_error(r, 400, "invalid_request", f"wait ?{q}")

# ---------------------------------------------------------------------------
# The stream


def stream_url(srv, query="", tls=True):
    if tls:
        return f"wss://127.0.0.1:{srv.tls_port}/v1/stream{query}"
    return f"ws://127.0.0.1:{srv.port}/v1/stream{query}"


async def open_stream(srv, query="", token="rw", tls=True):
    headers = {}
    if token is not None:
        secret = srv.tokens[token].secret if token in srv.tokens else token
        headers["Authorization"] = f"Bearer {secret}"
    return await websockets.connect(stream_url(srv, query, tls), ssl=insecure_tls() if tls else None,
                                    extra_headers=headers, open_timeout=STEP_S,
                                    max_size=1 << 20, max_queue=None)


class Subscriber:
    """One /v1/stream connection and every event it got, checked as it comes."""

    def __init__(self, ws, label):
        self.ws = ws
        self.label = label
        self.events = []

    async def next(self, timeout=None):
        timeout = STEP_S if timeout is None else timeout
        try:
            msg = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.label}: no event within {timeout:.0f} s "
                              f"(last: {self.events[-1:]})")
        except ConnectionClosed as e:
            raise TestFailure(f"{self.label}: stream closed ({e.code} {e.reason!r})")
        check(isinstance(msg, str), f"{self.label}: a binary message {msg[:50]!r}")
        try:
            ev = json.loads(msg)
        except ValueError:
            raise TestFailure(f"{self.label}: message is not JSON: {msg[:200]!r}")
        check(stream_event_ok(ev), f"{self.label}: not a deployment.update event: {msg[:200]}")
        if self.events:
            prev = self.events[-1]["seq"]
            check(ev["seq"] > prev, f"{self.label}: seq {ev['seq']} after {prev}")
        self.events.append(ev)
        return ev

    async def until(self, pred, what, timeout=None):
        timeout = STEP_S if timeout is None else timeout
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TestFailure(f"{self.label}: {what} did not come within {timeout:.0f} s")
            ev = await self.next(left)
            if pred(ev):
                return ev

    def consecutive(self, what):
        seqs = [e["seq"] for e in self.events]
        for a, b in zip(seqs, seqs[1:]):
            check(b == a + 1, f"{self.label}: {what}: seq {b} follows {a} (gap or duplicate)")

    def of(self, dep_id):
        return [e for e in self.events if e["deployment_id"] == dep_id]


async def barrier(subs, c):
    """A deployment made now; returns once every subscriber saw its pending
    event (so every one of them is live). Its seq."""
    d = await asyncio.to_thread(c.create, unique("sync"))
    seq = None
    for s in subs:
        ev = await s.until(lambda e: e["deployment_id"] == d["id"] and e["status"] == "pending",
                           "the barrier's pending event")
        check(seq is None or ev["seq"] == seq,
              f"{s.label}: the barrier's event has seq {ev['seq']}, another subscriber {seq}")
        seq = ev["seq"]
    return seq


LIFECYCLE = ["pending", "running", "terminating", "terminated"]


async def run_lifecycle(c, dep_id):
    await asyncio.to_thread(c.wait_for, dep_id, "running")
    r = await asyncio.to_thread(c.delete, f"/v1/deployments/{dep_id}")
    expect_status(r, 202, "delete in the stream test")
    await asyncio.to_thread(c.wait_for, dep_id, "terminated")


def test_stream_every_subscriber_sees_every_event():
    async def body():
        subs = []
        for i in range(4):
            subs.append(Subscriber(await open_stream(SRV), f"wss subscriber {i}"))
        try:
            sync_seq = await barrier(subs, api())
            creators = [api() for _ in range(4)]
            ids = []
            for i, cl in enumerate(creators):
                ids.append((await asyncio.to_thread(cl.create, unique(f"stream{i}")))["id"])
            await asyncio.gather(*(run_lifecycle(cl, i) for cl, i in zip(creators, ids)))
            for s in subs:
                for dep in ids:
                    if not any(e["deployment_id"] == dep and e["status"] == "terminated"
                               for e in s.events):
                        await s.until(lambda e, dep=dep: e["deployment_id"] == dep
                                      and e["status"] == "terminated", f"{dep} terminated")
                for dep in ids:
                    expect_equal([e["status"] for e in s.of(dep)], LIFECYCLE,
                                 f"{s.label}: the events of {dep}")
                after = Subscriber(None, s.label)
                after.events = [e for e in s.events if e["seq"] >= sync_seq]
                after.consecutive("live events after the barrier")
            # Every subscriber got the same events for the same seqs.
            last = min(s.events[-1]["seq"] for s in subs)
            ref = {e["seq"]: e for e in subs[0].events if sync_seq <= e["seq"] <= last}
            for s in subs[1:]:
                mine = {e["seq"]: e for e in s.events if sync_seq <= e["seq"] <= last}
                expect_equal(mine, ref, f"{s.label}: events vs subscriber 0")
        finally:
            for s in subs:
                await s.ws.close()
    asyncio.run(asyncio.wait_for(body(), slow(60)))


def test_stream_deployment_filter():
    async def body():
        c = api()
        watcher = Subscriber(await open_stream(SRV), "unfiltered")
        try:
            await barrier([watcher], c)
            a = await asyncio.to_thread(c.create, unique("fa"))
            b = await asyncio.to_thread(c.create, unique("fb"))
            pend = await watcher.until(lambda e: e["deployment_id"] == a["id"], "a's pending event")
            # Filtered, replaying from just before a's first event.
            q = f"?deployment_id={a['id']}&since={pend['seq'] - 1}"
            only_a = Subscriber(await open_stream(SRV, q, tls=False), "filtered")
            live_a = Subscriber(await open_stream(SRV, f"?deployment_id={a['id']}"), "filtered live")
            try:
                await asyncio.gather(run_lifecycle(api(), a["id"]),
                                     run_lifecycle(api(), b["id"]))
                await only_a.until(lambda e: e["status"] == "terminated", "a terminated")
                await live_a.until(lambda e: e["status"] == "terminated", "a terminated (live)")
                expect_equal([e["status"] for e in only_a.events], LIFECYCLE,
                             "statuses on the filtered stream")
                check(all(e["deployment_id"] == a["id"] for e in only_a.events + live_a.events),
                      "a filtered stream carried another deployment's event")
                check(all(e["deployment_id"] == a["id"] for e in live_a.events),
                      "the live filtered stream carried another deployment's event")
                check(live_a.events and live_a.events[-1]["status"] == "terminated",
                      "live filtered stream did not end with terminated")
                # b's events exist (the unfiltered one saw them) and were filtered out.
                await watcher.until(lambda e: e["deployment_id"] == b["id"]
                                    and e["status"] == "terminated", "b terminated")
            finally:
                await only_a.ws.close()
                await live_a.ws.close()
        finally:
            await watcher.ws.close()
    asyncio.run(asyncio.wait_for(body(), slow(60)))


def test_stream_since_replay():
    async def body():
        c = api()
        first = Subscriber(await open_stream(SRV), "before the disconnect")
        try:
            mark = await barrier([first], c)
        finally:
            await first.ws.close()
        # Made while nobody listens.
        missed = [(await asyncio.to_thread(c.create, unique("missed")))["id"] for _ in range(5)]
        await asyncio.to_thread(c.wait_for, missed[-1], "running")
        replay = Subscriber(await open_stream(SRV, f"?since={mark}"), f"since={mark}")
        again = None
        try:
            for dep in missed:
                await replay.until(lambda e, dep=dep: e["deployment_id"] == dep
                                   and e["status"] == "running", f"{dep} running (replayed)")
            expect_equal(replay.events[0]["seq"], mark + 1, "first replayed seq")
            # Then live: one made after the replay was read.
            live = await asyncio.to_thread(c.create, unique("after-replay"))
            await replay.until(lambda e: e["deployment_id"] == live["id"], "the live event")
            replay.consecutive("replay then live")
            # A second replay from the same point says the same things.
            again = Subscriber(await open_stream(SRV, f"?since={mark}", tls=False), "second replay")
            await again.until(lambda e: e["seq"] >= replay.events[-1]["seq"], "the same events")
            n = len(replay.events)
            expect_equal(again.events[:n], replay.events, "two replays from the same since")
        finally:
            await replay.ws.close()
            if again is not None:
                await again.ws.close()
    asyncio.run(asyncio.wait_for(body(), slow(60)))


def test_stream_refusals():
    async def refused(query, token, status, what, tls=True):
        try:
            ws = await open_stream(SRV, query, token=token, tls=tls)
        except InvalidStatusCode as e:
            expect_equal(e.status_code, status, what)
            return
        await ws.close()
        raise TestFailure(f"{what}: the upgrade was accepted")

    async def body():
        await refused("", None, 401, "stream without a token")
        await refused("", "rs_test_wrong", 401, "stream with a wrong token")
        await refused("?since=abc", "rw", 400, "stream with since=abc")
        await refused("?since=-1", "rw", 400, "stream with since=-1")
        await refused("?deployment_id=nope", "rw", 400, "stream with a bad deployment_id")
        await refused("?foo=1", "rw", 400, "stream with an unknown parameter")
        await refused("?since=1&since=2", "rw", 400, "stream with since twice")
        ws = await open_stream(SRV, "", token="ro")
        await ws.close()
        # Browsers cannot set headers on a WebSocket: ?access_token= instead.
        ws = await websockets.connect(stream_url(SRV, f"?access_token={SRV.rw}", tls=False),
                                      open_timeout=STEP_S)
        await ws.close()
    asyncio.run(asyncio.wait_for(body(), slow(60)))


HISTORY = 10_050  # history_events of the history server
PRUNED = 50       # events made beyond it: seqs 1..PRUNED are gone


def test_stream_history_gone_and_long_replay():
    """history_events = 10050 and 10100 events: seqs 1..50 are pruned.
    since=49 needs seq 50: close 4410 with a reason. since=50: every event
    51..10100 in order (more than one store read of 10000 events), then the
    live ones, without a gap."""
    plugin = {"history_events": HISTORY,
              "executor": {"start_delay_ms": 3_600_000, "stop_delay_ms": 3_600_000}}
    total = HISTORY + PRUNED
    check(total % 100 == 0, "the history test makes events 100 at a time")
    with DeploymentsServer(BINARY, plugin=plugin) as srv:
        chunks = list(range(total // 100))
        failures = []

        def fill(worker):
            c = srv.client()
            try:
                for chunk in chunks[worker::4]:
                    r = c.post("/v1/batch", batch_request(
                        [("create", create_body(f"h{chunk}-{i}")) for i in range(100)]))
                    expect_status(r, 200, f"batch {chunk} of 100 creates")
                    check(all(s == 201 for s, _ in batch_results(r)), f"batch {chunk}: not all 201")
            except Exception as e:
                failures.append(e)
        workers = [threading.Thread(target=fill, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(slow(60))
        check(not failures, f"filling the history: {failures[:1]}")
        check(not any(w.is_alive() for w in workers), "filling the history took too long")

        async def gone(since):
            ws = await open_stream(srv, f"?since={since}")
            try:
                msg = await asyncio.wait_for(ws.recv(), STEP_S)
                raise TestFailure(f"since={since}: got {msg[:200]!r} instead of close 4410")
            except ConnectionClosed as e:
                expect_equal(e.code, 4410, f"close code for since={since}")
                check(e.reason, f"close 4410 for since={since} without a reason")
            except asyncio.TimeoutError:
                raise TestFailure(f"since={since}: neither events nor a close")

        async def body():
            await gone(0)
            await gone(PRUNED - 1)
            s = Subscriber(await open_stream(srv, f"?since={PRUNED}"), f"since={PRUNED}")
            try:
                first = await s.next()
                expect_equal(first["seq"], PRUNED + 1, f"first event of since={PRUNED}")
                d = await asyncio.to_thread(srv.client().create, unique("live"))
                ev = await s.until(lambda e: e["deployment_id"] == d["id"], "the live event")
                expect_equal(ev["seq"], total + 1, "seq of the live event")
                s.consecutive(f"since={PRUNED} replay of {HISTORY} events, then a live one")
            finally:
                await s.ws.close()
        asyncio.run(asyncio.wait_for(body(), slow(60)))
        expect_equal(srv.stop(), 0, "exit status of the history server after SIGTERM")

# ---------------------------------------------------------------------------
# Rate limit (a server of its own: burst 3, next token in 1000 s)


def test_rate_limit_per_token():
    with DeploymentsServer(BINARY, plugin={"rate_limit_burst": 3,
                                           "rate_limit_per_second": 0.001}, tls=False) as srv:
        rw, ro = srv.client("rw"), srv.client("ro")
        for i in range(3):
            r = rw.get("/v1/deployments")
            expect_status(r, 200, f"request {i + 1} of a burst of 3")
            for h in ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                      "RateLimit-Policy", "RateLimit"]:
                check(r.header(h), f"request {i + 1}: no {h} header")
            expect_equal(r.header("X-RateLimit-Remaining"), str(2 - i), f"remaining after {i + 1}")
        r = rw.post("/v1/deployments", create_body(unique("limited")))
        expect_error(r, 429, "rate_limit_exceeded", "request 4 of a burst of 3")
        retry = r.header("Retry-After") or ""
        check(retry.isdigit() and int(retry) >= 1, f"Retry-After {retry!r}")
        check(r.header("RateLimit") and r.header("RateLimit-Policy"), "429 without RateLimit fields")
        r = ro.get("/v1/deployments")
        expect_status(r, 200, "another token has its own bucket")
        r = rw.get("/health")
        expect_status(r, 200, "/health is not limited")
        check(r.header("X-RateLimit-Limit") is None, "/health carries rate-limit headers")
        rw.close()
        ro.close()


def test_rate_limit_burst_zero_is_no_limit():
    """plugin_config.h: rate_limit_burst = 0 means no limit."""
    with DeploymentsServer(BINARY, plugin={"rate_limit_burst": 0}, tls=False) as srv:
        c = srv.client()
        for i in range(120):
            r = c.get("/v1/deployments?limit=1")
            expect_status(r, 200, f"request {i + 1} with rate_limit_burst = 0")

def test_failed_lifecycle():
    """failure_rate = 1: pending -> failed; a wait for running parked before
    it failed is answered 409 (woken, not timed out); a failed deployment can
    still be deleted: terminating -> terminated; the stream says so."""
    plugin = {"executor": {"failure_rate": 1.0, "start_delay_ms": 300, "stop_delay_ms": 100}}
    with DeploymentsServer(BINARY, plugin=plugin, tls=False) as srv:
        c = srv.client()
        d = c.create(unique("doomed"))
        t0 = time.monotonic()
        woken = c.get(wait_path(d["id"], "running", 10_000))
        expect_status(woken, 409, "wait for running on one that then failed")
        expect_equal(woken.json()["error"]["code"], "status_unreachable", "woken wait's code")
        check(time.monotonic() - t0 < slow(5), "the parked wait was not woken when the deployment failed")
        expect_equal(c.get_deployment(d["id"])["status"], "failed", "status after the failure")
        c.wait_for(d["id"], "failed", what="wait for failed")
        r = c.delete(f"/v1/deployments/{d['id']}")
        expect_status(r, 202, "delete of a failed deployment")
        expect_equal(r.json()["status"], "terminating", "status in the delete answer")
        c.wait_for(d["id"], "terminated", what="failed -> terminated")

        async def events():
            s = Subscriber(await open_stream(srv, "?since=0", tls=False), "since=0")
            try:
                await s.until(lambda e: e["status"] == "terminated", "terminated")
            finally:
                await s.ws.close()
            return [e["status"] for e in s.events]
        expect_equal(asyncio.run(asyncio.wait_for(events(), slow(30))),
                     ["pending", "failed", "terminating", "terminated"], "events of a failure")
        # Last, so that the lifecycle above is checked whatever this says.
        expect_error(woken, 409, "status_unreachable", "the woken wait's error body")

# ---------------------------------------------------------------------------
# Shutdown


def test_sigterm_answers_parked_wait():
    """SIGTERM while a wait is parked: the wait is answered (503, shutting
    down: plugin_state.h, release_waiters) rather than cut off, and the
    drain does not sit out its deadline (10 s) for it."""
    import http.client
    plugin = {"executor": {"start_delay_ms": 3_600_000}}
    # One shard: the create leaves the deployment in that shard's cache, so
    # the wait parks inside its handler; and a later request on another
    # connection is read after the wait's (it was in the socket first), so
    # its answer means the wait is parked.
    with DeploymentsServer(BINARY, plugin=plugin, shards=1, tls=False) as srv:
        d = srv.client().create(unique("parked"))
        parked = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        parked.request("GET", wait_path(d["id"], "running", 60_000),
                       headers={"Authorization": f"Bearer {srv.rw}"})
        expect_status(srv.client().get("/ready"), 200, "a request after the parked wait")
        t0 = time.monotonic()
        code = srv.stop(30)
        took = time.monotonic() - t0
        try:
            r = parked.getresponse()
            status, body = r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            raise TestFailure(f"the parked wait got no answer at SIGTERM ({type(e).__name__}: "
                              f"{e}); SIGTERM took {took:.1f} s")
        finally:
            parked.close()
        expect_equal(status, 503, f"status of the parked wait at SIGTERM ({body[:200]!r})")
        expect_equal(code, 0, "exit status after SIGTERM")
        check(took < slow(5), f"SIGTERM took {took:.1f} s with a wait parked")

# ---------------------------------------------------------------------------


TESTS = [(f.__name__[5:], f) for f in [
    test_health_and_ready,
    test_deprecated_status_route,
    test_api_version_header,
    test_create_get_list_delete,
    test_delete_pending_deployment,
    test_not_found,
    test_read_your_writes_across_connections,
    test_validation_malformed_json,
    test_validation_types_unknown_duplicates_missing,
    test_validation_bounds,
    test_body_limit_and_content_type,
    test_body_limit_refusal_closes,
    test_auth_tokens_and_scopes,
    test_idempotency_replay_and_mismatch,
    test_idempotency_key_format,
    test_idempotency_concurrent_retries,
    test_batch_mixed_operations,
    test_batch_limits_and_bad_json,
    test_batch_scopes_read_only,
    test_batch_idempotency,
    test_list_query_and_status_filter,
    test_pagination_under_concurrent_inserts,
    test_wait,
    test_stream_every_subscriber_sees_every_event,
    test_stream_deployment_filter,
    test_stream_since_replay,
    test_stream_refusals,
    test_stream_history_gone_and_long_replay,
    test_rate_limit_per_token,
    test_rate_limit_burst_zero_is_no_limit,
    test_failed_lifecycle,
    test_sigterm_answers_parked_wait,
]]


def main():
    global BINARY, SRV, SLOW, STEP_S, SUITE_BUDGET_S
    BINARY = binary_from_argv()
    SLOW = slowdown(BINARY)
    STEP_S *= SLOW
    SUITE_BUDGET_S *= SLOW
    try:
        SRV = DeploymentsServer(BINARY)
        SRV.__enter__()
    except Exception as e:
        print(f"FAIL: the server did not start: {e}")
        return 1
    try:
        code = run_tests(TESTS, SRV.output, SUITE_BUDGET_S)
        if code == 0:
            status = SRV.stop()
            if status != 0:
                print(f"FAIL: ringshard exited with {status} after SIGTERM\n{SRV.output(8000)}")
                code = 1
        return code
    finally:
        SRV.close()


if __name__ == "__main__":
    sys.exit(main())
