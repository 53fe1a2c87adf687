#!/usr/bin/env bash
# Runs the pattern-matching benchmark: `homeostat pattern match --stats` as a whole process for
# each cell of data set x rule count, then matcher_bench on the gen_eb.py events. Prints two
# tables; docs/performance.md records what it printed.
#
# Usage: bench/run_patterns.sh [--gen DIR] [--events N] [--runs N] [--quick]
#   --gen     the folder holding gen_eb.py, gen_citylots.py and gen_patterns.py
#             (default: ../shared/bench beside the repo)
#   --events  events in each data set (default 100000); generated once, cached in bench/data/
#   --runs    runs of each cell; events/s is given as the best and the median (default 3)
#   --quick   a smoke run: 10,000 events, 1 to 1,000 rules, one run, short benchmarks
#
# The data sets are gen_eb.py's EventBridge events and gen_citylots.py's GeoJSON features
# (number-heavy, and with none of the keys the rules name), one per line. The rule sets are
# `gen_patterns.py N mixed` for N of 1, 100, 10,000 and 100,000. The runs of a cell are spread
# over the whole matrix (run 1 of every cell, then run 2 ...) so that a busy minute on this
# shared machine does not land on one cell only. Max RSS is the process's peak resident memory,
# from /usr/bin/time -v, or from the rusage wait4 returns when /usr/bin/time is not installed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gen="$repo/../shared/bench"
n_events=""
runs=""
quick=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --gen) gen=$2; shift 2 ;;
    --events) n_events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run_patterns.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ $quick -eq 1 ]]; then
  n_events=${n_events:-10000}
  runs=${runs:-1}
  rules_list="1 100 1000"
  min_time=0.05
else
  n_events=${n_events:-100000}
  runs=${runs:-3}
  rules_list="1 100 10000 100000"
  min_time=0.5
fi
[[ -f "$gen" ]] && gen=$(dirname "$gen")
for script in gen_eb.py gen_citylots.py gen_patterns.py; do
  if [[ ! -f "$gen/$script" ]]; then
    echo "run_patterns.sh: no $script in $gen; pass --gen DIR" >&2
    exit 2
  fi
done

# The data: generated once per size with the generators' fixed seeds, then reused. The eb file
# is the one run_http.sh makes.
data_dir="$repo/bench/data"
mkdir -p "$data_dir"
eb="$data_dir/eb-$n_events.ndjson"
if [[ ! -s "$eb" ]]; then
  python3 "$gen/gen_eb.py" "$n_events" "$eb.tmp" >&2
  mv "$eb.tmp" "$eb"
fi
citylots="$data_dir/citylots-$n_events.ndjson"
if [[ ! -s "$citylots" ]]; then
  python3 "$gen/gen_citylots.py" "$n_events" "$citylots.gz.tmp" >&2
  gzip -dc "$citylots.gz.tmp" >"$citylots.tmp"
  rm "$citylots.gz.tmp"
  mv "$citylots.tmp" "$citylots"
fi
for rules in $rules_list; do
  file="$data_dir/patterns-mixed-$rules.jsonl"
  if [[ ! -s "$file" ]]; then
    python3 "$gen/gen_patterns.py" "$rules" mixed >"$file.tmp"
    mv "$file.tmp" "$file"
  fi
