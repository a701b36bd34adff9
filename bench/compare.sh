#!/usr/bin/env bash
# bench/compare.sh: ringshard against nginx, h2o and ringshard-floor, and its
# WebSockets against Node's ws, in one run.
#
# Every server runs pinned to CPU 0 (one shard / one worker / one thread);
# every load generator runs pinned to CPU 1. For each (mode, server,
# generator) it records requests/s, p50 and p99 latency and the server's CPU
# time per request: utime+stime of all the server's processes, from
# /proc/PID/stat, over the run, divided by the requests served. Ratios are
# against nginx and against ringshard-floor measured in the same invocation.
# Method and caveats: bench/README.md.
#
#   modes:       keepalive (64 connections), pipelined (depth 16), close
#                (a new connection per request)
#   generators:  wrk, and build/bench/ringshard-load when it is built
#   same rate:   ringshard-load --rate at half nginx's keep-alive throughput,
#                p99 per server (needs ringshard-load)
#   idle:        bench/idle_conns.py, RSS per idle connection, ringshard and
#                nginx, each on a fresh instance
#   TLS:         ringshard and nginx only, TLS 1.3, X25519, AES-128-GCM, one
#                ECDSA P-256 certificate made here with openssl; rows
#                tls-handshake (a full handshake per request), tls-resumed
#                (a ticket-resumed handshake per request), tls-keepalive (64
#                connections) and tls-bulk (64 MiB responses over one
#                connection: MB/s and server CPU per MiB)
#   WebSocket:   ringshard (one shard) and the Node ws peer (bench/peers/,
#                npm-installed into BUILD/bench-node), ringshard-load only;
#                rows ws-echo (64 connections, 32-byte text messages),
#                ws-echo-64k (1 connection, 64 KiB binary messages: MB/s),
#                ws-fanout and ws-fanout-d16 (10,000 subscribers of one
#                /ws/chat channel, one publisher closed-loop on its own echo
#                with 1 or 16 publications in flight: deliveries/s, server
#                CPU per delivery over the publishing window), ringshard's
#                HTTP keep-alive on the same process (its echo target's
#                bound), and ws-idle: RSS per idle WebSocket, without
#                deflate, with deflate agreed, and with deflate after one
#                2 KiB message per connection (at most 2,000 connections)
#   middleware:  one ringshard binary three ways, keep-alive /plaintext, the
#                keep-alive row's generators: rs-bare (request ids, trace
#                context and the admin listener off), rs-default (no flags)
#                and rs-full (CORS, security headers, an always-admitting
#                rate-limit rule, an access log to a file), with nginx when
#                it is run, interleaved over 3 rounds (1 with --quick);
#                median CPU per request, ratios to rs-bare and nginx
#   deployments: ringshard --shards 1 with the deployment API plugin
#                (build/plugins/deployments.so; skipped with a notice while it
#                is not built), ringshard-load only, 64 connections: GET
#                /v1/deployments/{id} against GET /json of the same process
#                (server CPU per request and their ratio, median of 3 rounds,
#                1 with --quick), POST /v1/deployments closed-loop (creates/s)
#                and at 5,000/s offered (p99), and the stream's delivery
#                latency: 1,000 /v1/stream subscribers, p50/p99 from each
#                create to its "pending" event at every subscriber, missed
#   proxy:       reverse proxies in front of one nginx backend (pinned to CPU
#                1, beside the load generator): nginx (proxy_pass, upstream
#                keepalive 64) and ringshard --shards 1 --upstream/--route
#                (skipped with a notice while the binary has no --upstream),
#                each on CPU 0, ringshard-load only, 64 connections, GET /:
#                rows proxy-keepalive (closed loop, 3 rounds, 1 with --quick:
#                req/s, proxy CPU per request, p50/p99) and proxy-same-rate
#                (half nginx-proxy's throughput: p99), and the upstream
#                connections each proxy opened per 10,000 requests, counted
#                from the backend's stub_status (bench/proxy_rows.sh)
#
# Writes bench/results/<UTC timestamp>.json, bench/results/latest.json and
# bench/results/latest.png (gnuplot), and prints the table. bench/results/ is
# ignored by git, so a run never dirties the checkout; the published results
# the READMEs show are bench/reference/, which this script never writes
# (replacing them is a deliberate copy and commit).
#
# Usage: bench/compare.sh [--quick] [--duration S] [--build DIR]
#                         [--only NAME[,NAME...]] [--skip-peers] [--no-idle]
#                         [--tls | --no-tls | --tls-only] [--ws | --no-ws | --ws-only]
#                         [--middleware | --no-middleware | --middleware-only]
#                         [--deployments | --no-deployments | --deployments-only]
#                         [--proxy | --no-proxy | --proxy-only] [--help]
#   --quick       1 s runs, 2,000 idle connections (about two minutes)
#   --only        servers among: nginx, floor, ringshard, h2o, ws (the Node
#                 ws peer)
#   --skip-peers  only ringshard and ringshard-floor
#   --tls         TLS rows too (the default); --no-tls: no TLS rows;
#                 --tls-only: TLS rows only (no plain, same-rate, WebSocket
#                 or idle rows)
#   --ws          WebSocket rows too (the default); --no-ws: none;
#                 --ws-only: WebSocket rows only (and their idle rows)
#   --middleware  middleware rows too (the default); --no-middleware: none;
#                 --middleware-only: middleware rows only (ringshard, and
#                 nginx unless --only leaves it out)
#   --deployments deployment API rows too (the default); --no-deployments:
#                 none; --deployments-only: those rows only (ringshard)
#   --proxy       reverse-proxy rows too (the default); --no-proxy: none;
#                 --proxy-only: those rows only (nginx and ringshard as
#                 proxies, as --only allows; the nginx backend always)
#   --help        print this text
# Needs: wrk, nginx, h2o, gnuplot, for TLS openssl and curl, for the ws peer
# node and npm (make bench / scripts/install-deps.sh bench).
# Loopback only; everything it starts it stops by PID.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
source bench/proxy_rows.sh

duration=5
idle_n=10000
build=build
servers=(nginx floor ringshard h2o ws)
run_idle=1
run_plain=1
run_tls=1
run_ws=1
run_ws_idle=1
run_mw=1
run_dep=1
run_proxy=1
quick=false
fanout_n=10000
usage() {
  echo "usage: $0 [--quick] [--duration S] [--build DIR] [--only NAME[,NAME...]] [--skip-peers] [--no-idle]" \
       "[--tls | --no-tls | --tls-only] [--ws | --no-ws | --ws-only]" \
       "[--middleware | --no-middleware | --middleware-only]" \
       "[--deployments | --no-deployments | --deployments-only]" \
       "[--proxy | --no-proxy | --proxy-only] [--help]" >&2
  exit 64
}
# The header comment above is the help.
help() { sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "$self"; exit 0; }
while (( $# )); do
  case "$1" in
    --quick) duration=1; idle_n=2000; quick=true ;;
    --duration) [[ $# -ge 2 ]] || usage; duration="$2"; shift ;;
    --build) [[ $# -ge 2 ]] || usage; build="$2"; shift ;;
    --only) [[ $# -ge 2 ]] || usage; IFS=, read -r -a servers <<<"$2"; shift ;;
    --skip-peers) servers=(floor ringshard) ;;
    --no-idle) run_idle=0; run_ws_idle=0 ;;
    --tls) run_tls=1 ;;
    --no-tls) run_tls=0 ;;
    --tls-only) run_tls=1; run_plain=0; run_idle=0; run_ws=0; run_mw=0; run_dep=0; run_proxy=0 ;;
    --ws) run_ws=1 ;;
    --no-ws) run_ws=0 ;;
    --ws-only) run_ws=1; run_plain=0; run_tls=0; run_idle=0; run_mw=0; run_dep=0; run_proxy=0 ;;
    --middleware) run_mw=1 ;;
    --no-middleware) run_mw=0 ;;
    --middleware-only) run_mw=1; run_plain=0; run_tls=0; run_ws=0; run_idle=0; run_ws_idle=0; run_dep=0; run_proxy=0 ;;
    --deployments) run_dep=1 ;;
    --no-deployments) run_dep=0 ;;
    --deployments-only) run_dep=1; run_plain=0; run_tls=0; run_ws=0; run_idle=0; run_ws_idle=0; run_mw=0; run_proxy=0 ;;
    --proxy) run_proxy=1 ;;
    --no-proxy) run_proxy=0 ;;
    --proxy-only) run_proxy=1; run_plain=0; run_tls=0; run_ws=0; run_idle=0; run_ws_idle=0; run_mw=0; run_dep=0 ;;
    -h|--help) help ;;
    *) usage ;;
  esac
  shift
done
for s in "${servers[@]}"; do
  case "$s" in nginx|floor|ringshard|h2o|ws) ;; *) echo "compare.sh: unknown server '$s'" >&2; usage ;; esac
done
has() { local s; for s in "${servers[@]}"; do [[ "$s" == "$1" ]] && return 0; done; return 1; }
# The Node ws peer serves WebSockets only: it takes part in the WebSocket
# rows, not in the HTTP lists below.
ws_peer=0
if has ws; then
  ws_peer=1
  keep=(); for s in "${servers[@]}"; do [[ "$s" != ws ]] && keep+=("$s"); done
  servers=("${keep[@]}")
