#!/usr/bin/env bash
# bench/compare.sh: ringshard against nginx, h2o and ringshard-floor, in one run.
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
#
# Writes bench/results/<UTC timestamp>.json, bench/results/latest.json and
# bench/results/latest.png (gnuplot), and prints the table.
#
# Usage: bench/compare.sh [--quick] [--duration S] [--build DIR]
#                         [--only NAME[,NAME...]] [--skip-peers] [--no-idle]
#   --quick       1 s runs, 2,000 idle connections (under a minute)
#   --only        servers among: nginx, floor, ringshard, h2o
#   --skip-peers  only ringshard and ringshard-floor
# Needs: wrk, nginx, h2o, gnuplot (make bench / scripts/install-deps.sh bench).
# Loopback only; everything it starts it stops by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=5
idle_n=10000
build=build
servers=(nginx floor ringshard h2o)
run_idle=1
quick=false
usage() {
  echo "usage: $0 [--quick] [--duration S] [--build DIR] [--only NAME[,NAME...]] [--skip-peers] [--no-idle]" >&2
  exit 64
}
while (( $# )); do
  case "$1" in
    --quick) duration=1; idle_n=2000; quick=true ;;
    --duration) [[ $# -ge 2 ]] || usage; duration="$2"; shift ;;
    --build) [[ $# -ge 2 ]] || usage; build="$2"; shift ;;
    --only) [[ $# -ge 2 ]] || usage; IFS=, read -r -a servers <<<"$2"; shift ;;
    --skip-peers) servers=(floor ringshard) ;;
    --no-idle) run_idle=0 ;;
    *) usage ;;
  esac
  shift
done
for s in "${servers[@]}"; do
  case "$s" in nginx|floor|ringshard|h2o) ;; *) echo "compare.sh: unknown server '$s'" >&2; usage ;; esac
done
has() { local s; for s in "${servers[@]}"; do [[ "$s" == "$1" ]] && return 0; done; return 1; }

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 not found (run: scripts/install-deps.sh bench)" >&2; exit 69; }; }
need wrk; need taskset; need python3
has nginx && need nginx
has h2o && need h2o
rs_bin="$build/ringshard"
floor_bin="$build/bench/floor/ringshard-floor"
has ringshard && { [[ -x "$rs_bin" ]] || { echo "compare.sh: $rs_bin not built" >&2; exit 69; }; }
has floor && { [[ -x "$floor_bin" ]] || { echo "compare.sh: $floor_bin not built" >&2; exit 69; }; }
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
      taskset -c 0 "$rs_bin" --listen "127.0.0.1:$port" --shards 1 2>>"$work/ringshard.log" &
      ;;
    floor)
      taskset -c 0 "$floor_bin" --listen "127.0.0.1:$port" 2>>"$work/floor.log" &
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
  local _
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "compare.sh: $name is not listening on $port" >&2
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

runs="$work/runs.tsv"; same="$work/same_rate.tsv"; idle="$work/idle.jsonl"
: >"$runs"; : >"$same"; : >"$idle"