done
most_rules=${rules_list##* }

# The binaries: a Release tree of its own, configured once; ninja does nothing when up to date.
build="$repo/build-bench"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMEOSTAT_TESTS=OFF \
    -DHOMEOSTAT_BENCH=ON >/dev/null
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
  echo "run_patterns.sh: $build is not a Release tree; remove it or fix its build type" >&2
  exit 2
fi
if ! log=$(ninja -C "$build" -j2 homeostat matcher_bench 2>&1); then
  echo "$log" >&2
  echo "run_patterns.sh: the build in $build failed" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/homeostat-patterns.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Runs a command with its peak resident memory written to $1 in /usr/bin/time -v's words.
if [[ -x /usr/bin/time ]]; then
  timed() { local out=$1; shift; /usr/bin/time -v -o "$out" "$@"; }
else
  timed() {
    python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"Maximum resident set size (kbytes): {usage.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
' "$@"
  }
fi

# What the run ran on.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  commit="$commit (with uncommitted changes)"
fi
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "commit $commit; $(nproc) cores ($cpu); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$n_events events per data set; rules: $rules_list (gen_patterns.py mixed); $runs run(s)" \
  "per cell"

# The process matrix. Each run keeps the --stats lines, the peak memory and the count of events
# that matched at least one rule (a non-empty output line).
for run in $(seq "$runs"); do
  for data in eb citylots; do
    events=$eb
    [[ $data == citylots ]] && events=$citylots
    for rules in $rules_list; do
      cell="$tmp/$data.$rules.$run"
      if ! timed "$cell.time" "$build/homeostat" pattern match --stats \
        --patterns "$data_dir/patterns-mixed-$rules.jsonl" --events "$events" \
        >"$cell.out" 2>"$cell.stats"; then
        cat "$cell.stats" >&2
        echo "run_patterns.sh: homeostat pattern match failed on $data x $rules rules" >&2
        exit 1
      fi
      grep -c . "$cell.out" >"$cell.matched" || true
      rm "$cell.out"
    done
  done
done
echo "load average after the process matrix $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$tmp" "$runs" "$rules_list" <<'EOF'
import re, statistics, sys
tmp, runs, rules_list = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()

def cell(data, rules, run):
    base = f"{tmp}/{data}.{rules}.{run}"
    stats = open(base + ".stats").read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(base + ".time").read())
    compiled = re.search(r"compiled: ([\d.]+) MiB \(estimated\), resident growth ([\d.]+) MiB, "
                         r"in ([\d.]+) s", stats)
    speed = re.search(r"events: (\d+) in [\d.]+ s: (\d+) events/s", stats)
    if not (rss and compiled and speed):
        sys.exit(f"run_patterns.sh: no figures for {data} x {rules} rules:\n{stats}")
    return {"compiled": float(compiled[1]), "growth": float(compiled[2]),
            "compile_s": float(compiled[3]), "events": int(speed[1]), "rate": int(speed[2]),
            "rss": int(rss[1]) / 1024, "matched": int(open(base + ".matched").read() or 0)}

head = ("data", "rules", "events/s best", "events/s median", "compiled MiB (est.)",
        "resident growth MiB", "compile s", "max RSS MiB", "events matched")
print("| " + " | ".join(head) + " |")
print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
for data, label in (("eb", "gen_eb"), ("citylots", "gen_citylots")):
    for rules in rules_list:
        cells = [cell(data, rules, run) for run in range(1, runs + 1)]
        med = lambda key: statistics.median(c[key] for c in cells)
        rates = [c["rate"] for c in cells]
        row = (label, f"{int(rules):,}", f"{max(rates):,}", f"{statistics.median(rates):,.0f}",
               f'{med("compiled"):.1f}', f'{med("growth"):.1f}', f'{med("compile_s"):.3f}',
               f'{med("rss"):.1f}', f'{100 * cells[0]["matched"] / cells[0]["events"]:.1f}%')
        print("| " + " | ".join(row) + " |")
EOF
echo

# The same matcher inside one process, beside simdjson parsing alone, on the eb events.
# Its console output is dropped; the table below is made from its JSON.
if ! "$build/matcher_bench" --events="$eb" \
  --patterns="$data_dir/patterns-mixed-$most_rules.jsonl" --rules="${rules_list// /,}" \
  --benchmark_min_time="$min_time" --benchmark_repetitions="$runs" \
  --benchmark_out="$tmp/bench.json" --benchmark_out_format=json >/dev/null 2>"$tmp/bench.err"; then
  cat "$tmp/bench.err" >&2
  exit 1
fi
echo "matcher_bench on the eb events; load average after it $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$tmp/bench.json" <<'EOF'
import json, statistics, sys
runs = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration":
        runs.setdefault(b["run_name"], []).append(b)
head = ("benchmark", "ns/event median", "events/s best", "events/s median", "states",
        "compiled MiB (est.)", "rules matched/event")
print("| " + " | ".join(head) + " |")
print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
for name, reps in runs.items():
    rates = [r["items_per_second"] for r in reps]
    first = reps[0]
    matcher = "states" in first
    row = (name, f'{statistics.median(r["cpu_time"] for r in reps):.0f}', f"{max(rates):,.0f}",
           f"{statistics.median(rates):,.0f}",
           f'{first["states"]:,.0f}' if matcher else "",
           f'{first["approximate_bytes"] / 2**20:.2f}' if matcher else "",
           f'{first["matches"]:.2f}' if matcher else "")
    print("| " + " | ".join(row) + " |")
EOF
