# shellcheck shell=bash disable=SC2154,SC2034  # compare.sh's variables, both ways
# bench/proxy_rows.sh: the reverse-proxy rows of bench/compare.sh (issue 12):
# ringshard as a reverse proxy against nginx as one (proxy_pass to an
# upstream with keepalive), in front of the same nginx backend, in the same
# run. Sourced by compare.sh, never run on its own: it only defines the
# settings below and functions, which use compare.sh's variables (work,
# build, rs_bin, rs_help, load_bin, quick, duration, pids, hz, the run_*
# switches) and helpers (need, has, free_port, wait_listening, stop_server,
# cpu_ticks, run_generator). compare.sh calls three of them:
#
#   proxy_prepare  after compare.sh has read rs_help and found load_bin:
#                  decides which proxies run (proxy_names), says why one is
#                  skipped, checks ringshard's proxy flags with --check-config
#   proxy_run      the rows; writes WORK/proxy.tsv (one line per run)
#   proxy_report   WORK/proxy.json (the JSON's "proxy" section) and
#                  WORK/proxy-table.txt (its table), read by compare.sh's
#                  report
#
# Where each process runs: the backend (one nginx worker, a fixed 13-byte
# answer, stub_status on a second port) on CPU 1, beside ringshard-load;
# the proxy being measured on CPU 0, alone. Upstream connections opened are
# counted from the backend's side (stub_status "accepts" before and after
# each run, less the status request itself), so both proxies are counted the
# same way, whatever their own metrics call it. Every run is preceded by a
# 1 s warm-up of the same proxy (not measured; the connections it opens
# are recorded as warmup_upstream_conns_opened): the per-10,000 figure is
# the steady state, not the pool's first fill, and ringshard's 4 s pool idle
# timeout, shorter than the gap between two interleaved rounds, does not
# charge a refill to the next round.

# ---- settings ---------------------------------------------------------------
# Flags the ringshard proxy gets beyond --listen, --shards 1, the plain rows'
# switches (no TLS listener, no plugin) and its admin listener on a free
# port; BACKEND is replaced by the backend's address.
proxy_rs_route_flags=(--upstream "backend=BACKEND" --route "/=backend")
proxy_rs_extra_flags=()
proxy_path=/            # what ringshard-load requests, through the proxy
proxy_warmup=1s
# ------------------------------------------------------------------------------

proxy_names=()        # the proxies measured: nginx, ringshard
proxy_skipped=()      # "NAME: why" for each proxy whose rows are not run

# proxy_rs_flags BACKEND_ADDR ADMIN_PORT: sets proxy_rs_args (ADMIN_PORT
# empty: no admin flag).
proxy_rs_flags() {
  local f
  proxy_rs_args=(--shards 1)
  [[ "$rs_help" == *--tls-listen* ]] && proxy_rs_args+=(--tls-listen off)
  [[ "$rs_help" == *--no-plugins* ]] && proxy_rs_args+=(--no-plugins)
  [[ -n "$2" && "$rs_help" == *--admin-listen* ]] && proxy_rs_args+=(--admin-listen "127.0.0.1:$2")
  for f in "${proxy_rs_route_flags[@]}"; do proxy_rs_args+=("${f//BACKEND/$1}"); done
  proxy_rs_args+=("${proxy_rs_extra_flags[@]}")
}