# measure NAME PID URL MODE GEN [RATE]: one load run; appends a TSV record
# server mode gen requests seconds rps p50_us p99_us cpu_ticks errors
measure() {
  local name=$1 pid=$2 url=$3 mode=$4 gen=$5 rate=${6:-}
  local c0 c1 out reqs secs rps p50 p99 errs
  if [[ "$gen" == wrk ]]; then
    local args=(-t1 -c64 -d"${duration}s" --latency --timeout 5s)
    case "$mode" in
      pipelined) args+=(-s "$work/pipeline.lua") ;;
      close) args+=(-H "Connection: close") ;;
    esac
    c0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 wrk "${args[@]}" "$url" 2>&1) || true
    c1=$(cpu_ticks "$pid")
    reqs=$(awk '/requests in/{print $1}' <<<"$out")
    secs=$(awk '/requests in/{sub(/s,$/, "", $4); print $4}' <<<"$out")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p50=$(to_us "$(awk '$1=="50%"{print $2}' <<<"$out")")
    p99=$(to_us "$(awk '$1=="99%"{print $2}' <<<"$out")")
    errs=$(awk '/Socket errors/{gsub(/,/, ""); s += $4 + $6 + $8 + $10} /Non-2xx/{s += $NF} END{print s + 0}' <<<"$out")
  else
    local lmode=$mode args
    [[ "$mode" == pipelined ]] && lmode=pipeline
    args=("$url" --connections 64 --duration "${duration}s" --mode "$lmode" --depth 16 --json)
    [[ -n "$rate" ]] && args+=(--rate "$rate")
    c0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 "$load_bin" "${args[@]}" 2>"$work/load.err") || true
    c1=$(cpu_ticks "$pid")
    read -r reqs secs rps p50 p99 errs < <(python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
    l = d["latency_us"]
    print(d["requests"], d["duration_s"], d["rps"], l["p50"], l["p99"], d["errors"]["total"])
except Exception:
    print("0 0 0 0 0 -1")' <<<"$out")
  fi
  if [[ -z "$reqs" || "$reqs" == 0 ]]; then
    echo "compare.sh: $name/$mode/$gen: no requests completed" >&2
    { echo "$out"; cat "$work/load.err" 2>/dev/null; } | tail -5 >&2
    reqs=0 secs=0 rps=0 p50=0 p99=0 errs=${errs:--1}
  fi
  local rec="$name	$mode	$gen	$reqs	$secs	$rps	$p50	$p99	$((c1 - c0))	$errs"
  if [[ -n "$rate" ]]; then echo "$rec	$rate" >>"$same"; else echo "$rec" >>"$runs"; fi
  printf '  %-10s %-9s %-5s %10s req/s  cpu %s ticks  errors %s\n' "$mode" "$name" "$gen" "$rps" "$((c1 - c0))" "$errs" >&2
}

declare -A pid_of url_of
for s in "${servers[@]}"; do
  port=$(free_port)
  start_server "$s" "$port"
  pid_of[$s]=$started_pid
  url_of[$s]="http://127.0.0.1:$port/plaintext"
done
ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/ringshard.log" 2>/dev/null | head -1 || true)

gens=(wrk); [[ -n "$load_bin" ]] && gens+=(load)
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
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
git_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
nginx_v=$(nginx -v 2>&1 | sed 's/.*: //' || true)
h2o_v=$(h2o --version 2>/dev/null | head -1 || true)
wrk_v=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}' || true)
export CMP_RUNS="$runs" CMP_SAME="$same" CMP_IDLE="$idle" CMP_STAMP="$stamp" \
  CMP_DURATION="$duration" CMP_QUICK="$quick" CMP_HZ="$hz" CMP_BUSY="$background_busy" \
  CMP_RING="$ring_mode" CMP_CHART="$work/chart.dat" CMP_LOAD="${load_bin:-}" \
  CMP_WALL_START="$started" CMP_GIT="$git_rev" CMP_NGINX="$nginx_v" CMP_H2O="$h2o_v" CMP_WRK="$wrk_v"
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
idle = [json.loads(l) for l in open(env["CMP_IDLE"]) if l.strip()]
by = {(r["server"], r["mode"], r["generator"]): r for r in runs}
for r in runs:
    for ref in ("nginx", "floor"):
        base = by.get((ref, r["mode"], r["generator"]))
        ok = base and base["cpu_us_per_req"] and r["cpu_us_per_req"]
        r["vs_" + ref] = round(r["cpu_us_per_req"] / base["cpu_us_per_req"], 3) if ok else None

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
                 "ringshard_io_uring": env["CMP_RING"], "ringshard_load": bool(env["CMP_LOAD"])},
    "runs": runs,
    "same_rate": same,
    "idle_connections": idle,
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
print(f"\n{'mode':<10} {'server':<10} {'gen':<5} {'req/s':>8} {'p50':>8} {'p99':>8} "
      f"{'CPU/req':>9} {'vs nginx':>9} {'vs floor':>9} {'errors':>7}")
for mode in ("keepalive", "pipelined", "close"):
    for r in sorted((r for r in runs if r["mode"] == mode),
                    key=lambda r: (r["generator"], order.get(r["server"], 9))):
        c = r["cpu_us_per_req"]
        print(f"{mode:<10} {r['server']:<10} {r['generator']:<5} {k(r['rps']):>8} {us(r['p50_us']):>8} "
              f"{us(r['p99_us']):>8} {('-' if c is None else f'{c:.2f}us'):>9} {x(r['vs_nginx']):>9} "
              f"{x(r['vs_floor']):>9} {r['errors']:>7}")
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

if command -v gnuplot >/dev/null; then
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
