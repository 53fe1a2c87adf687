#!/usr/bin/env bash
# Runs the execution engine benchmarks and prints their figures; docs/performance.md records
# what it printed.
#
# Usage: bench/run_engine.sh [--runs N] [--executions N] [--quick]
#   --runs        runs of each measurement; the best and the median are printed (default 3)
#   --executions  executions per throughput run (default 500)
#   --quick       one short run of each, as a smoke test
#
# Measurements (engine_bench, Release build in build-bench/):
#   1. durable throughput: the 10-state machine with a Map over 100 items (3 states per item,
#      about 310 state transitions per execution), 32 executions in flight, on SQLite with
#      synchronous=FULL, 2 engine workers;
#   2. the same on the memory store, which is what `homeostat asl run` uses;
#   3. execution start latency on SQLite, one start at a time, until ExecutionStarted is durable;
#   4. `homeostat asl run` of the same machine as a whole process, for the wall time a user sees.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
executions=500
starts=2000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --executions) executions=$2; shift 2 ;;
    --quick) runs=1; executions=100; starts=300; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run_engine.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

build="$repo/build-bench"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMEOSTAT_TESTS=OFF \
    -DHOMEOSTAT_BENCH=ON >/dev/null
fi
ninja -C "$build" -j2 engine_bench homeostat >/dev/null
bench="$build/engine_bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints "best median" of the numbers on stdin; `high` says which end is best.
summary() {
  sort -g | awk -v high="$1" '{v[NR]=$1} END {
    best = high ? v[NR] : v[1]; printf "best %s, median %s\n", best, v[int((NR+1)/2)] }'
}
field() { grep -o "$1=[0-9.]*" | cut -d= -f2; }

for store in sqlite memory; do
  : >"$work/$store"
  for _ in $(seq "$runs"); do
    "$bench" throughput --store "$store" --dir "$work/db" --executions "$executions" \
      --in-flight 32 | tee -a "$work/$store"
  done
  echo "== $store: transitions/s $(field 'transitions/s' <"$work/$store" | summary 1);" \
    "executions/s $(field 'executions/s' <"$work/$store" | summary 1)"
done

: >"$work/latency"
for _ in $(seq "$runs"); do
  "$bench" latency --store sqlite --dir "$work/db" --starts "$starts" | tee -a "$work/latency"
done
echo "== start latency on SQLite: p50 $(field p50 <"$work/latency" | summary 0) ms;" \
  "p99 $(field p99 <"$work/latency" | summary 0) ms"

"$bench" machine >"$work/bench.asl.json"
python3 -c 'import json; print(json.dumps({"host": "db-1", "items": list(range(100))}))' \
  >"$work/input.json"
start=$(date +%s.%N)
"$build/homeostat" asl run "$work/bench.asl.json" --input "@$work/input.json" >/dev/null
end=$(date +%s.%N)
echo "== homeostat asl run, one execution of the same machine as a process:" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }')"