fi
if (( !run_plain && !run_ws )); then
  # TLS, middleware, deployment or proxy rows only: ringshard and nginx
  # are the only servers that take part.
  keep=(); for s in "${servers[@]}"; do [[ "$s" == ringshard || "$s" == nginx ]] && keep+=("$s"); done
  servers=("${keep[@]}")
  (( ${#servers[@]} )) || { echo "compare.sh: --tls-only, --middleware-only, --deployments-only and --proxy-only need ringshard or nginx" >&2; exit 64; }
fi

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 not found (run: scripts/install-deps.sh bench)" >&2; exit 69; }; }
need taskset; need python3
if (( run_plain || run_tls || run_idle || run_mw )); then
  need wrk
  has nginx && need nginx
  has h2o && need h2o
fi
(( run_tls )) && { need openssl; need curl; }
rs_bin="$build/ringshard"
floor_bin="$build/bench/floor/ringshard-floor"
has ringshard && { [[ -x "$rs_bin" ]] || { echo "compare.sh: $rs_bin not built" >&2; exit 69; }; }
(( run_plain )) && has floor && { [[ -x "$floor_bin" ]] || { echo "compare.sh: $floor_bin not built" >&2; exit 69; }; }
# A ringshard with HTTPS would also listen on 0.0.0.0:8443 (and make a
# development certificate under ./data): the plain rows turn that off.
# (The help text is read whole first: with pipefail, grep -q closing the pipe
# early would fail the test by SIGPIPE.)
rs_help=""; has ringshard && rs_help=$("$rs_bin" --help 2>&1 || true)
rs_plain_flags=()
if [[ "$rs_help" == *--tls-listen* ]]; then rs_plain_flags=(--tls-listen off); fi
rs_admin_off=()
if [[ "$rs_help" == *--admin-listen* ]]; then rs_admin_off=(--admin-listen off); rs_plain_flags+=(--admin-listen off); fi
# No plugin either (the default list opens the deployment store under
# ./data): every row measures the server alone.
if [[ "$rs_help" == *--no-plugins* ]]; then rs_admin_off+=(--no-plugins); rs_plain_flags+=(--no-plugins); fi
load_bin=""
for cand in "$build/bench/ringshard-load" "$build/bench/load/ringshard-load"; do
  [[ -x "$cand" ]] && { load_bin="$cand"; break; }
done
[[ -n "$load_bin" ]] || echo "compare.sh: notice: $build/bench/ringshard-load not built; wrk only, no same-rate rows" >&2
[[ $(nproc) -ge 2 ]] || echo "compare.sh: warning: fewer than 2 CPUs; server and load share a core" >&2

# Servers inherit this: ringshard and nginx must hold the idle connections.
ulimit -n "$(ulimit -Hn)"

started=$(date +%s)
work=$(mktemp -d)
chmod 755 "$work"   # h2o's worker runs as nobody and serves a file from here
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The middleware rows: one binary, three configurations (mw_args VARIANT
# sets mw_args). Flags the binary does not list in --help, or values it
# refuses (--check-config), stop the run here, before anything is measured.
mw_variants=(rs-bare rs-default rs-full)
mw_args() {
  case "$1" in
    rs-bare) mw_args=(--request-id=false --trace-context=false --admin-listen off) ;;
    rs-default) mw_args=() ;;
    rs-full) mw_args=(--cors --security-headers
                      --rate-limit "name=all,match=/,key=ip,burst=1000000000,rate=1000000000/s"
                      --access-log "$work/access.log") ;;
  esac
}
if (( run_mw )) && ! has ringshard; then
  if (( !run_plain && !run_tls && !run_ws && !run_dep && !run_proxy )); then
    echo "compare.sh: --middleware-only needs ringshard" >&2; exit 64
  fi
  run_mw=0
fi
if (( run_mw )); then
  for f in --request-id --trace-context --admin-listen --cors --security-headers --rate-limit --access-log; do
    if ! grep -qE -- "(^|[[:space:]])$f([[:space:]=[]|\$)" <<<"$rs_help"; then
      echo "compare.sh: $rs_bin has no $f flag, which the middleware rows need" \
           "(build a ringshard that has it, or pass --no-middleware)" >&2
      exit 69
    fi
  done
  for v in "${mw_variants[@]}"; do
    mw_args "$v"
    if ! out=$("$rs_bin" --listen 127.0.0.1:1 "${rs_plain_flags[@]}" "${mw_args[@]}" --check-config 2>&1); then
      echo "compare.sh: $rs_bin refuses the $v flags (${mw_args[*]}):" >&2
      tail -3 <<<"$out" >&2
      exit 69
    fi
  done
fi

# The reverse-proxy rows (bench/proxy_rows.sh): which proxies run, their
# flags checked before anything is measured.
proxy_prepare

# ---- deployment rows: settings ----------------------------------------------
# CHECK THESE WHEN THE DEPLOYMENT API LANDS (plugins/deployments, the plugin
# host in server/): they are written against the plugin ABI commit, the
# store's model (plugins/deployments/deployment.h) and the auth flags of
# docs/configuration.md, before either existed. Everything the section
# passes is here.
dep_plugin="$build/plugins/deployments.so"
# How the host loads a plugin (plugins/CMakeLists.txt: "a .so loaded with
# --plugin or by name").
dep_plugin_flags=(--plugin "$dep_plugin")
# A token the script knows: the server gets its SHA-256 (--auth-token
# NAME:SHA256HEX:SCOPES; scopes may contain ':', only the first two ':'
# separate fields). --auth turns the checks on; with no --auth-rule it adds
# none of its own.
dep_token="bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
dep_sha=$(printf %s "$dep_token" | python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
dep_auth_flags=(--auth --auth-token "bench:$dep_sha:deployments:read,deployments:write")
# RATE LIMIT FOR THE BENCH: the creates run at 5,000/s and more from one
# address and one token, the GETs at full speed; the plugin's per-token
# limit must not refuse them, but it stays on (a limit that never refuses
# still costs its check on every request, as it does for users).
dep_config_toml=$'[plugins.deployments]\nrate_limit_burst = 1000000000\nrate_limit_per_second = 1000000000'
dep_extra_flags=()
# What every create sends (name [a-z0-9-]{1,63}, cpu 1..64, memory
# 64..1048576 MiB), and the stream row's size.
dep_body='{"name":"bench","image":"nginx:1","resources":{"cpu":1,"memory":128}}'
dep_subscribers=1000
dep_stream_creates=100; $quick && dep_stream_creates=20
dep_create_rate=5000   # the target: creates/s, with p99 < 20 ms
# ------------------------------------------------------------------------------
# dep_server_flags: everything but --listen (dep_config_file is written
# once $work exists, below).
dep_server_flags=()
dep_skip=""
if (( run_dep )); then
  if ! has ringshard; then
    dep_skip="they need ringshard (--only leaves it out)"
  elif [[ ! -f "$dep_plugin" ]]; then
    dep_skip="$dep_plugin is not built (the deployment API plugin, plugins/deployments)"
  elif [[ -z "$load_bin" || "$("$load_bin" --help 2>&1 || true)" != *--ws-stream* ]]; then
    dep_skip="they need a ringshard-load with --body and --ws-stream ($build/bench/ringshard-load)"
  elif ! grep -qE -- "(^|[[:space:]])--plugin([[:space:]=]|\$)" <<<"$rs_help"; then
    dep_skip="$rs_bin has no --plugin flag (the plugin host)"
  fi
  if [[ -n "$dep_skip" ]]; then
    echo "compare.sh: notice: no deployment rows: $dep_skip" >&2
    run_dep=0
    if (( !run_plain && !run_tls && !run_ws && !run_mw && !run_idle && !run_proxy )); then
      echo "compare.sh: --deployments-only: nothing to measure" >&2
      exit 0
    fi
  fi
fi
if (( run_dep )); then
  dep_server_flags=(--shards 1 "${rs_plain_flags[@]}" --data-dir "$work/deployments-data"
                    "${dep_auth_flags[@]}" "${dep_plugin_flags[@]}" "${dep_extra_flags[@]}")
  if grep -qE '^[[:space:]]*[A-Za-z0-9_"-]+[[:space:]]*=' <<<"$dep_config_toml"; then
    printf '%s\n' "$dep_config_toml" >"$work/deployments.toml"
    dep_server_flags+=(--config "$work/deployments.toml")
  fi
  if ! out=$("$rs_bin" --listen 127.0.0.1:1 "${dep_server_flags[@]}" --check-config 2>&1); then
    echo "compare.sh: $rs_bin refuses the deployment rows' flags (${dep_server_flags[*]//$dep_sha/SHA256}):" >&2
    tail -3 <<<"$out" >&2
    echo "compare.sh: fix the settings at the top of the deployment section, or pass --no-deployments" >&2
    exit 69
  fi
fi

# Other work on the machine skews everything: measure it, say so, record it.
busy_pct() {
  local a b
  read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
  local tot=0 idle i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $(( tot > 0 ? 100 * (tot - idle) / tot : 0 ))
}
background_busy=$(busy_pct)
if (( background_busy > 10 )); then
  echo "compare.sh: warning: the machine is ${background_busy}% busy before the run; expect noise" >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

printf 'Hello, World!' >"$work/plaintext"
chmod 644 "$work/plaintext"
cat >"$work/pipeline.lua" <<'EOF'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil) end
  req = table.concat(r)
end
request = function() return req end
EOF

# start_server NAME PORT: starts it pinned to CPU 0, sets started_pid.
start_server() {
  local name=$1 port=$2
  case "$name" in
    ringshard)
      taskset -c 0 "$rs_bin" --listen "127.0.0.1:$port" --shards 1 "${rs_plain_flags[@]}" 2>>"$work/ringshard.log" &
      ;;
    floor)
      taskset -c 0 "$floor_bin" --listen "127.0.0.1:$port" 2>>"$work/floor.log" &
      ;;
    ws|ws-deflate)
      # The Node ws peer (the WebSocket rows); ws-deflate accepts
      # permessage-deflate. env and node exec in place: the PID is node's.
      local flags=(); [[ "$name" == ws-deflate ]] && flags=(--deflate)
      taskset -c 0 env NODE_PATH="$node_modules" node bench/peers/ws_echo_server.js \
        --port "$port" "${flags[@]}" >>"$work/ws-peer.log" 2>&1 &
      ;;
    nginx)
      cat >"$work/nginx-$port.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/nginx-error.log;
pid $work/nginx-$port.pid;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port reuseport backlog=4096;
    location / { return 200 "Hello, World!"; }
  }
}
EOF
      taskset -c 0 nginx -c "$work/nginx-$port.conf" -e "$work/nginx-error.log" 2>/dev/null &
      ;;
    h2o)
      # Debian's h2o 2.2.5 has no built-in fixed response short of mruby, so
      # it serves a 13-byte file (its file handler keeps it open in a cache).
      cat >"$work/h2o-$port.conf" <<EOF
num-threads: 1
max-connections: 16384
error-log: $work/h2o-error.log
file.mime.setdefaulttype: text/plain
listen:
  host: 127.0.0.1
  port: $port
hosts:
  default:
    paths:
      /:
        file.dir: $work
EOF
      taskset -c 0 h2o -c "$work/h2o-$port.conf" 2>>"$work/h2o-error.log" &
      ;;
  esac
  started_pid=$!
  pids+=("$started_pid")
  wait_listening "$name" "$port"
}
# wait_listening NAME PORT [PID LOG]: with PID, a server that exits while
# starting up (a flag refused, a port taken) fails at once, with LOG's tail.
wait_listening() {
  local _
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    if [[ -n "${3:-}" ]] && ! kill -0 "$3" 2>/dev/null; then
      echo "compare.sh: $1 exited while starting up; the end of ${4:-its log}:" >&2
      [[ -n "${4:-}" ]] && tail -5 "$4" >&2
      exit 1
    fi
    sleep 0.05
  done
  echo "compare.sh: $1 is not listening on $2" >&2
  exit 1
}
stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local p keep=()
  for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]}")   # a PID we no longer own may be reused: never kill it later
}

