#!/usr/bin/env bash
# bench/compare.sh: ringshard and nginx side by side, in one run.
#
# Each server runs alone, pinned to CPU 0 (one shard / one worker), with wrk
# pinned to CPU 1. For each mode it prints requests/s, wrk's latency
# percentiles and the server's CPU time per request: utime+stime of the
# server process from /proc/PID/stat over the run, divided by the requests.
# Ratios are against nginx measured in the same invocation.
#
# Usage: bench/compare.sh [--quick] [--build DIR]
# Needs: wrk, nginx (make bench installs them). Loopback only; everything
# it starts it stops by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=5
build=build
while (( $# )); do
  case "$1" in
    --quick) duration=2 ;;
    --build) build="$2"; shift ;;
    *) echo "usage: $0 [--quick] [--build DIR]" >&2; exit 64 ;;
  esac
  shift
done

for tool in wrk nginx taskset; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found (run: make bench)" >&2; exit 69; }
done
bin="$build/server/ringshard"
[[ -x "$bin" ]] || { echo "compare.sh: $bin not built (run: make build)" >&2; exit 69; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rs_port=$(free_port)
ng_port=$(free_port)
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/nginx-error.log;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$ng_port reuseport backlog=4096;
    location / { return 200 "Hello, World!"; }
  }
}
EOF
cat > "$work/pipeline.lua" <<'EOF'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil) end
  req = table.concat(r)
end
request = function() return req end
EOF

taskset -c 0 "$bin" --listen "127.0.0.1:$rs_port" --shards 1 2>"$work/rs.log" &
rs_pid=$!; pids+=("$rs_pid")
taskset -c 0 nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" 2>/dev/null &
ng_master=$!; pids+=("$ng_master")

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "compare.sh: nothing listening on $1" >&2; exit 1
}
wait_port "$rs_port"; wait_port "$ng_port"
ng_pid=$(pgrep -P "$ng_master" | head -1)   # the worker does the work

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run NAME PID URL MODE -> prints one table row, remembers cpu/req
declare -A cpu_per_req rps_of
run() {
  local name=$1 pid=$2 url=$3 mode=$4 args=(-t1 -c64 -d"${duration}s" --latency)
  case "$mode" in
    pipelined) args+=(-s "$work/pipeline.lua") ;;
    close) args+=(-H "Connection: close") ;;
  esac
  local c0 c1 out reqs
  c0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk "${args[@]}" "$url")
  c1=$(cpu_ticks "$pid")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  local rps p50 p99 us
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  us=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v r="$reqs" 'BEGIN{printf "%.2f", c * 1e6 / hz / r}')
  cpu_per_req[$name/$mode]=$us
  rps_of[$name/$mode]=$rps
  printf "%-12s %-10s %12s %10s %10s %12s\n" "$mode" "$name" "$rps" "$p50" "$p99" "$us"
}

printf "%-12s %-10s %12s %10s %10s %12s\n" mode server "req/s" p50 p99 "CPU us/req"
for mode in keepalive pipelined close; do
  run ringshard "$rs_pid" "http://127.0.0.1:$rs_port/plaintext" "$mode"
  run nginx "$ng_pid" "http://127.0.0.1:$ng_port/" "$mode"
done
echo
echo "ringshard / nginx, server CPU per request:"
for mode in keepalive pipelined close; do
  awk -v a="${cpu_per_req[ringshard/$mode]}" -v b="${cpu_per_req[nginx/$mode]}" -v m="$mode" \
    'BEGIN{printf "  %-10s %.3fx\n", m, a / b}'
done
