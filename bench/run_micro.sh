#!/usr/bin/env bash
# Runs the micro benchmarks (every bench/*_bench.cc, one binary).
# Usage: bench/run_micro.sh [BUILD_DIR] [extra Google Benchmark flags...]
#   bench/run_micro.sh build --benchmark_filter=Timer
# Numbers from a machine that is doing other work are noise: compare runs
# made on the same machine, back to back.
set -euo pipefail

build="${1:-build}"
shift || true
bin="$build/bench/ringshard_micro_bench"
if [[ ! -x "$bin" ]]; then
  echo "run_micro: $bin not found; build with -DRINGSHARD_BENCH=ON first" >&2
  exit 1
fi
exec "$bin" --benchmark_min_time=0.2 "$@"