# CPU ticks of a process and all its descendants (nginx master + worker).
tree_pids() { local p c; p=$1; echo "$p"; for c in $(pgrep -P "$p" || true); do tree_pids "$c"; done; }
cpu_ticks() {
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

# "1.23ms" -> 1230 (microseconds)
to_us() { awk -v v="$1" 'BEGIN{ n=v+0; u=v; sub(/^[0-9.]+/, "", u);
  f = (u=="us") ? 1 : (u=="ms") ? 1e3 : (u=="s") ? 1e6 : (u=="m") ? 6e7 : 1; printf "%.1f", n*f }'; }

runs="$work/runs.tsv"; same="$work/same_rate.tsv"; idle="$work/idle.jsonl"; tls="$work/tls.tsv"
: >"$runs"; : >"$same"; : >"$idle"; : >"$tls"

# run_generator NAME PID URL MODE GEN [RATE]: one load run. Sets g_reqs g_secs
# g_rps g_p50 g_p99 g_errs g_ticks, and for TLS rows g_bytes (response bytes
# read), g_handshakes and g_resumed (-1: the generator does not say).
# MODE: keepalive, pipelined, close, tls-keepalive, tls-handshake, tls-resumed.
# ringshard-load also gets load_extra's arguments (--method, --header...).
load_extra=()
run_generator() {
  local name=$1 pid=$2 url=$3 mode=$4 gen=$5 rate=${6:-}
  local c0 c1 out reqs secs rps p50 p99 errs bytes=0 hs=-1 res=-1
  # wrk and curl link OpenSSL 3, which puts AES-256-GCM first; this makes
  # them offer what the servers are measured with (see write_tls_files).
  local envs=()
  [[ "$url" == https://* ]] && envs=(env OPENSSL_CONF="$work/openssl-client.cnf")
  if [[ "$gen" == wrk ]]; then
    local args=(-t1 -c64 -d"${duration}s" --latency --timeout 5s)
    case "$mode" in
      pipelined) args+=(-s "$work/pipeline.lua") ;;
      close|tls-handshake|tls-resumed) args+=(-H "Connection: close") ;;
    esac
    c0=$(cpu_ticks "$pid")
    out=$("${envs[@]}" taskset -c 1 wrk "${args[@]}" "$url" 2>&1) || true
    c1=$(cpu_ticks "$pid")
    reqs=$(awk '/requests in/{print $1}' <<<"$out")
    secs=$(awk '/requests in/{sub(/s,$/, "", $4); print $4}' <<<"$out")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p50=$(to_us "$(awk '$1=="50%"{print $2}' <<<"$out")")
    p99=$(to_us "$(awk '$1=="99%"{print $2}' <<<"$out")")
    errs=$(awk '/Socket errors/{gsub(/,/, ""); s += $4 + $6 + $8 + $10} /Non-2xx/{s += $NF} END{print s + 0}' <<<"$out")
    # wrk re-handshakes on every reconnect, resuming whenever the server
    # issued a ticket (it keeps the session across SSL_clear).
    [[ "$mode" == tls-handshake || "$mode" == tls-resumed ]] && hs=${reqs:-0}
  else
    local lmode=$mode args conns=64
    case "$mode" in
      pipelined) lmode=pipeline ;;
      tls-keepalive) lmode=keepalive ;;
      tls-handshake|tls-resumed) lmode=close ;;
      tls-bulk) lmode=keepalive; conns=1 ;;
    esac
    args=("$url" --connections "$conns" --duration "${duration}s" --mode "$lmode" --depth 16 --json)
    [[ "$mode" == tls-resumed ]] && args+=(--tls-resume)
    [[ "$mode" == tls-bulk ]] && args+=(--timeout 30s)
    [[ -n "$rate" ]] && args+=(--rate "$rate")
    args+=("${load_extra[@]}")
    c0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 "$load_bin" "${args[@]}" 2>"$work/load.err") || true
    c1=$(cpu_ticks "$pid")
    read -r reqs secs rps p50 p99 errs bytes hs res < <(python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
    l = d["latency_us"]
    t = d.get("tls") or {}
    print(d["requests"], d["duration_s"], d["rps"], l["p50"], l["p99"], d["errors"]["total"],
          d.get("bytes_in", 0), t.get("handshakes", -1), t.get("resumed", -1))
except Exception:
    print("0 0 0 0 0 -1 0 -1 -1")' <<<"$out")
  fi
  if [[ -z "$reqs" || "$reqs" == 0 ]]; then
    echo "compare.sh: $name/$mode/$gen: no requests completed" >&2
    { echo "$out"; cat "$work/load.err" 2>/dev/null; } | tail -5 >&2
    reqs=0 secs=0 rps=0 p50=0 p99=0 errs=${errs:--1}
  fi
  g_reqs=$reqs g_secs=$secs g_rps=$rps g_p50=$p50 g_p99=$p99 g_errs=$errs g_ticks=$((c1 - c0))
  g_bytes=$bytes g_handshakes=$hs g_resumed=$res
}

# measure NAME PID URL MODE GEN [RATE]: one plain load run; appends a TSV record
# server mode gen requests seconds rps p50_us p99_us cpu_ticks errors [rate]
measure() {
  local name=$1 mode=$4 gen=$5 rate=${6:-}
  run_generator "$@"
  local rec="$name	$mode	$gen	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs"
  if [[ -n "$rate" ]]; then echo "$rec	$rate" >>"$same"; else echo "$rec" >>"$runs"; fi
  printf '  %-10s %-9s %-5s %10s req/s  cpu %s ticks  errors %s\n' "$mode" "$name" "$gen" "$g_rps" "$g_ticks" "$g_errs" >&2
}

# --- TLS -------------------------------------------------------------------
# One ECDSA P-256 certificate for both servers; TLS 1.3 only, X25519 only,
# TLS_AES_128_GCM_SHA256. nginx is told the suite (ssl_conf_command);
# ringshard (BoringSSL) takes the client's order among the AES-GCM suites, so
# the OpenSSL clients (wrk, curl, openssl s_client) get a configuration that
# offers only that suite and group, and ringshard-load (BoringSSL) puts it
# first anyway. Each server's negotiated parameters are checked with
# s_client and recorded.
bulk_bytes=$((64 * 1024 * 1024))
write_tls_files() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  mkdir -p "$work/bytes"
  head -c "$bulk_bytes" /dev/zero >"$work/bytes/$bulk_bytes"
  chmod -R a+rX "$work/bytes" "$work/tls-cert.pem"
  cat >"$work/openssl-client.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
Ciphersuites = TLS_AES_128_GCM_SHA256
Groups = X25519
EOF
}

# start_tls_server NAME PORT [PORT_TICKETS | RINGSHARD_FLAGS...]: sets
# started_pid. nginx serves PORT with no tickets and no session cache (every
# handshake is a full one, whatever the client offers) and PORT_TICKETS with
# stateless tickets, from one process. ringshard serves HTTPS on PORT and
# HTTP on tls_http_port, with the extra flags given.
start_tls_server() {
  local name=$1 port=$2
  shift 2
  case "$name" in
    ringshard)
      tls_http_port=$(free_port)
      taskset -c 0 "$rs_bin" --listen "127.0.0.1:$tls_http_port" --tls-listen "127.0.0.1:$port" \
        --cert "$work/tls-cert.pem" --key "$work/tls-key.pem" --shards 1 \
        --data-dir "$work/ringshard-data" "${rs_admin_off[@]}" "$@" 2>>"$work/ringshard-tls.log" &
      ;;
    nginx)
      cat >"$work/nginx-tls.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/nginx-tls-error.log;
pid $work/nginx-tls.pid;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  default_type application/octet-stream;
  ssl_protocols TLSv1.3;
  ssl_ecdh_curve X25519;
  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
  ssl_certificate $work/tls-cert.pem;
  ssl_certificate_key $work/tls-key.pem;
  server {
    listen 127.0.0.1:$port ssl reuseport backlog=4096;
    ssl_session_tickets off;
    ssl_session_cache off;
    ssl_conf_command NumTickets 0;
    location / { return 200 "Hello, World!"; }
    location /bytes/ { root $work; }
  }
  server {
    listen 127.0.0.1:$1 ssl reuseport backlog=4096;
    ssl_session_tickets on;
    location / { return 200 "Hello, World!"; }
    location /bytes/ { root $work; }
  }
}
EOF
      taskset -c 0 nginx -c "$work/nginx-tls.conf" -e "$work/nginx-tls-error.log" 2>/dev/null &
      ;;
  esac
  started_pid=$!
  pids+=("$started_pid")
  wait_listening "$name" "$port"
}

# "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 ECDSA" as an OpenSSL client sees it.
tls_negotiated() {
  OPENSSL_CONF="$work/openssl-client.cnf" timeout 5 openssl s_client -connect "127.0.0.1:$1" \
    -servername localhost -brief </dev/null 2>&1 | awk -F': *' '
    /^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 }
    /^Server Temp Key/ { split($2, g, ","); k = g[1] } /^Signature type/ { s = $2 }
    END { printf "%s %s %s %s", p ? p : "?", c ? c : "?", k ? k : "?", s ? s : "?" }'
}

# run_bulk_curl NAME PID URL: 64 MiB downloads with curl, one after another,
# for the run's duration; sets the g_ variables as run_generator does, with
# g_xfer_s the time curl spent transferring (its process start-up excluded).
run_bulk_curl() {
  local name=$1 pid=$2 url=$3 c0 c1 t0 now line code size tt n=0 errs=0 bytes=0 times=()
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s%N)
  while :; do
    line=$(OPENSSL_CONF="$work/openssl-client.cnf" taskset -c 1 curl -k -s -o /dev/null --max-time 60 \
             -w '%{http_code} %{size_download} %{time_total}' "$url" 2>/dev/null) || true
    read -r code size tt <<<"$line"
    if [[ "$code" == 200 && "$size" == "$bulk_bytes" ]]; then
      n=$((n + 1)); bytes=$((bytes + size)); times+=("$tt")
    else
      errs=$((errs + 1))
    fi
    now=$(date +%s%N)
    (( now - t0 >= duration * 1000000000 || errs > 3 )) && break
  done
  c1=$(cpu_ticks "$pid")
  g_reqs=$n g_errs=$errs g_bytes=$bytes g_handshakes=$((n + errs)) g_resumed=0 g_ticks=$((c1 - c0))
  g_secs=$(awk -v d=$((now - t0)) 'BEGIN { printf "%.3f", d / 1e9 }')
  g_rps=$(awk -v n="$n" -v s="$g_secs" 'BEGIN { r = s > 0 ? n / s : 0; printf "%.2f", r }')
  g_xfer_s=0 g_p50=0 g_p99=0
  if (( n > 0 )); then
    read -r g_xfer_s g_p50 g_p99 < <(printf '%s\n' "${times[@]}" | sort -g | awk '
      { t[NR] = $1; sum += $1 }
      END { i50 = int(NR * 0.5 + 0.999); i99 = int(NR * 0.99 + 0.999)
            printf "%.4f %.1f %.1f\n", sum, t[i50] * 1e6, t[i99] * 1e6 }')
  else
    echo "compare.sh: $name/tls-bulk/curl: no download completed (last: ${line:-nothing})" >&2
  fi
}

# measure_tls NAME PID URL MODE GEN SERVER_TICKETS: one TLS run; appends
# the plain record's ten fields plus bytes handshakes resumed server_tickets
# transfer_seconds to tls.tsv.
measure_tls() {
  local name=$1 pid=$2 url=$3 mode=$4 gen=$5 tickets=$6
  if [[ "$gen" == curl ]]; then
    run_bulk_curl "$name" "$pid" "$url"
  else
    run_generator "$name" "$pid" "$url" "$mode" "$gen"
    g_xfer_s=$g_secs
  fi
  echo "$name	$mode	$gen	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	$g_bytes	$g_handshakes	$g_resumed	$tickets	$g_xfer_s" >>"$tls"
  printf '  %-13s %-9s %-5s %10s req/s  cpu %s ticks  errors %s\n' "$mode" "$name" "$gen" "$g_rps" "$g_ticks" "$g_errs" >&2
}

