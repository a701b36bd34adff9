#!/usr/bin/env bash
# A real Prometheus server scrapes ringshard's admin listener: the target
# must come up (up == 1) and a ringshard_ metric must be queryable through
# Prometheus's HTTP API. Proves the exposition is accepted by the scraper
# operators run, not only by promtool's linter.
#
# Usage: prometheus_scrape.sh RINGSHARD_BINARY
# Exit 0 pass, 1 fail (with both logs), 77 skip (no /usr/bin/prometheus or
# no curl).
set -u

binary=${1:?usage: prometheus_scrape.sh RINGSHARD_BINARY}
prometheus=/usr/bin/prometheus
[[ -x $prometheus ]] || { echo "SKIP: $prometheus missing (Debian package prometheus)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ringshard_prom.XXXXXX")
rs_pid=
prom_pid=
cleanup() {
  [[ -n $prom_pid ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  [[ -n $rs_pid ]] && kill "$rs_pid" 2>/dev/null && wait "$rs_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- ringshard log"; cat "$work/ringshard.log" 2>/dev/null
  echo "--- prometheus log"; tail -n 40 "$work/prometheus.log" 2>/dev/null
  exit 1
}

# Waits (up to $2 tenths of a second) until the file $1 has a line matching $3.
wait_for_line() {
  local file=$1 tenths=$2 pattern=$3 i
  for ((i = 0; i < tenths; i++)); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$rs_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

"$binary" --listen 127.0.0.1:0 --shards 2 --tls-listen off --admin-listen 127.0.0.1:0 --no-plugins \
  >/dev/null 2>"$work/ringshard.log" &
rs_pid=$!
wait_for_line "$work/ringshard.log" 100 "admin on " || fail "ringshard did not log its admin port"
admin_port=$(sed -n 's/.*admin on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/ringshard.log")
[[ -n $admin_port ]] || fail "no port in the admin line"

# A free port for Prometheus's web listener: bind port 0, read it back,
# release it. Another process could take it in between; Prometheus then
# fails to start and the test says so, rather than hang.
web_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
  || fail "could not find a free port"

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringshard
    static_configs:
      - targets: ["127.0.0.1:$admin_port"]
EOF

"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$web_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!

api="http://127.0.0.1:$web_port/api/v1/query"
query() { curl -s --max-time 2 --get "$api" --data-urlencode "query=$1"; }

# Polls the query API for up to 30 s: the target up, a ringshard_ sample
# with a value, and the requests counter that the scrapes themselves drive.
up_ok=0 info_ok=0
for ((i = 0; i < 300; i++)); do
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited"
  kill -0 "$rs_pid" 2>/dev/null || fail "ringshard exited"
  if [[ $up_ok == 0 ]] && query 'up{job="ringshard"}' | grep -q '"value":\[[0-9.]*,"1"\]'; then
    up_ok=1
  fi
  if [[ $up_ok == 1 ]] && query 'ringshard_build_info{job="ringshard"}' | grep -q '"value":\[[0-9.]*,"1"\]'; then
    info_ok=1
    break
  fi
  sleep 0.1
done
[[ $up_ok == 1 ]] || fail "up{job=\"ringshard\"} never became 1: $(query 'up')"
[[ $info_ok == 1 ]] || fail "ringshard_build_info never had a value: $(query 'ringshard_build_info')"

# Prometheus saw no sample it had to drop or reject.
targets=$(curl -s --max-time 2 "http://127.0.0.1:$web_port/api/v1/targets")
grep -q '"health":"up"' <<<"$targets" || fail "target not healthy: $targets"
grep -q '"lastError":""' <<<"$targets" || fail "scrape error: $targets"
shards=$(query 'ringshard_shards{job="ringshard"}')
grep -q '"value":\[[0-9.]*,"2"\]' <<<"$shards" || fail "ringshard_shards is not 2: $shards"

echo "PASS: prometheus scraped ringshard on 127.0.0.1:$admin_port (up == 1, ringshard_build_info == 1)"
