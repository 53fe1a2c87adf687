#!/usr/bin/env bash
# Runs the HTTP ingest benchmark: a real daemon on a temporary data directory on 127.0.0.1, and
# http_load against it for each cell of clients x batch. Prints one table; docs/performance.md
# records what it printed.
#
# Usage: bench/run_http.sh [--gen PATH] [--events N] [--duration S] [--warmup S]
#                          [--clients "1 8 64"] [--batches "1 100"] [--fresh]
#                          [--synchronous full|normal] [--keep-json FILE]
#   --gen         gen_eb.py, or the folder holding it (default: ../shared/bench beside the repo)
#   --events      events in the generated file (default 100000); cached under bench/data/
#   --fresh       a new daemon and database for every cell, instead of one for the whole matrix
#   --synchronous the store's setting (default full, the daemon's default; normal for reference)
#   --keep-json   where to keep http_load's JSON lines (default: dropped with the temp directory)
#
# The daemon runs with its defaults (synchronous=FULL, 2 HTTP threads) and --log-level warn. It
# is stopped with SIGTERM on every exit, and the temporary directory removed. Before the matrix,
# the script times fdatasync on the temporary directory's disk, since every commit waits for one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gen="$repo/../shared/bench/gen_eb.py"
n_events=100000
duration=10
warmup=1
clients_list="1 8 64"
batches_list="1 100"
fresh=0
synchronous=full
keep_json=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --gen) gen=$2; shift 2 ;;
    --events) n_events=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --clients) clients_list=$2; shift 2 ;;
    --batches) batches_list=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --synchronous) synchronous=$2; shift 2 ;;
    --keep-json) keep_json=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run_http.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ "$synchronous" != full && "$synchronous" != normal ]]; then
  echo "run_http.sh: --synchronous is full or normal" >&2
  exit 2
fi
[[ -d "$gen" ]] && gen="$gen/gen_eb.py"
if [[ ! -f "$gen" ]]; then
  echo "run_http.sh: no generator at $gen; pass --gen PATH/TO/gen_eb.py" >&2
  exit 2
fi

# The data: generated once per size with the generator's fixed seed, then reused.
data="$repo/bench/data/eb-$n_events.ndjson"
if [[ ! -s "$data" ]]; then
  mkdir -p "$repo/bench/data"
  python3 "$gen" "$n_events" "$data.tmp"
  mv "$data.tmp" "$data"
fi

# The binaries: a Release tree of its own, configured once; ninja does nothing when up to date.
build="$repo/build-bench"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMEOSTAT_TESTS=OFF \
    -DHOMEOSTAT_BENCH=ON >/dev/null
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
  echo "run_http.sh: $build is not a Release tree; remove it or fix its build type" >&2
  exit 2
fi
ninja -C "$build" -j2 homeostat http_load >/dev/null

# Everything the run makes lives here and goes when the script ends, however it ends.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/homeostat-bench.XXXXXX")
daemon_pid=""
stop_daemon() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || true
  fi
  daemon_pid=""
}
cleanup() {
  stop_daemon
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The daemon must see none of the caller's HOMEOSTAT_* settings (an admin token from the
# environment would leave no admin.token file, a config could move the listen address).
start_daemon() {
  local dir="$tmp/data.$1" unset_env=() name
  while read -r name; do
    unset_env+=(-u "$name")
  done < <(compgen -e | grep '^HOMEOSTAT_' || true)
  env "${unset_env[@]}" HOMEOSTAT_STORE_SYNCHRONOUS="$synchronous" "$build/homeostat" serve \
    --data "$dir" --listen 127.0.0.1:0 --config /nonexistent --log-level warn \
    >>"$tmp/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do
    [[ -s "$dir/homeostat.addr" && -s "$dir/admin.token" ]] && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
  if [[ ! -s "$dir/homeostat.addr" ]]; then
    echo "run_http.sh: the daemon did not start within 10 s; its log:" >&2
    cat "$tmp/daemon.log" >&2
    exit 1
  fi
  url=$(head -n 1 "$dir/homeostat.addr")
  token_file="$dir/admin.token"
  # Never load anything but this machine's loopback.
  if [[ ! "$url" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]; then
    echo "run_http.sh: the daemon serves $url, not 127.0.0.1; stopping" >&2
    exit 1
  fi
}

# What the run ran on: the commit, the machine, and how long this disk takes to flush.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  commit="$commit (with uncommitted changes)"
fi
echo "commit $commit; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "synchronous=$synchronous; ${duration}s per cell after ${warmup}s warm-up; events: $data"
python3 - "$tmp/fsync.probe" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
times = []
for _ in range(200):
    os.write(fd, b"x" * 16384)
    start = time.perf_counter()
    os.fdatasync(fd)
    times.append((time.perf_counter() - start) * 1e3)
os.close(fd)
os.unlink(sys.argv[1])
times.sort()
print("fdatasync of a 16 KiB append: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (times[100], times[197], times[-1]))
EOF

results="$tmp/results.jsonl"
cell=0
if [[ $fresh -eq 0 ]]; then
  start_daemon 0
fi
for batch in $batches_list; do
  for clients in $clients_list; do
    cell=$((cell + 1))
    if [[ $fresh -eq 1 ]]; then
      start_daemon "$cell"
    fi
    # A cell with failures still prints its figures (failures counted); no figures is fatal.
    line=$("$build/http_load" --url "$url" --token-file "$token_file" --events "$data" \
      --clients "$clients" --batch "$batch" --duration "$duration" --warmup "$warmup" \
      --server-pid "$daemon_pid" --json) || true
    if [[ -z "$line" ]]; then
      echo "run_http.sh: http_load gave no figures for clients=$clients batch=$batch" >&2
      exit 1
    fi
    echo "$line" >>"$results"
    if [[ $fresh -eq 1 ]]; then
      stop_daemon
    fi
  done
done
stop_daemon
if [[ -n "$keep_json" ]]; then
  cp "$results" "$keep_json"
fi

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
head = ("clients", "batch", "requests", "events", "failures", "events/s", "p50 ms", "p99 ms",
        "max ms", "daemon cores", "client cores")
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---:" for _ in head) + "|")
for r in rows:
    cells = (r["clients"], r["batch"], r["requests"], r["events"], r["failures"],
             f'{r["events_per_s"]:,.0f}', f'{r["p50_ms"]:.2f}', f'{r["p99_ms"]:.2f}',
             f'{r["max_ms"]:.2f}', f'{r["server_cores"]:.2f}', f'{r["client_cores"]:.2f}')
    print("| " + " | ".join(str(c) for c in cells) + " |")
EOF