ring_mode=""
gens=(wrk); [[ -n "$load_bin" ]] && gens+=(load)
declare -A pid_of url_of
if (( run_plain )); then
  for s in "${servers[@]}"; do
    port=$(free_port)
    start_server "$s" "$port"
    pid_of[$s]=$started_pid
    url_of[$s]="http://127.0.0.1:$port/plaintext"
  done
  ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/ringshard.log" 2>/dev/null | head -1 || true)

  echo "compare.sh: ${#servers[@]} servers x 3 modes x ${#gens[@]} generators, ${duration}s each" >&2
  # Servers interleave within a mode, so drifting background load hits them alike.
  for mode in keepalive pipelined close; do
    for s in "${servers[@]}"; do
      for g in "${gens[@]}"; do measure "$s" "${pid_of[$s]}" "${url_of[$s]}" "$mode" "$g"; done
    done
  done

  if [[ -n "$load_bin" ]]; then
    # Half of nginx's keep-alive rate (or of the slowest server run, without nginx).
    rate=$(awk -F'\t' -v ng="$(has nginx && echo 1)" '
      $2=="keepalive" && $6 > 0 { if ($1=="nginx") n = (n > $6 ? n : $6); if (!m || $6 < m) m = $6 }
      END { r = (ng && n) ? n : m; printf "%d", r / 2 }' "$runs")
    if (( rate > 0 )); then
      echo "compare.sh: same offered rate: $rate req/s" >&2
      for s in "${servers[@]}"; do measure "$s" "${pid_of[$s]}" "${url_of[$s]}" keepalive load "$rate"; done
    fi
  fi

  for s in "${servers[@]}"; do stop_server "${pid_of[$s]}"; done
fi

# --- middleware ---------------------------------------------------------------
# What the middleware costs: the same binary as rs-bare, rs-default and
# rs-full (mw_args), plus nginx as the plain rows run it, all on keep-alive
# /plaintext with the keep-alive row's generators. Rounds interleave the
# variants so drifting background load hits them alike; the JSON keeps every
# run and the table shows each variant's median. rs-default and rs-full get
# an admin listener on a free port (the default 127.0.0.1:9901 would clash
# between them); rs-full's access log is emptied after each run (it is
# opened O_APPEND) and the bytes it held are recorded.
mw="$work/middleware.tsv"; : >"$mw"
mw_rounds=3; $quick && mw_rounds=1
if (( run_mw )); then
  declare -A mw_pid mw_url
  for v in "${mw_variants[@]}"; do
    port=$(free_port)
    mw_args "$v"
    [[ "$v" != rs-bare ]] && mw_args+=(--admin-listen "127.0.0.1:$(free_port)")
    taskset -c 0 "$rs_bin" --listen "127.0.0.1:$port" --shards 1 "${rs_plain_flags[@]}" "${mw_args[@]}" \
      2>>"$work/$v.log" &
    started_pid=$!
    pids+=("$started_pid")
    wait_listening "$v" "$port" "$started_pid" "$work/$v.log"
    mw_pid[$v]=$started_pid mw_url[$v]="http://127.0.0.1:$port/plaintext"
  done
  mw_names=("${mw_variants[@]}")
  if has nginx; then
    port=$(free_port)
    start_server nginx "$port"
    mw_pid[nginx]=$started_pid mw_url[nginx]="http://127.0.0.1:$port/plaintext"
    mw_names+=(nginx)
  fi
  [[ -z "$ring_mode" ]] && ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/rs-default.log" 2>/dev/null | head -1 || true)
  echo "compare.sh: middleware: ${mw_names[*]} x ${#gens[@]} generators x $mw_rounds rounds, ${duration}s each" >&2
  for round in $(seq "$mw_rounds"); do
    for g in "${gens[@]}"; do
      for v in "${mw_names[@]}"; do
        run_generator "$v" "${mw_pid[$v]}" "${mw_url[$v]}" keepalive "$g"
        log_bytes=-1
        if [[ "$v" == rs-full ]]; then
          log_bytes=$(stat -c %s "$work/access.log" 2>/dev/null || echo 0)
          : >"$work/access.log"
        fi
        echo "$v	keepalive	$g	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	$round	$log_bytes" >>"$mw"
        printf '  %-10s %-10s %-5s %10s req/s  cpu %s ticks  errors %s\n' "middleware" "$v" "$g" "$g_rps" "$g_ticks" "$g_errs" >&2
      done
    done
  done
  for v in "${mw_names[@]}"; do stop_server "${mw_pid[$v]}"; done
  for v in "${mw_variants[@]}"; do
    mw_args "$v"
    printf '%s\t%s\n' "$v" "${mw_args[*]//$work/\$WORK}" >>"$work/mw-flags.tsv"
  done
fi

# --- deployments ----------------------------------------------------------------
# The deployment API (plugins/deployments) on one ringshard (--shards 1, CPU
# 0), ringshard-load on CPU 1, 64 connections, the settings above. One
# deployment is created first (its id is what the GET rows read). Rounds
# interleave GET /v1/deployments/{id} and GET /json of the same process
# (same headers), so the ratio of their CPU per request is what reading a
# deployment costs over the cheapest JSON answer. Then the stream row
# (ringshard-load --ws-stream: 1,000 subscribers, one create at a time, the
# time from each create to its "pending" event at every subscriber, the
# server's CPU over that window), then the creates: closed loop (creates/s)
# in rounds, and once at $dep_create_rate/s offered (p99 at the target rate).
# The creates come last: they leave tens of thousands of deployments behind,
# whose lifecycle events would otherwise run through the other rows.
dep="$work/deployments.tsv"; dep_stream="$work/deployments-stream.json"
: >"$dep"; : >"$dep_stream"
dep_fs=""
if (( run_dep )); then
  port=$(free_port)
  mkdir -p "$work/deployments-data"
  dep_fs=$(stat -f -c %T "$work/deployments-data" 2>/dev/null || echo unknown)
  taskset -c 0 "$rs_bin" --listen "127.0.0.1:$port" "${dep_server_flags[@]}" 2>>"$work/deployments.log" &
  started_pid=$!
  pids+=("$started_pid")
  wait_listening deployments "$port" "$started_pid" "$work/deployments.log"
  dep_pid=$started_pid
  [[ -z "$ring_mode" ]] && ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/deployments.log" 2>/dev/null | head -1 || true)
  # The first deployment, and a read of it: a server that cannot do these
  # (plugin not loaded, store not open, auth refused) is reported, not measured.
  if dep_id=$(python3 - "$port" "$dep_token" "$dep_body" <<'EOF'
import http.client, json, sys, time
port, token, body = int(sys.argv[1]), sys.argv[2], sys.argv[3]
auth = {"Authorization": "Bearer " + token}
def call(method, path, data=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = dict(auth, **({"Content-Type": "application/json"} if data else {}))
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    return r.status, r.read().decode(errors="replace")
deadline = time.time() + 10
while True:  # the store may still be opening
    try:
        status, text = call("POST", "/v1/deployments", body)
    except OSError as e:
        status, text = 0, str(e)
    if status not in (0, 503) or time.time() > deadline:
        break
    time.sleep(0.1)
if status != 201:
    sys.exit(f"POST /v1/deployments answered {status}: {text[:300]}")
try:
    did = json.loads(text)["id"]
except Exception:
    sys.exit(f"POST /v1/deployments: no id in {text[:300]}")
status, text = call("GET", "/v1/deployments/" + did)
if status != 200:
    sys.exit(f"GET /v1/deployments/{did} answered {status}: {text[:300]}")
print(did)
EOF
  ); then
    dep_auth=(--header "Authorization: Bearer $dep_token")
    base="http://127.0.0.1:$port"
    echo "compare.sh: deployments: $dep_id (data dir on $dep_fs); get/json x $mw_rounds rounds, stream," \
         "creates x $mw_rounds rounds and at $dep_create_rate/s, ${duration}s each" >&2
    for round in $(seq "$mw_rounds"); do
      for row in get json; do
        url="$base/json"; [[ "$row" == get ]] && url="$base/v1/deployments/$dep_id"
        load_extra=("${dep_auth[@]}")
        run_generator "$row" "$dep_pid" "$url" keepalive load
        echo "$row	keepalive	load	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	$round" >>"$dep"
        printf '  %-11s %-12s %10s req/s  cpu %s ticks  errors %s\n' deployments "$row" "$g_rps" "$g_ticks" "$g_errs" >&2
      done
    done
    # The stream: ringshard-load waits until every subscriber is open, times
    # every create, and reads the server's CPU over the creates itself.
    c0=$(cpu_ticks "$dep_pid")
    out=$(taskset -c 1 "$load_bin" "ws://127.0.0.1:$port/v1/stream" --ws-stream \
            --connections "$dep_subscribers" --requests "$dep_stream_creates" --timeout 5s \
            "${dep_auth[@]}" --body "$dep_body" --server-pid "$dep_pid" --json 2>"$work/load.err") || true
    c1=$(cpu_ticks "$dep_pid")
    if [[ "$out" == "{"* ]]; then
      python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); d["cpu_ticks"] = int(sys.argv[1]); print(json.dumps(d))' \
        "$((c1 - c0))" <<<"$out" >"$dep_stream"
      python3 - "$dep_stream" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
l = d["latency_us"]
print(f"  deployments stream       {d['subscribers']} subscribers x {d['creates']} creates: p50 {l['p50']:.0f}us"
      f" p99 {l['p99']:.0f}us, missed {d['missed']}, errors {d['errors']['total']}", file=sys.stderr)
EOF
    else
      echo "compare.sh: deployments stream: no result" >&2
      tail -5 "$work/load.err" >&2
    fi
    load_extra=("${dep_auth[@]}" --method POST --header "Content-Type: application/json" --body "$dep_body"
                --expect-status 201)
    for round in $(seq "$mw_rounds"); do
      run_generator create "$dep_pid" "$base/v1/deployments" keepalive load
      echo "create	keepalive	load	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	$round" >>"$dep"
      printf '  %-11s %-12s %10s req/s  cpu %s ticks  errors %s\n' deployments create "$g_rps" "$g_ticks" "$g_errs" >&2
    done
    run_generator create-rate "$dep_pid" "$base/v1/deployments" keepalive load "$dep_create_rate"
    echo "create-rate	keepalive	load	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	1	$dep_create_rate" >>"$dep"
    printf '  %-11s %-12s %10s req/s  cpu %s ticks  errors %s\n' deployments "create@$dep_create_rate" "$g_rps" \
      "$g_ticks" "$g_errs" >&2
    load_extra=()
  else
    echo "compare.sh: deployments: the server is up but does not serve the API; no deployment rows. Its log ends:" >&2
    tail -5 "$work/deployments.log" >&2
  fi
  stop_server "$dep_pid"
  printf '%s\n' "${dep_server_flags[*]//$dep_sha/SHA256}" | sed "s|$work|\$WORK|g" >"$work/deployments-flags.txt"
fi

# --- reverse proxy --------------------------------------------------------------
# nginx and ringshard as reverse proxies in front of one nginx backend: the
# whole method is in bench/proxy_rows.sh.
proxy_run

if (( run_tls )); then
  tls_servers=()
  for s in nginx ringshard; do has "$s" && tls_servers+=("$s"); done
  if has ringshard && [[ "$rs_help" != *--tls-listen* ]]; then
    echo "compare.sh: notice: $rs_bin has no --tls-listen yet; TLS rows for nginx only" >&2
    tls_servers=(); has nginx && tls_servers=(nginx)
  fi
  # ringshard-load speaks TLS when its --help mentions --tls-resume; without
  # it wrk covers the handshake rows and curl the bulk row.
  load_tls=0
  if [[ -n "$load_bin" && "$("$load_bin" --help 2>&1 || true)" == *--tls-resume* ]]; then load_tls=1; fi
  (( load_tls )) || echo "compare.sh: notice: ringshard-load has no TLS; wrk and curl only for TLS" >&2
fi
if (( run_tls )) && (( ${#tls_servers[@]} )); then
  write_tls_files
  # Per server two endpoints: "full" issues no session tickets (the
  # full-handshake, keep-alive and bulk rows), "tickets" does (resumed row).
  # nginx has both in one process; ringshard runs twice, once with
  # --tls-ticket-rotation 0 (when it has no such flag, once, and its full
  # endpoint issues tickets: server_tickets in the JSON says so).
  declare -A tls_pid tls_url tls_full_tickets tls_seen
  tls_pids=()
  for s in "${tls_servers[@]}"; do
    port=$(free_port)
    if [[ "$s" == nginx ]]; then
      tport=$(free_port)
      start_tls_server nginx "$port" "$tport"
      tls_pid[$s/full]=$started_pid tls_pid[$s/tickets]=$started_pid
      tls_url[$s/tickets]="https://127.0.0.1:$tport"
      tls_full_tickets[$s]=0
    elif [[ "$rs_help" == *--tls-ticket-rotation* ]]; then
      start_tls_server ringshard "$port" --tls-ticket-rotation 0
      tls_pid[$s/full]=$started_pid rs_http_url="http://127.0.0.1:$tls_http_port/plaintext"
      tport=$(free_port)
      start_tls_server ringshard "$tport"
      tls_pid[$s/tickets]=$started_pid
      tls_url[$s/tickets]="https://127.0.0.1:$tport"
      tls_full_tickets[$s]=0
    else
      start_tls_server ringshard "$port"
      tls_pid[$s/full]=$started_pid tls_pid[$s/tickets]=$started_pid
      rs_http_url="http://127.0.0.1:$tls_http_port/plaintext"
      tls_url[$s/tickets]="https://127.0.0.1:$port"
      tls_full_tickets[$s]=1
    fi
    tls_url[$s/full]="https://127.0.0.1:$port"
    tls_pids+=("${tls_pid[$s/full]}")
    [[ "${tls_pid[$s/tickets]}" != "${tls_pid[$s/full]}" ]] && tls_pids+=("${tls_pid[$s/tickets]}")
    tls_seen[$s]=$(tls_negotiated "$port")
    echo "compare.sh: $s over TLS: ${tls_seen[$s]}" >&2
    printf '%s\t%s\n' "$s" "${tls_seen[$s]}" >>"$work/tls-negotiated.tsv"
  done
  [[ -z "$ring_mode" ]] && ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/ringshard-tls.log" 2>/dev/null | head -1 || true)

  echo "compare.sh: TLS: ${#tls_servers[@]} servers x 4 modes, ${duration}s each" >&2
  for mode in tls-handshake tls-resumed tls-keepalive tls-bulk; do
    for s in "${tls_servers[@]}"; do
      pid=${tls_pid[$s/full]} url=${tls_url[$s/full]} tickets=${tls_full_tickets[$s]}
      case "$mode" in
        tls-handshake)
          if (( load_tls )); then
            measure_tls "$s" "$pid" "$url/plaintext" "$mode" load "$tickets"
          elif (( tickets == 0 )); then
            measure_tls "$s" "$pid" "$url/plaintext" "$mode" wrk 0
          else
            echo "compare.sh: $s/$mode: wrk would resume its tickets; skipped (no TLS in ringshard-load)" >&2
          fi
          ;;
        tls-resumed)
          if (( load_tls )); then g=load; else g=wrk; fi
          measure_tls "$s" "${tls_pid[$s/tickets]}" "${tls_url[$s/tickets]}/plaintext" "$mode" "$g" 1
          ;;
        tls-keepalive)
          measure_tls "$s" "$pid" "$url/plaintext" "$mode" wrk "$tickets"
          if (( load_tls )); then measure_tls "$s" "$pid" "$url/plaintext" "$mode" load "$tickets"; fi
          ;;
        tls-bulk)
          if (( load_tls )); then g=load; else g=curl; fi
          measure_tls "$s" "$pid" "$url/bytes/$bulk_bytes" "$mode" "$g" "$tickets"
          ;;
      esac
    done
  done
  if (( !run_plain )) && [[ -n "${tls_pid[ringshard/full]:-}" ]]; then
    # The handshake bound below needs ringshard's plain connection-per-request
    # cost: measured here, on the same process's HTTP listener.
    if (( load_tls )); then g=load; else g=wrk; fi
    measure ringshard "${tls_pid[ringshard/full]}" "$rs_http_url" close "$g"
  fi
  for p in "${tls_pids[@]}"; do stop_server "$p"; done

  # The bound the cryptography sets: BoringSSL's in-memory server handshake
  # (bench/tls_bench.cc), on the servers' CPU.
  micro_bin="$build/bench/ringshard_micro_bench"
  if has ringshard && [[ " ${tls_servers[*]} " == *" ringshard "* ]] && [[ -x "$micro_bin" ]]; then
    # The median of three short runs: one run moves by 10-20 % on a shared VM.
    taskset -c 0 "$micro_bin" --benchmark_filter='^BM_TlsServerHandshake' --benchmark_min_time=0.3 \
      --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_format=json >"$work/tls-micro.json" 2>/dev/null || true
  fi
