#!/usr/bin/env bash
# bench/instructions_per_request.sh: the server's instructions per request,
# counted by valgrind's callgrind (repeatable for the same binary and
# inputs, whatever else the machine is doing, unlike CPU time on a shared
# machine). The server runs one shard under callgrind twice, serving N and
# then 2N keep-alive requests of URL path PATH from ringshard-load; the
# difference divided by N leaves start-up and shutdown out.
#
# Usage: bench/instructions_per_request.sh [--requests N] [--path /plaintext]
#          [--load BUILD/bench/ringshard-load] BINARY [server flags...]
# Example, the cost of the default middleware against all of it off:
#   bench/instructions_per_request.sh build/ringshard --request-id=false \
#       --trace-context=false --admin-listen off
#   bench/instructions_per_request.sh build/ringshard --admin-listen 127.0.0.1:0
# Loopback only; stops what it starts by PID.
set -euo pipefail
requests=20000
path=/plaintext
load=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    *) break ;;
  esac
done
bin=${1:?usage: instructions_per_request.sh [--requests N] BINARY [flags...]}
shift
[[ -n "$load" ]] || load="$(dirname "$bin")/bench/ringshard-load"
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 69; }
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# count N: total instructions of a server run that answered N requests.
count() {
  local n=$1 port=""
  shift
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" "$bin" \
    --listen 127.0.0.1:0 --shards 1 --tls-listen off "$@" 2>"$work/log.$n" &
  server_pid=$!
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/log.$n" | head -1)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$work/log.$n" >&2; exit 1; }
  "$load" "http://127.0.0.1:$port$path" --connections 16 --requests "$n" >"$work/load.$n"
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  sed -n 's/^summary: //p; s/^totals: //p' "$work/cg.$n" | head -1 | awk '{print $1}'
}

shift_flags=("$@")
a=$(count "$requests" "${shift_flags[@]}")
b=$(count $((requests * 2)) "${shift_flags[@]}")
echo "$(( (b - a) / requests )) instructions/request ($bin ${shift_flags[*]})"
