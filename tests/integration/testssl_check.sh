#!/usr/bin/env bash
# testssl.sh (Debian's `testssl`) against the ringshard binary's HTTPS with
# its self-signed development certificate. Fails on any finding of severity
# MEDIUM or above other than the two that only a CA-issued certificate can
# clear: cert_chain_of_trust (self-signed) and cert_revocation (no CRL/OCSP
# URI in a self-signed certificate). Also fails if the server does not exit
# 0 on SIGTERM afterwards (so a crash under the sanitizers shows).
# Loopback only; stops what it started, by PID.
#   usage: testssl_check.sh BINARY
set -euo pipefail
bin=$1
command -v testssl >/dev/null || { echo "testssl not installed (scripts/install-deps.sh)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ringshard-testssl.XXXXXX")
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --admin-listen off --no-plugins --shards 1 --data-dir "$work/data" \
  2> "$work/server.log" &
server_pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*https on .*:\([0-9]*\)$/\1/p' "$work/server.log")
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { cat "$work/server.log"; echo "server did not start"; exit 1; }

# --warnings batch: no prompts; --ip one: 127.0.0.1 only.
testssl --quiet --color 0 --warnings batch --ip one --jsonfile "$work/result.json" \
  "127.0.0.1:$port" > "$work/testssl.out" 2>&1 || true

status=0
if ! python3 - "$work/result.json" <<'PY'
import json, sys
allowed = {"cert_chain_of_trust", "cert_revocation"}
findings = json.load(open(sys.argv[1]))
bad = [f for f in findings
       if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL") and f.get("id") not in allowed]
seen = {f.get("id") for f in findings}
for f in bad:
    print(f"{f['severity']} {f['id']}: {f.get('finding')}")
if "cipherorder_TLSv1_3" not in seen and "TLS1_3" not in seen:
    print("testssl produced no TLS 1.3 results: did it run?"); sys.exit(1)
print(f"testssl: {len(findings)} results, {len(bad)} of severity MEDIUM or above "
      f"besides the self-signed certificate's")
sys.exit(1 if bad else 0)
PY
then
  status=1
fi

kill -TERM "$server_pid"
wait "$server_pid" || { echo "server exited $? after SIGTERM"; cat "$work/server.log"; exit 1; }
server_pid=
exit $status