fi

# --- WebSocket ---------------------------------------------------------------
# ringshard (--shards 1) and the Node ws peer, each pinned to CPU 0,
# ringshard-load pinned to CPU 1. CPU per echoed message is the server's
# utime+stime over the whole load run (as for HTTP rows) over the messages;
# CPU per delivery is what ringshard-load --server-pid measured over the
# publishing window only (first publication to last delivery), so the
# 10,000 upgrades and closes are not charged to deliveries.
ws_runs="$work/ws-runs.jsonl"; ws_idle="$work/ws-idle.jsonl"
: >"$ws_runs"; : >"$ws_idle"
node_dir="$build/bench-node"
node_modules=""
ws_servers=()
# Installs bench/peers/package.json's packages into BUILD/bench-node (outside
# the source tree; again only when package.json changed).
setup_ws_peer() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "compare.sh: notice: node or npm not found; WebSocket rows for ringshard only" >&2
    return 1
  fi
  mkdir -p "$node_dir"
  if ! cmp -s bench/peers/package.json "$node_dir/package.json" || [[ ! -f "$node_dir/node_modules/ws/package.json" ]]; then
    cp bench/peers/package.json "$node_dir/package.json"
    echo "compare.sh: npm install --prefix $node_dir (ws peer)" >&2
    if ! npm install --prefix "$node_dir" --no-audit --no-fund --no-package-lock --loglevel=error \
         >"$work/npm.log" 2>&1; then
      echo "compare.sh: notice: npm install failed; WebSocket rows for ringshard only" >&2
      tail -5 "$work/npm.log" >&2
      rm -f "$node_dir/package.json"
      return 1
    fi
  fi
  node_modules="$(cd "$node_dir" && pwd)/node_modules"
}
if (( run_ws )); then
  if [[ -z "$load_bin" || "$("$load_bin" --help 2>&1 || true)" != *--ws-fanout* ]]; then
    echo "compare.sh: notice: ringshard-load has no WebSocket modes; no WebSocket rows" >&2
  else
    has ringshard && ws_servers+=(ringshard)
    if (( ws_peer )) && setup_ws_peer; then ws_servers+=(ws); fi
  fi
fi

# ws_measure NAME PID MODE URL ARGS...: one ringshard-load run; appends its
# JSON, with the server, mode and the server's CPU ticks over the run, to
# ws-runs.jsonl.
ws_measure() {
  local name=$1 pid=$2 mode=$3 url=$4 c0 c1 out
  shift 4
  c0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$load_bin" "$url" "$@" --server-pid "$pid" --json 2>"$work/load.err") || true
  c1=$(cpu_ticks "$pid")
  python3 -c '
import json, sys
name, mode, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
try:
    d = json.loads(sys.stdin.read())
except Exception:
    d = {"errors": {"total": -1}}
d.update({"server": name, "mode": mode, "cpu_ticks": ticks})
print(json.dumps(d))
n = d.get("deliveries_per_s") or d.get("mps") or d.get("rps") or 0
unit = "deliveries/s" if "deliveries_per_s" in d else "msg/s" if "mps" in d else "req/s"
errs = d.get("errors", {}).get("total", -1)
print(f"  {mode:<14} {name:<9} {n:>10.0f} {unit}  cpu {ticks} ticks  errors {errs}", file=sys.stderr)' "$name" "$mode" "$((c1 - c0))" "$hz" <<<"$out" >>"$ws_runs"
  if [[ "$out" != "{"* ]]; then
    echo "compare.sh: $name/$mode: no result" >&2
    tail -5 "$work/load.err" >&2
  fi
}

if (( ${#ws_servers[@]} )); then
  declare -A ws_pid ws_port
  for s in "${ws_servers[@]}"; do
    port=$(free_port)
    start_server "$s" "$port"
    ws_pid[$s]=$started_pid ws_port[$s]=$port
  done
  [[ -z "$ring_mode" ]] && ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/ringshard.log" 2>/dev/null | head -1 || true)
  echo "compare.sh: WebSocket: ${ws_servers[*]}, 5 rows, ${duration}s each" >&2
  for mode in ws-echo ws-echo-64k ws-fanout ws-fanout-d16; do
    for s in "${ws_servers[@]}"; do
      pid=${ws_pid[$s]} base="ws://127.0.0.1:${ws_port[$s]}"
      case "$mode" in
        ws-echo)
          # The bound for ringshard's echo: its own HTTP keep-alive, same
          # process, same generator, same connections, just before.
          if [[ "$s" == ringshard ]]; then
            ws_measure "$s" "$pid" http-keepalive "http://127.0.0.1:${ws_port[$s]}/plaintext" \
              --connections 64 --mode keepalive --duration "${duration}s"
          fi
          ws_measure "$s" "$pid" "$mode" "$base/ws/echo" --connections 64 --size 32 --duration "${duration}s"
          ;;
        ws-echo-64k)
          ws_measure "$s" "$pid" "$mode" "$base/ws/echo" --connections 1 --size 65536 --binary \
            --duration "${duration}s" --timeout 30s
          ;;
        ws-fanout|ws-fanout-d16)
          depth=1; [[ "$mode" == ws-fanout-d16 ]] && depth=16
          ws_measure "$s" "$pid" "$mode" "$base/ws/chat" --ws-fanout --connections "$fanout_n" \
            --publishers 1 --depth "$depth" --duration "${duration}s" --timeout 30s
          ;;
      esac
    done
  done
  for s in "${ws_servers[@]}"; do stop_server "${ws_pid[$s]}"; done

  if (( run_ws_idle )); then
    # RSS per idle WebSocket, each variant on a fresh server: no deflate
    # offered; deflate agreed; deflate after one 2 KiB message per
    # connection (compression state allocated: at most 2,000 connections).
    for s in "${ws_servers[@]}"; do
      for variant in plain deflate deflate-message; do
        n=$idle_n args=(--websocket --path /ws/echo)
        case "$variant" in
          deflate) args+=(--deflate) ;;
          deflate-message) args+=(--deflate --message 2048); (( n > 2000 )) && n=2000 ;;
        esac
        inst=$s; [[ "$s" == ws && "$variant" != plain ]] && inst=ws-deflate
        port=$(free_port)
        start_server "$inst" "$port"
        echo "compare.sh: $n idle WebSockets ($variant) to a fresh $s" >&2
        if taskset -c 1 python3 bench/idle_conns.py --port "$port" --pid "$started_pid" \
             --connections "$n" "${args[@]}" --json >"$work/idle-one.json"; then :; else
          echo "compare.sh: idle_conns ($variant) against $s reported failures" >&2
        fi
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["server"]=sys.argv[2]; d["variant"]=sys.argv[3]; print(json.dumps(d))' \
          "$work/idle-one.json" "$s" "$variant" >>"$ws_idle" || true
        stop_server "$started_pid"
      done
    done
  fi
fi

if (( run_idle )); then
  for s in ringshard nginx; do
    has "$s" || continue
    port=$(free_port)
    start_server "$s" "$port"
    echo "compare.sh: $idle_n idle connections to a fresh $s" >&2
    if taskset -c 1 python3 bench/idle_conns.py --port "$port" --path /plaintext --pid "$started_pid" \
         --connections "$idle_n" --json >"$work/idle-one.json"; then :; else
      echo "compare.sh: idle_conns against $s reported failures" >&2
    fi
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["server"]=sys.argv[2]; print(json.dumps(d))' \
      "$work/idle-one.json" "$s" >>"$idle" || true
    stop_server "$started_pid"
  done