proxy_prepare() {
  (( run_proxy )) || return 0
  local why=""
  if [[ -z "$load_bin" ]]; then
    why="they need $build/bench/ringshard-load"
  elif ! has nginx && ! has ringshard; then
    why="they need nginx or ringshard among the servers (--only)"
  elif ! command -v nginx >/dev/null; then
    # The backend is nginx whichever proxies run: a missing nginx stops
    # --proxy-only, and only skips these rows beside others.
    (( run_plain || run_tls || run_ws || run_mw || run_dep || run_idle )) || need nginx
    why="nginx is not installed (the backend)"
  fi
  if [[ -n "$why" ]]; then
    echo "compare.sh: notice: no proxy rows: $why" >&2
    run_proxy=0
  else
    has nginx && proxy_names+=(nginx)
    if has ringshard; then
      if ! grep -qE -- "(^|[[:space:]])--upstream([[:space:]=[]|\$)" <<<"$rs_help" ||
         ! grep -qE -- "(^|[[:space:]])--route([[:space:]=[]|\$)" <<<"$rs_help"; then
        proxy_skipped+=("ringshard: $rs_bin has no --upstream/--route flags (the reverse proxy, issue 12)")
        echo "compare.sh: notice: no ringshard proxy rows: $rs_bin has no --upstream/--route" \
             "flags (the reverse proxy, issue 12, is not in this build)" >&2
      else
        local out
        proxy_rs_flags 127.0.0.1:1 1
        if ! out=$("$rs_bin" --listen 127.0.0.1:2 "${proxy_rs_args[@]}" --check-config 2>&1); then
          echo "compare.sh: $rs_bin refuses the proxy rows' flags (${proxy_rs_args[*]}):" >&2
          tail -3 <<<"$out" >&2
          echo "compare.sh: fix the settings at the top of bench/proxy_rows.sh, or pass --no-proxy" >&2
          exit 69
        fi
        proxy_names+=(ringshard)
      fi
    fi
    (( ${#proxy_names[@]} )) || run_proxy=0
  fi
  if (( !run_proxy && !run_plain && !run_tls && !run_ws && !run_mw && !run_dep && !run_idle )); then
    echo "compare.sh: --proxy-only: nothing to measure" >&2
    exit 0
  fi
}

# The backend's stub_status: prints "ACCEPTS REQUESTS" (both counting the
# status request that reads them), or "-1 -1".
proxy_backend_counts() {
  local fd resp
  if ! exec {fd}<>"/dev/tcp/127.0.0.1/$proxy_status_port"; then echo "-1 -1"; return; fi
  printf 'GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
  resp=$(timeout 5 cat <&"$fd" || true)
  exec {fd}>&-
  awk '/^server accepts/ { getline; print $1, $3; found = 1 } END { if (!found) print "-1 -1" }' <<<"$resp"
}

# proxy_start_nginx NAME PORT CONF_BODY CPU: one nginx, one worker, pinned;
# sets started_pid.
proxy_start_nginx() {
  local name=$1 port=$2 body=$3 cpu=$4
  cat >"$work/$name.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/$name-error.log;
pid $work/$name.pid;
events { worker_connections 16384; }
http {
  access_log off;
$body
}
EOF
  taskset -c "$cpu" nginx -c "$work/$name.conf" -e "$work/$name-error.log" 2>/dev/null &
  started_pid=$!
  pids+=("$started_pid")
  wait_listening "$name" "$port" "$started_pid" "$work/$name-error.log"
}

# proxy_probe NAME URL: one GET through the proxy; it must answer 200 with
# the backend's body, and the backend must have served it.
proxy_probe() {
  local a0 r0 a1 r1 out
  read -r a0 r0 < <(proxy_backend_counts)
  out=$(python3 - "$2" <<'EOF' 2>&1
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        body = r.read()
        ok = r.status == 200 and body == b"Hello, World!"
        print("ok" if ok else f"answered {r.status}: {body[:200]!r}")
except Exception as e:
    print(f"failed: {e}")
EOF
)
  read -r a1 r1 < <(proxy_backend_counts)
  if [[ "$out" != ok ]]; then
    echo "compare.sh: $1 proxy: GET $2 $out" >&2
    return 1
  fi
  if (( r1 - r0 < 2 )); then
    echo "compare.sh: $1 proxy: GET $2 answered without reaching the backend" >&2
    return 1
  fi
}

# proxy_measure NAME ROW ROUND [RATE]: a warm-up, then one ringshard-load
# run against proxy NAME; appends to proxy.tsv:
# proxy row round requests seconds rps p50_us p99_us cpu_ticks errors
# offered_rps backend_ticks backend_requests upstream_opened warmup_opened
proxy_measure() {
  local name=$1 row=$2 round=$3 rate=${4:-} url=${proxy_url[$1]} pid=${proxy_pid[$1]}
  local aw a0 r0 a1 r1 b0 b1
  read -r aw _ < <(proxy_backend_counts)
  taskset -c 1 "$load_bin" "$url" --connections 64 --duration "$proxy_warmup" --mode keepalive \
    >/dev/null 2>&1 || true
  read -r a0 r0 < <(proxy_backend_counts)
  b0=$(cpu_ticks "$proxy_backend_pid")
  load_extra=()
  run_generator "$name-proxy" "$pid" "$url" keepalive load "$rate"
  b1=$(cpu_ticks "$proxy_backend_pid")
  read -r a1 r1 < <(proxy_backend_counts)
  local opened=$((a1 - a0 - 1)) warm=$((a0 - aw - 1)) breqs=$((r1 - r0 - 1))
  (( a1 < 0 || a0 < 0 || aw < 0 )) && opened=-1 warm=-1 breqs=-1
  echo "$name	$row	$round	$g_reqs	$g_secs	$g_rps	$g_p50	$g_p99	$g_ticks	$g_errs	${rate:-0}	$((b1 - b0))	$breqs	$opened	$warm" \
    >>"$work/proxy.tsv"
  printf '  %-15s %-9s %10s req/s  cpu %s ticks  upstream conns %s  errors %s\n' \
    "$row" "$name" "$g_rps" "$g_ticks" "$opened" "$g_errs" >&2
}

proxy_run() {
  : >"$work/proxy.tsv"
  (( run_proxy )) || return 0
  local port name round rounds=3 rate keep=()
  $quick && rounds=1
  declare -gA proxy_pid proxy_url
  proxy_backend_port=$(free_port)
  proxy_status_port=$(free_port)
  proxy_start_nginx nginx-backend "$proxy_backend_port" "  keepalive_requests 100000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$proxy_backend_port reuseport backlog=4096;
    location / { return 200 \"Hello, World!\"; }
  }
  server {
    listen 127.0.0.1:$proxy_status_port;
    location = /status { stub_status; }
  }" 1
  proxy_backend_pid=$started_pid
  wait_listening nginx-backend-status "$proxy_status_port"
  for name in "${proxy_names[@]}"; do
    port=$(free_port)
    if [[ "$name" == nginx ]]; then
      proxy_start_nginx nginx-proxy "$port" "  keepalive_requests 100000000;
  upstream backend {
    server 127.0.0.1:$proxy_backend_port;
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$port reuseport backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }" 0
    else
      proxy_rs_admin_port=$(free_port)
      proxy_rs_flags "127.0.0.1:$proxy_backend_port" "$proxy_rs_admin_port"
      taskset -c 0 "$rs_bin" --listen "127.0.0.1:$port" "${proxy_rs_args[@]}" 2>>"$work/rs-proxy.log" &
      started_pid=$!
      pids+=("$started_pid")
      wait_listening ringshard-proxy "$port" "$started_pid" "$work/rs-proxy.log"
      printf '%s\n' "${proxy_rs_args[*]}" >"$work/rs-proxy-flags.txt"
    fi
    proxy_pid[$name]=$started_pid proxy_url[$name]="http://127.0.0.1:$port$proxy_path"
    if proxy_probe "$name" "${proxy_url[$name]}"; then
      keep+=("$name")
    else
      [[ "$name" == ringshard ]] && { echo "compare.sh: its log ends:" >&2; tail -5 "$work/rs-proxy.log" >&2; }
      proxy_skipped+=("$name: the probe GET $proxy_path through it failed (the run's log says why)")
      stop_server "$started_pid"
    fi
  done
  proxy_names=("${keep[@]}")
  [[ -z "$ring_mode" ]] && ring_mode=$(grep -o 'io_uring [a-z+-]*' "$work/rs-proxy.log" 2>/dev/null | head -1 || true)

  if (( ${#proxy_names[@]} )); then
    echo "compare.sh: proxy: ${proxy_names[*]} in front of one nginx, keep-alive x $rounds rounds and at a" \
         "same offered rate, ${duration}s each (after a $proxy_warmup warm-up)" >&2
    for round in $(seq "$rounds"); do
      for name in "${proxy_names[@]}"; do proxy_measure "$name" proxy-keepalive "$round"; done
    done
    # Half of nginx-proxy's median keep-alive throughput (ringshard's without it).
    rate=$(awk -F'\t' '$2 == "proxy-keepalive" { v[$1] = v[$1] " " $6 }
      END { s = ("nginx" in v) ? v["nginx"] : v["ringshard"]; n = split(s, a, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            m = n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0; printf "%d", m / 2 }' "$work/proxy.tsv")
    if (( rate > 0 )); then
      for name in "${proxy_names[@]}"; do proxy_measure "$name" proxy-same-rate 1 "$rate"; done
    fi
    if [[ " ${proxy_names[*]} " == *" ringshard "* && "$rs_help" == *--admin-listen* ]]; then
      # Its own upstream counters, for reading beside the backend's count.
      python3 - "$proxy_rs_admin_port" >"$work/rs-proxy-metrics.txt" <<'EOF' || true
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5) as r:
    lines = r.read().decode(errors="replace").splitlines()
keep = [l for l in lines if l and not l.startswith("#") and ("upstream" in l or "proxy" in l)]
print("\n".join(keep[:200]))
EOF
    fi
  fi
  for name in "${proxy_names[@]}"; do stop_server "${proxy_pid[$name]}"; done
  stop_server "$proxy_backend_pid"
}

proxy_report() {
  rm -f "$work/proxy.json" "$work/proxy-table.txt"
  [[ -s "$work/proxy.tsv" || ${#proxy_skipped[@]} -gt 0 ]] || return 0
  PX_TSV="$work/proxy.tsv" PX_JSON="$work/proxy.json" PX_TABLE="$work/proxy-table.txt" PX_HZ="$hz" \
  PX_SKIP="$(printf '%s\n' "${proxy_skipped[@]}")" PX_FLAGS="$work/rs-proxy-flags.txt" PX_METRICS="$work/rs-proxy-metrics.txt" \
  PX_WARMUP="$proxy_warmup" PX_PATH="$proxy_path" PX_WORK="$work" python3 - <<'EOF'
import json, os

env = os.environ
hz = int(env["PX_HZ"])
SHARDS = 1  # the ringshard proxy runs --shards 1; nginx one worker

def median(vals):
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2

runs = []
for line in open(env["PX_TSV"]):
    if not line.strip():
        continue
    (name, row, rnd, reqs, secs, rps, p50, p99, ticks, errs,
     rate, bticks, breqs, opened, warm) = line.rstrip("\n").split("\t")
    reqs, opened, breqs = int(reqs), int(opened), int(breqs)
    p50, p99 = float(p50), float(p99)
    r = {"proxy": name, "row": row, "round": int(rnd), "requests": reqs, "duration_s": float(secs),
         "rps": float(rps), "p50_us": p50 or None, "p99_us": p99 if p99 >= p50 and p99 > 0 else None,
         "cpu_s": int(ticks) / hz, "cpu_us_per_req": int(ticks) * 1e6 / hz / reqs if reqs else None,
         "errors": int(errs),
         "backend_cpu_us_per_req": int(bticks) * 1e6 / hz / reqs if reqs else None,
         "backend_requests": breqs if breqs >= 0 else None,
         "upstream_conns_opened": opened if opened >= 0 else None,
         "upstream_conns_per_10k_req": round(opened * 1e4 / reqs, 3) if reqs and opened >= 0 else None,
         "warmup_upstream_conns_opened": int(warm) if int(warm) >= 0 else None}
    if int(rate):
        r["offered_rps"] = int(rate)
    runs.append(r)

summary = {}
for name in dict.fromkeys(r["proxy"] for r in runs):
    for row in ("proxy-keepalive", "proxy-same-rate"):
        rs = [r for r in runs if r["proxy"] == name and r["row"] == row]
        if not rs:
            continue
        reqs = sum(r["requests"] for r in rs)
        counted = all(r["upstream_conns_opened"] is not None for r in rs)
        opened = sum(r["upstream_conns_opened"] for r in rs) if counted else None
        breqs = sum(r["backend_requests"] for r in rs) if all(r["backend_requests"] is not None for r in rs) else None
        c = median(r["cpu_us_per_req"] for r in rs)
        s = {"runs": len(rs), "requests": reqs, "rps": median(r["rps"] for r in rs),
             "p50_us": median(r["p50_us"] for r in rs), "p99_us": median(r["p99_us"] for r in rs),
             "cpu_us_per_req": round(c, 3) if c else None,
             "backend_cpu_us_per_req": median(r["backend_cpu_us_per_req"] for r in rs),
             "errors": sum(r["errors"] for r in rs),
             "upstream_conns_opened": opened,
             "upstream_conns_per_10k_req": round(opened * 1e4 / reqs, 3) if reqs and opened is not None else None,
             "upstream_reuse": round(1 - opened / reqs, 6) if reqs and opened is not None else None,
             "forwarded": round(breqs / reqs, 4) if reqs and breqs is not None else None,
             "warmup_upstream_conns_opened": sum(r["warmup_upstream_conns_opened"] or 0 for r in rs)}
        if row == "proxy-same-rate":
            s["offered_rps"] = rs[0].get("offered_rps")
        summary.setdefault(name, {})[row] = s

def ratio(a, b):
    return round(a / b, 3) if a and b else None
def get(name, row, key):
    return summary.get(name, {}).get(row, {}).get(key)
for name, rows in summary.items():
    for row, s in rows.items():
        s["vs_nginx"] = ratio(s["cpu_us_per_req"], get("nginx", row, "cpu_us_per_req")) if name != "nginx" else None
        s["p99_vs_nginx"] = ratio(s["p99_us"], get("nginx", row, "p99_us")) if name != "nginx" else None
        s["rps_vs_nginx"] = ratio(s["rps"], get("nginx", row, "rps")) if name != "nginx" else None

per10k = {n: (lambda v: round(v / SHARDS, 3) if v is not None else None)(get(n, "proxy-keepalive", "upstream_conns_per_10k_req"))
          for n in summary}
flags = open(env["PX_FLAGS"]).read().strip().replace(env["PX_WORK"], "$WORK") if os.path.exists(env["PX_FLAGS"]) else None
metrics = None
if os.path.exists(env["PX_METRICS"]) and os.path.getsize(env["PX_METRICS"]) > 0:
    metrics = [l for l in open(env["PX_METRICS"]).read().splitlines() if l]
rounds = max((r["round"] for r in runs if r["row"] == "proxy-keepalive"), default=0)
section = {
    "method": {"proxy_cpu": 0, "backend_cpu": 1, "load_cpu": 1, "connections": 64, "path": env["PX_PATH"],
               "generator": "ringshard-load --mode keepalive", "rounds": rounds, "warmup": env["PX_WARMUP"],
               "statistic": "median over the rounds; upstream connections summed over them",
               "cpu_per_request": "utime+stime of the proxy's processes (/proc/PID/stat) over the run / requests",
               "upstream_connections": "backend nginx stub_status accepts after - before each run, less the status request",
               "forwarded": "backend stub_status requests over the run / responses the generator counted",
               "backend": "nginx, 1 worker, return 200 \"Hello, World!\", keepalive_requests 100000000, keepalive_timeout 75s",
               "nginx_proxy": "nginx, 1 worker, upstream keepalive 64 (keepalive_requests 100000000, keepalive_timeout 60s), "
                              "proxy_http_version 1.1, proxy_set_header Connection \"\"",
               "ringshard_flags": flags, "shards": SHARDS},
    "runs": runs,
    "summary": summary,
    "skipped": [l for l in env.get("PX_SKIP", "").splitlines() if l],
    "ringshard_metrics": metrics,
    "targets": {"cpu_vs_nginx": {"target": 0.5, "value": get("ringshard", "proxy-keepalive", "vs_nginx")},
                "upstream_conns_per_10k_req_per_shard": {"target": 2, "value": per10k},
                "upstream_reuse": {"target": 0.9998, "value": {n: get(n, "proxy-keepalive", "upstream_reuse") for n in summary}},
                "p99_vs_nginx_same_rate": {"target": None, "value": get("ringshard", "proxy-same-rate", "p99_vs_nginx")}},
}
with open(env["PX_JSON"], "w") as f:
    json.dump(section, f)

def us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f}ms" if v >= 1000 else f"{v:.0f}us"
def k(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
def x(v):
    return "-" if v is None else f"{v:.3g}x"
def num(v, fmt):
    return "-" if v is None else format(v, fmt)

out = [f"\nreverse proxy (proxy on CPU 0; one nginx backend on CPU 1, beside ringshard-load; 64 connections, "
       f"GET {env['PX_PATH']}; median of {rounds} round{'s' if rounds != 1 else ''}):"]
if summary:
    out.append(f"{'row':<16} {'proxy':<10} {'req/s':>8} {'p50':>8} {'p99':>8} {'CPU/req':>9} {'vs nginx':>9} "
               f"{'up-conns':>8} {'per 10k':>8} {'fwd':>5} {'errors':>7}")
    for row in ("proxy-keepalive", "proxy-same-rate"):
        for name in sorted(summary, key=lambda n: n != "nginx"):
            s = summary[name].get(row)
            if not s:
                continue
            c = s["cpu_us_per_req"]
            label = row if row == "proxy-keepalive" else f"same-rate {k(s['offered_rps'] or 0)}"
            out.append(f"{label:<16} {name:<10} {k(s['rps'] or 0):>8} {us(s['p50_us']):>8} {us(s['p99_us']):>8} "
                       f"{('-' if c is None else f'{c:.2f}us'):>9} {x(s['vs_nginx']):>9} "
                       f"{num(s['upstream_conns_opened'], 'd'):>8} {num(s['upstream_conns_per_10k_req'], '.2f'):>8} "
                       f"{num(s['forwarded'], '.2f'):>5} {s['errors']:>7}")
    t = section["targets"]
    for name in summary:
        line = f"  {name}: upstream connections opened {num(per10k.get(name), '.2f')} per 10,000 requests per shard " \
               f"(target <= 2), reuse {num((t['upstream_reuse']['value'].get(name) or 0) * 100, '.3f')}%"
        if name == "ringshard":
            line += (f"; CPU/req {x(t['cpu_vs_nginx']['value'])} of nginx's (target <= 0.5x), "
                     f"p99 at the same rate {x(t['p99_vs_nginx_same_rate']['value'])} of nginx's")
        out.append(line)
for why in section["skipped"]:
    out.append(f"  skipped: {why}")
with open(env["PX_TABLE"], "w") as f:
    f.write("\n".join(out) + "\n")
EOF
}