fi

# JSON, table and chart.
proxy_report
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
git_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
nginx_v=$(nginx -v 2>&1 | sed 's/.*: //' || true)
h2o_v=$(h2o --version 2>/dev/null | head -1 || true)
wrk_v=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}' || true)
export CMP_RUNS="$runs" CMP_SAME="$same" CMP_IDLE="$idle" CMP_STAMP="$stamp" \
  CMP_DURATION="$duration" CMP_QUICK="$quick" CMP_HZ="$hz" CMP_BUSY="$background_busy" \
  CMP_RING="$ring_mode" CMP_CHART="$work/chart.dat" CMP_LOAD="${load_bin:-}" \
  CMP_WALL_START="$started" CMP_GIT="$git_rev" CMP_NGINX="$nginx_v" CMP_H2O="$h2o_v" CMP_WRK="$wrk_v" \
  CMP_TLS="$tls" CMP_TLS_NEG="$work/tls-negotiated.tsv" CMP_TLS_MICRO="$work/tls-micro.json" \
  CMP_OPENSSL="$(openssl version 2>/dev/null || true)" CMP_CURL="$(curl --version 2>/dev/null | head -1 | awk '{print $1, $2}' || true)" \
  CMP_WS_RUNS="$ws_runs" CMP_WS_IDLE="$ws_idle" \
  CMP_WS_PEER="$(head -1 "$work/ws-peer.log" 2>/dev/null | sed 's/^ws_echo_server: //; s/, deflate .*//' || true)" \
  CMP_FANOUT_N="$fanout_n" CMP_MW="$mw" CMP_MW_FLAGS="$work/mw-flags.tsv" CMP_MW_ROUNDS="$mw_rounds" \
  CMP_DEP="$dep" CMP_DEP_STREAM="$dep_stream" CMP_DEP_FLAGS="$work/deployments-flags.txt" CMP_DEP_FS="$dep_fs" \
  CMP_DEP_BODY="$dep_body" CMP_DEP_SUBSCRIBERS="$dep_subscribers" CMP_DEP_RATE="$dep_create_rate" \
  CMP_PROXY="$work/proxy.json" CMP_PROXY_TABLE="$work/proxy-table.txt"
python3 - "bench/results/$stamp.json" <<'EOF'
import json, os, platform, sys, time

env = os.environ
hz = int(env["CMP_HZ"])

def rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]

def record(r):
    name, mode, gen, reqs, secs, rps, p50, p99, ticks, errs = r[:10]
    reqs = int(reqs)
    p50, p99 = float(p50), float(p99)
    out = {"server": name, "mode": mode, "generator": gen, "requests": reqs,
           "duration_s": float(secs), "rps": float(rps), "p50_us": p50 or None,
           # wrk sometimes prints a p99 of 0 on short pipelined runs: no value
           "p99_us": p99 if p99 >= p50 and p99 > 0 else None, "cpu_s": int(ticks) / hz,
           "cpu_us_per_req": int(ticks) * 1e6 / hz / reqs if reqs else None,
           "errors": int(errs)}
    if len(r) > 10:
        out["offered_rps"] = int(r[10])
    return out

runs = [record(r) for r in rows(env["CMP_RUNS"])]
same = [record(r) for r in rows(env["CMP_SAME"])]

# TLS rows: the plain fields, then bytes handshakes resumed server_tickets
# transfer_s. Bulk rows are judged per MiB and by throughput.
MIB = 1 << 20
def tls_record(r):
    out = record(r[:10])
    nbytes, hs, res, tickets, xfer = int(r[10]), int(r[11]), int(r[12]), r[13] == "1", float(r[14])
    out.update({"bytes": nbytes, "handshakes": hs if hs >= 0 else None,
                "resumed": res if res >= 0 else None, "server_tickets": tickets})
    if out["mode"] == "tls-bulk":
        out["transfer_s"] = xfer
        out["mb_per_s"] = round(nbytes / xfer / 1e6, 1) if xfer > 0 else None
        out["cpu_us_per_mib"] = round(out["cpu_s"] * 1e6 / (nbytes / MIB), 1) if nbytes else None
    return out
tls_runs = [tls_record(r) for r in rows(env["CMP_TLS"])] if os.path.exists(env["CMP_TLS"]) else []
tls_by = {(r["server"], r["mode"], r["generator"]): r for r in tls_runs}
for r in tls_runs:
    base = tls_by.get(("nginx", r["mode"], r["generator"]))
    key = "cpu_us_per_mib" if r["mode"] == "tls-bulk" else "cpu_us_per_req"
    ok = base and base[key] and r[key]
    r["vs_nginx"] = round(r[key] / base[key], 3) if ok else None
    r["vs_floor"] = None
    if r["mode"] == "tls-bulk":
        ok = base and base["mb_per_s"] and r["mb_per_s"]
        r["vs_nginx_throughput"] = round(r["mb_per_s"] / base["mb_per_s"], 3) if ok else None
negotiated = {}
if os.path.exists(env["CMP_TLS_NEG"]):
    for name, text in rows(env["CMP_TLS_NEG"]):
        negotiated[name] = text
# Issue 4's second handshake bound: ringshard's CPU per full handshake
# against BoringSSL's in-memory server handshake plus ringshard's own plain
# connection-per-request cost, both measured in this run.
bound = None
try:
    with open(env["CMP_TLS_MICRO"]) as f:
        micro = json.load(f)
    found = [b for b in micro["benchmarks"] if "server_us" in b]
    micro_us = next((b["server_us"] for b in found if b.get("aggregate_name") == "median"),
                    found[0]["server_us"])
except Exception:
    micro_us = None
rs_hs = [r for r in tls_runs if r["server"] == "ringshard" and r["mode"] == "tls-handshake"
         and r["cpu_us_per_req"]]
if micro_us and rs_hs:
    hs = rs_hs[0]
    plain_by = {(r["server"], r["mode"], r["generator"]): r for r in runs}
    plain = plain_by.get(("ringshard", "close", hs["generator"])) or plain_by.get(("ringshard", "close", "wrk"))
    plain_us = plain["cpu_us_per_req"] if plain else None
    bound = {"micro_server_handshake_us": round(micro_us, 1),
             "plain_close_cpu_us": round(plain_us, 2) if plain_us else None,
             "ringshard_handshake_cpu_us": round(hs["cpu_us_per_req"], 1),
             "generator": hs["generator"],
             "ratio": round(hs["cpu_us_per_req"] / (micro_us + plain_us), 3) if plain_us else None}
idle = [json.loads(l) for l in open(env["CMP_IDLE"]) if l.strip()]
by = {(r["server"], r["mode"], r["generator"]): r for r in runs}
for r in runs:
    for ref in ("nginx", "floor"):
        base = by.get((ref, r["mode"], r["generator"]))
        ok = base and base["cpu_us_per_req"] and r["cpu_us_per_req"]
        r["vs_" + ref] = round(r["cpu_us_per_req"] / base["cpu_us_per_req"], 3) if ok else None

# WebSocket rows: ringshard-load's JSON per run plus server, mode, cpu_ticks.
def ws_record(d):
    mode, fan = d["mode"], d["mode"].startswith("ws-fanout")
    lat = d.get("latency_us") or {}
    out = {"server": d["server"], "mode": mode, "generator": "load",
           "errors": d.get("errors", {}).get("total", -1), "cpu_s": d["cpu_ticks"] / hz,
           "p50_us": lat.get("p50"), "p99_us": lat.get("p99")}
    if fan:
        n, secs = d.get("deliveries", 0), d.get("window_s", 0)
        out.update({"subscribers": d.get("subscribers"), "publishers": d.get("publishers"),
                    "depth": d.get("depth"), "publications": d.get("publications"),
                    "deliveries": n, "window_s": secs, "setup_s": d.get("setup_s"),
                    "close_s": d.get("close_s"), "deliveries_per_s": d.get("deliveries_per_s"),
                    "check": d.get("check"), "server_cpu_window_s": d.get("server_cpu_s"),
                    "cpu_us_per_delivery": d.get("server_cpu_us_per_delivery"),
                    "publish_p50_us": (d.get("publish_latency_us") or {}).get("p50")})
        out["latency"] = "from publication to delivery"
    elif mode == "http-keepalive":
        n = d.get("requests", 0)
        out.update({"requests": n, "duration_s": d.get("duration_s"), "rps": d.get("rps"),
                    "cpu_us_per_req": d["cpu_ticks"] * 1e6 / hz / n if n else None})
    else:
        n = d.get("messages", 0)
        out.update({"connections": d.get("connections"), "size": d.get("size"),
                    "binary": d.get("binary"), "messages": n, "duration_s": d.get("duration_s"),
                    "mps": d.get("mps"), "mb_per_s": d.get("mb_per_s"),
                    "cpu_us_per_msg": d["cpu_ticks"] * 1e6 / hz / n if n else None})
    return out

def jsonl(path):
    if not path or not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]

ws_runs = [ws_record(d) for d in jsonl(env.get("CMP_WS_RUNS"))]
ws_idle = jsonl(env.get("CMP_WS_IDLE"))
ws_by = {(r["server"], r["mode"]): r for r in ws_runs}
for r in ws_runs:
    key = {"ws-echo": "cpu_us_per_msg", "ws-echo-64k": "cpu_us_per_msg", "http-keepalive": "cpu_us_per_req"}.get(
        r["mode"], "cpu_us_per_delivery")
    base = ws_by.get(("ws", r["mode"]))
    ok = r["server"] != "ws" and base and base.get(key) and r.get(key)
    r["vs_ws"] = round(r[key] / base[key], 3) if ok else None
    if r["mode"] == "ws-echo-64k":
        ok = r["server"] != "ws" and base and base.get("mb_per_s") and r.get("mb_per_s")
        r["vs_ws_throughput"] = round(r["mb_per_s"] / base["mb_per_s"], 3) if ok else None
    if r["mode"] == "ws-echo" and r["server"] == "ringshard":
        http = ws_by.get(("ringshard", "http-keepalive"))
        ok = http and http.get("cpu_us_per_req") and r.get("cpu_us_per_msg")
        r["vs_own_http_keepalive"] = round(r["cpu_us_per_msg"] / http["cpu_us_per_req"], 3) if ok else None
for d in ws_idle:
    d["bytes_per_conn_target"] = 4096 if d.get("variant") == "plain" and d["server"] == "ringshard" else None
websocket = None
if ws_runs or ws_idle:
    echo_rs = ws_by.get(("ringshard", "ws-echo")) or {}
    websocket = {
        "peer": env.get("CMP_WS_PEER") or None,
        "method": {"server_cpu": 0, "load_cpu": 1, "ringshard_shards": 1,
                   "fanout_subscribers": int(env["CMP_FANOUT_N"]),
                   "cpu_per_message": "utime+stime over the run / echoed messages",
                   "cpu_per_delivery": "utime+stime over the publishing window (ringshard-load --server-pid) / subscriber deliveries"},
        "runs": ws_runs,
        "idle": ws_idle,
        "targets": {"echo_vs_ws": {"target": 0.45, "value": echo_rs.get("vs_ws")},
                    "echo_vs_own_http_keepalive": {"target": 1.1, "value": echo_rs.get("vs_own_http_keepalive")},
                    "idle_bytes_per_conn": {"target": 4096, "value": next(
                        (d["bytes_per_conn"] for d in ws_idle
                         if d["server"] == "ringshard" and d.get("variant") == "plain"), None)}},
    }

# Middleware rows: the plain fields (server = variant), then round and the
# access log's bytes after the run (-1: no access log). Each variant's
# figures are medians over the rounds; ratios are of medians, per generator.
def mw_record(r):
    out = record(r[:10])
    out["variant"] = out.pop("server")
    out["round"] = int(r[10])
    if int(r[11]) >= 0:
        out["access_log_bytes"] = int(r[11])
    return out
mw_runs = [mw_record(r) for r in rows(env["CMP_MW"])] if os.path.exists(env["CMP_MW"]) else []
middleware = None
if mw_runs:
    def median(vals):
        vals = sorted(v for v in vals if v is not None)
        if not vals:
            return None
        n = len(vals)
        return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    mw_order = {"rs-bare": 0, "rs-default": 1, "rs-full": 2, "nginx": 3}
    mw_gens = list(dict.fromkeys(r["generator"] for r in mw_runs))
    mw_summary = []
    for v in sorted({r["variant"] for r in mw_runs}, key=lambda v: mw_order.get(v, 9)):
        for g in mw_gens:
            rs = [r for r in mw_runs if r["variant"] == v and r["generator"] == g]
            if not rs:
                continue
            c = median(r["cpu_us_per_req"] for r in rs)
            row = {"variant": v, "generator": g, "runs": len(rs),
                   "cpu_us_per_req": round(c, 4) if c else None,
                   "rps": median(r["rps"] for r in rs), "p50_us": median(r["p50_us"] for r in rs),
                   "p99_us": median(r["p99_us"] for r in rs), "errors": sum(r["errors"] for r in rs)}
            if v == "rs-full":
                nbytes = sum(r.get("access_log_bytes", 0) for r in rs)
                nreq = sum(r["requests"] for r in rs)
                row["access_log_bytes_per_req"] = round(nbytes / nreq, 1) if nreq else None
            mw_summary.append(row)
    mw_by = {(r["variant"], r["generator"]): r for r in mw_summary}
    for row in mw_summary:
        for ref, key in (("rs-bare", "vs_bare"), ("nginx", "vs_nginx")):
            base = mw_by.get((ref, row["generator"]))
            ok = base and base["cpu_us_per_req"] and row["cpu_us_per_req"]
            row[key] = round(row["cpu_us_per_req"] / base["cpu_us_per_req"], 3) if ok else None
    def per_gen(v, key):
        return {g: mw_by[(v, g)][key] for g in mw_gens if (v, g) in mw_by}
    mw_flags = dict(rows(env["CMP_MW_FLAGS"])) if os.path.exists(env["CMP_MW_FLAGS"]) else {}
    middleware = {
        "method": {"mode": "keepalive", "path": "/plaintext", "connections": 64, "server_cpu": 0,
                   "load_cpu": 1, "ringshard_shards": 1, "rounds": int(env["CMP_MW_ROUNDS"]),
                   "statistic": "median over the rounds of each run's cpu_us_per_req; ratios of medians",
                   "flags": {v: mw_flags.get(v, "") for v in ("rs-bare", "rs-default", "rs-full")},
                   "admin_listen": "rs-default and rs-full: 127.0.0.1 on a free port"},
        "runs": mw_runs,
        "summary": mw_summary,
        "targets": {"default_vs_bare": {"target": 1.05, "value": per_gen("rs-default", "vs_bare")},
                    "full_vs_bare": {"target": 1.20, "value": per_gen("rs-full", "vs_bare")},
                    "default_vs_nginx": {"target": 0.70, "value": per_gen("rs-default", "vs_nginx")}},
    }

# Deployment rows: the plain fields (server = row: get, json, create,
# create-rate), then round and, for create-rate, the offered rate. Medians
# over the rounds as for the middleware rows; the stream row is
# ringshard-load's JSON.
def dep_median(vals):
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
def dep_record(r):
    out = record(r[:10])
    out["row"] = out.pop("server")
    out["round"] = int(r[10])
    if len(r) > 11:
        out["offered_rps"] = int(r[11])
    return out
dep_runs = [dep_record(r) for r in rows(env["CMP_DEP"])] if os.path.exists(env["CMP_DEP"]) else []
dep_stream = None
if os.path.exists(env["CMP_DEP_STREAM"]) and os.path.getsize(env["CMP_DEP_STREAM"]) > 0:
    d = json.load(open(env["CMP_DEP_STREAM"]))
    lat, cl = d.get("latency_us") or {}, d.get("create_latency_us") or {}
    dep_stream = {"subscribers": d.get("subscribers"), "subscribers_open": d.get("subscribers_open"),
                  "creates": d.get("creates"), "creates_failed": d.get("creates_failed"),
                  "samples": d.get("samples"), "expected": d.get("expected"), "missed": d.get("missed"),
                  "late": d.get("late"), "duplicates": d.get("duplicates"),
                  "before_answer": d.get("before_answer"), "p50_us": lat.get("p50"),
                  "p90_us": lat.get("p90"), "p99_us": lat.get("p99"), "max_us": lat.get("max"),
                  "create_p50_us": cl.get("p50"), "create_p99_us": cl.get("p99"),
                  "setup_s": d.get("setup_s"), "duration_s": d.get("duration_s"),
                  "server_cpu_s": d.get("server_cpu_s"), "cpu_s": d["cpu_ticks"] / hz,
                  "errors": d.get("errors", {}).get("total"), "stopped": d.get("stopped") or None}
deployments = None
if dep_runs or dep_stream:
    dep_summary = {}
    for row in ("get", "json", "create", "create-rate"):
        rs = [r for r in dep_runs if r["row"] == row]
        if not rs:
            continue
        c = dep_median(r["cpu_us_per_req"] for r in rs)
        dep_summary[row] = {"runs": len(rs), "cpu_us_per_req": round(c, 3) if c else None,
                            "rps": dep_median(r["rps"] for r in rs), "p50_us": dep_median(r["p50_us"] for r in rs),
                            "p99_us": dep_median(r["p99_us"] for r in rs), "errors": sum(r["errors"] for r in rs)}
        if row == "create-rate":
            dep_summary[row]["offered_rps"] = rs[0].get("offered_rps")
    g, j = dep_summary.get("get"), dep_summary.get("json")
    get_vs_json = round(g["cpu_us_per_req"] / j["cpu_us_per_req"], 3) if g and j and g["cpu_us_per_req"] and j["cpu_us_per_req"] else None
    cr, crr = dep_summary.get("create"), dep_summary.get("create-rate")
    flags = open(env["CMP_DEP_FLAGS"]).read().strip() if os.path.exists(env["CMP_DEP_FLAGS"]) else ""
    deployments = {
        "method": {"server_cpu": 0, "load_cpu": 1, "ringshard_shards": 1, "connections": 64,
                   "rounds": int(env["CMP_MW_ROUNDS"]), "statistic": "median over the rounds; ratio of medians",
                   "server_flags": flags, "data_dir_fs": env.get("CMP_DEP_FS") or None,
                   "create_body": env["CMP_DEP_BODY"], "stream_subscribers": int(env["CMP_DEP_SUBSCRIBERS"]),
                   "stream_latency": "from a create's send to its pending event at each subscriber",
                   "get_headers": "Authorization: Bearer (both GET rows)"},
        "runs": dep_runs,
        "summary": dep_summary,
        "stream": dep_stream,
        "targets": {"get_vs_json": {"target": 2.0, "value": get_vs_json},
                    "creates_per_s": {"target": 5000, "value": cr["rps"] if cr else None},
                    "create_p99_us_at_target_rate": {"target": 20000, "offered_rps": int(env["CMP_DEP_RATE"]),
                                                     "value": crr["p99_us"] if crr else None}},
    }

# Reverse-proxy rows: bench/proxy_rows.sh wrote the section and its table.
proxy = json.load(open(env["CMP_PROXY"])) if os.path.exists(env["CMP_PROXY"]) else None

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
doc = {
    "timestamp": env["CMP_STAMP"],
    "git": env["CMP_GIT"],
    "host": {"cpu": cpu, "nproc": os.cpu_count(), "kernel": platform.release(),
             "background_busy_pct": int(env["CMP_BUSY"])},
    "method": {"server_cpu": 0, "load_cpu": 1, "connections": 64, "pipeline_depth": 16,
               "duration_s": float(env["CMP_DURATION"]), "quick": env["CMP_QUICK"] == "true",
               "cpu_per_request": "utime+stime of all server processes (/proc/PID/stat) / requests"},
    "versions": {"nginx": env["CMP_NGINX"], "h2o": env["CMP_H2O"], "wrk": env["CMP_WRK"],
                 "ringshard_io_uring": env["CMP_RING"], "ringshard_load": bool(env["CMP_LOAD"]),
                 "openssl": env["CMP_OPENSSL"], "curl": env["CMP_CURL"]},
    "runs": runs + tls_runs,  # WebSocket rows: websocket.runs
    "same_rate": same,
    "idle_connections": idle,
    "websocket": websocket,
    "middleware": middleware,
    "deployments": deployments,
    "proxy": proxy,
    "tls": {"certificate": "ECDSA P-256, self-signed (openssl req)", "protocol": "TLSv1.3",
            "group": "X25519", "suite": "TLS_AES_128_GCM_SHA256", "bulk_bytes": 64 * MIB,
            "negotiated": negotiated, "handshake_bound": bound} if tls_runs else None,
    "wall_s": int(time.time()) - int(env["CMP_WALL_START"]),
}
text = json.dumps(doc, indent=1)
for path in (sys.argv[1], "bench/results/latest.json"):
    with open(path, "w") as f:
        f.write(text + "\n")

def us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f}ms" if v >= 1000 else f"{v:.0f}us"
def k(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
def x(v):
    return "-" if v is None else f"{v:.3g}x"

order = {"nginx": 0, "h2o": 1, "ringshard": 2, "floor": 3}
if runs:
    print(f"\n{'mode':<10} {'server':<10} {'gen':<5} {'req/s':>8} {'p50':>8} {'p99':>8} "
          f"{'CPU/req':>9} {'vs nginx':>9} {'vs floor':>9} {'errors':>7}")
for mode in ("keepalive", "pipelined", "close"):
    for r in sorted((r for r in runs if r["mode"] == mode),
                    key=lambda r: (r["generator"], order.get(r["server"], 9))):
        c = r["cpu_us_per_req"]
        print(f"{mode:<10} {r['server']:<10} {r['generator']:<5} {k(r['rps']):>8} {us(r['p50_us']):>8} "
              f"{us(r['p99_us']):>8} {('-' if c is None else f'{c:.2f}us'):>9} {x(r['vs_nginx']):>9} "
              f"{x(r['vs_floor']):>9} {r['errors']:>7}")
if tls_runs:
    neg = "; ".join(f"{k}: {v}" for k, v in sorted(negotiated.items()))
    print(f"\nTLS ({neg}):")
    print(f"{'mode':<14} {'server':<10} {'gen':<5} {'req/s':>8} {'p50':>8} {'p99':>8} "
          f"{'CPU/req':>9} {'vs nginx':>9} {'resumed':>8} {'errors':>7}")
    for mode in ("tls-handshake", "tls-resumed", "tls-keepalive"):
        for r in sorted((r for r in tls_runs if r["mode"] == mode),
                        key=lambda r: (r["generator"], order.get(r["server"], 9))):
            c = r["cpu_us_per_req"]
            res = "-" if r["resumed"] is None else f"{r['resumed']}"
            print(f"{mode:<14} {r['server']:<10} {r['generator']:<5} {k(r['rps']):>8} {us(r['p50_us']):>8} "
                  f"{us(r['p99_us']):>8} {('-' if c is None else f'{c:.2f}us'):>9} {x(r['vs_nginx']):>9} "
                  f"{res:>8} {r['errors']:>7}")
    bulk = [r for r in tls_runs if r["mode"] == "tls-bulk"]
    if bulk:
        print(f"\n{'tls-bulk':<14} {'server':<10} {'gen':<5} {'MB/s':>8} {'CPU/MiB':>9} "
              f"{'vs nginx':>9} {'MB/s vs':>9} {'64MiB':>6} {'errors':>7}")
        for r in sorted(bulk, key=lambda r: (r["generator"], order.get(r["server"], 9))):
            mb, c = r["mb_per_s"], r["cpu_us_per_mib"]
            print(f"{'':<14} {r['server']:<10} {r['generator']:<5} {('-' if mb is None else f'{mb:.0f}'):>8} "
                  f"{('-' if c is None else f'{c:.0f}us'):>9} {x(r['vs_nginx']):>9} "
                  f"{x(r.get('vs_nginx_throughput')):>9} {r['requests']:>6} {r['errors']:>7}")
    if bound:
        p = bound["plain_close_cpu_us"]
        print(f"\nfull handshake: ringshard {bound['ringshard_handshake_cpu_us']:.0f}us = {x(bound['ratio'])} "
              f"(in-memory BoringSSL server handshake {bound['micro_server_handshake_us']:.0f}us"
              f" + ringshard plain close {('-' if p is None else f'{p:.0f}us')}, {bound['generator']})")
if middleware:
    mm = middleware["method"]
    print(f"\nmiddleware (one ringshard binary, --shards 1; keep-alive /plaintext; median of "
          f"{mm['rounds']} round{'s' if mm['rounds'] != 1 else ''}):")
    print(f"{'variant':<11} {'gen':<5} {'req/s':>8} {'p50':>8} {'p99':>8} {'CPU/req':>9} "
          f"{'vs bare':>8} {'vs nginx':>9} {'errors':>7}")
    for row in sorted(mw_summary, key=lambda r: (r["generator"], mw_order.get(r["variant"], 9))):
        c = row["cpu_us_per_req"]
        print(f"{row['variant']:<11} {row['generator']:<5} {k(row['rps'] or 0):>8} {us(row['p50_us']):>8} "
              f"{us(row['p99_us']):>8} {('-' if c is None else f'{c:.2f}us'):>9} {x(row['vs_bare']):>8} "
              f"{x(row['vs_nginx']):>9} {row['errors']:>7}")
    t = middleware["targets"]
    for g in mw_gens:
        d, f, n = (t[key]["value"].get(g) for key in ("default_vs_bare", "full_vs_bare", "default_vs_nginx"))
        print(f"  {g}: rs-default {x(d)} of rs-bare (target <= 1.05x), rs-full {x(f)} (target <= 1.2x), "
              f"rs-default {x(n)} of nginx (target <= 0.7x)")
    full = [r for r in mw_summary if r["variant"] == "rs-full"]
    if full:
        per = [r["access_log_bytes_per_req"] for r in full if r.get("access_log_bytes_per_req") is not None]
        print(f"  rs-full access log: {', '.join(f'{b:.0f}' for b in per) or '-'} bytes per request"
              + ("  (WARNING: nothing logged)" if not any(per) else ""))
if deployments:
    dm = deployments["method"]
    print(f"\ndeployments (ringshard --shards 1 + plugins/deployments; 64 connections; median of "
          f"{dm['rounds']} round{'s' if dm['rounds'] != 1 else ''}; data dir on {dm['data_dir_fs'] or '?'}):")
    print(f"{'row':<26} {'req/s':>8} {'p50':>8} {'p99':>8} {'CPU/req':>9} {'errors':>7}")
    names = {"get": "GET /v1/deployments/{id}", "json": "GET /json",
             "create": "POST /v1/deployments", "create-rate": "POST at {}/s".format(env["CMP_DEP_RATE"])}
    for row, v in deployments["summary"].items():
        c = v["cpu_us_per_req"]
        print(f"{names[row]:<26} {k(v['rps'] or 0):>8} {us(v['p50_us']):>8} {us(v['p99_us']):>8} "
              f"{('-' if c is None else f'{c:.2f}us'):>9} {v['errors']:>7}")
    t = deployments["targets"]
    print(f"  GET by id: {x(t['get_vs_json']['value'])} of GET /json's CPU/req (target <= 2x)")
    cps, p99 = t["creates_per_s"]["value"], t["create_p99_us_at_target_rate"]["value"]
    print(f"  creates: {'-' if cps is None else k(cps)}/s closed loop (target >= 5k/s), p99 {us(p99)} at "
          f"{env['CMP_DEP_RATE']}/s offered (target < 20ms)")
    st = deployments["stream"]
    if st:
        print(f"  stream: {st['subscribers']} subscribers x {st['creates']} creates: p50 {us(st['p50_us'])} "
              f"p99 {us(st['p99_us'])} (create to pending event), missed {st['missed']} of {st['expected']}"
              f" (late {st['late']}), errors {st['errors']}" + (f"; stopped: {st['stopped']}" if st["stopped"] else ""))
if proxy and os.path.exists(env["CMP_PROXY_TABLE"]):
    print(open(env["CMP_PROXY_TABLE"]).read(), end="")
if websocket and ws_runs:
    print(f"\nWebSocket (ringshard --shards 1; peer: {websocket['peer'] or 'none'}):")
    print(f"{'mode':<14} {'server':<10} {'msg/s':>8} {'MB/s':>7} {'p50':>8} {'p99':>8} {'CPU/msg':>9} "
          f"{'vs ws':>7} {'errors':>7}")
    for mode in ("http-keepalive", "ws-echo", "ws-echo-64k"):
        for r in sorted((r for r in ws_runs if r["mode"] == mode), key=lambda r: r["server"] != "ws"):
            rate = r.get("mps") if mode != "http-keepalive" else r.get("rps")
            c = r.get("cpu_us_per_msg") if mode != "http-keepalive" else r.get("cpu_us_per_req")
            mb = r.get("mb_per_s")
            print(f"{mode:<14} {r['server']:<10} {k(rate or 0):>8} {('-' if mb is None else f'{mb:.1f}'):>7} "
                  f"{us(r['p50_us']):>8} {us(r['p99_us']):>8} {('-' if c is None else f'{c:.2f}us'):>9} "
                  f"{x(r['vs_ws']):>7} {r['errors']:>7}")
    e = ws_by.get(("ringshard", "ws-echo"))
    if e:
        print(f"  ringshard echo CPU/msg: {x(e['vs_ws'])} of ws (target <= 0.45x), "
              f"{x(e.get('vs_own_http_keepalive'))} of its own HTTP keep-alive CPU/req (target <= 1.1x)")
    e = ws_by.get(("ringshard", "ws-echo-64k"))
    if e and e.get("vs_ws_throughput"):
        print(f"  ringshard 64 KiB echo: {x(e['vs_ws_throughput'])} of ws's MB/s")
    fan = [r for r in ws_runs if r["mode"].startswith("ws-fanout")]
    if fan:
        print(f"\nfan-out to {websocket['method']['fanout_subscribers']:,} subscribers, 1 publisher, closed loop on its echo:")
        print(f"{'depth':<6} {'server':<10} {'deliv/s':>8} {'p50':>8} {'p99':>8} {'CPU/dlv':>9} {'vs ws':>7} "
              f"{'set-up':>7} {'close':>7} {'check':>6} {'errors':>7}")
        for r in sorted(fan, key=lambda r: (r["depth"] or 0, r["server"] != "ws")):
            c = r.get("cpu_us_per_delivery")
            chk = r.get("check") or {}
            ok = "ok" if chk.get("mismatched") == 0 else f"{chk.get('mismatched', '?')} bad"
            print(f"{r['depth'] or '-':<6} {r['server']:<10} {k(r.get('deliveries_per_s') or 0):>8} "
                  f"{us(r['p50_us']):>8} {us(r['p99_us']):>8} {('-' if c is None else f'{c:.3f}us'):>9} "
                  f"{x(r['vs_ws']):>7} {r.get('setup_s') or 0:>6.1f}s {r.get('close_s') or 0:>6.1f}s "
                  f"{ok:>6} {r['errors']:>7}")
if ws_idle:
    print("\nidle WebSocket connections to /ws/echo (RSS growth of the server):")
    for d in ws_idle:
        print(f"  {d['server']:<10} {d['variant']:<16} {d['alive']}/{d['connections']} open, "
              f"deflate agreed on {d.get('deflate_accepted', 0)}  {d['bytes_per_conn']:.0f} bytes/conn"
              + ("  (target <= 4096)" if d.get("bytes_per_conn_target") else ""))
if same:
    print(f"\nsame offered rate ({same[0]['offered_rps']} req/s, keep-alive, ringshard-load):")
    for r in sorted(same, key=lambda r: order.get(r["server"], 9)):
        c = r["cpu_us_per_req"]
        print(f"  {r['server']:<10} {k(r['rps']):>8} req/s  p50 {us(r['p50_us']):>8}  p99 {us(r['p99_us']):>8}"
              f"  CPU/req {('-' if c is None else f'{c:.2f}us')}")
if idle:
    print("\nidle keep-alive connections (RSS growth of the server's processes):")
    for d in idle:
        print(f"  {d['server']:<10} {d['alive']}/{d['connections']} open  "
              f"{d['rss_before_kib']} -> {d['rss_after_kib']} KiB  {d['bytes_per_conn']:.0f} bytes/conn")
busy = doc["host"]["background_busy_pct"]
print(f"\n{cpu}, {doc['host']['nproc']} CPUs, Linux {doc['host']['kernel']}, "
      f"background load before the run {busy}%, {doc['wall_s']} s")

# The chart's data: CPU us/request per mode (rows) and server (columns), wrk.
names = sorted({r["server"] for r in runs}, key=lambda s: order.get(s, 9))
with open(env["CMP_CHART"], "w") as f:
    f.write("mode " + " ".join(names) + "\n")
    for mode in ("keepalive", "pipelined", "close"):
        vals = []
        for s in names:
            r = by.get((s, mode, "wrk"))
            vals.append(f"{r['cpu_us_per_req']:.3f}" if r and r["cpu_us_per_req"] else "?")
        f.write(mode + " " + " ".join(vals) + "\n")
EOF

if (( !run_plain )); then
  :   # the chart shows the plain modes only
elif command -v gnuplot >/dev/null; then
  ncol=$(head -1 "$work/chart.dat" | wc -w)
  logy=$(awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "?") { if (!lo || $i < lo) lo = $i; if ($i > hi) hi = $i } }
              END { print (lo && hi / lo > 20) ? "set logscale y" : "set yrange [0:*]" }' "$work/chart.dat")
  term="pngcairo size 960,540 font 'sans,11'"
  gnuplot -e "set terminal pngcairo" 2>/dev/null || term="png size 960,540"
  gnuplot <<EOF || echo "compare.sh: gnuplot failed; no chart" >&2
set terminal $term
set output 'bench/results/latest.png'
set title "Server CPU time per request (lower is better): 1 core, wrk, $stamp"
set ylabel "CPU microseconds / request"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing '?'
set key top left
set grid ytics
$logy
plot for [i=2:$ncol] '$work/chart.dat' using i:xtic(1) title columnheader(i)
EOF
else
  echo "compare.sh: gnuplot not found; no chart (scripts/install-deps.sh bench)" >&2
fi
echo "results: bench/results/$stamp.json, bench/results/latest.json, bench/results/latest.png" >&2
