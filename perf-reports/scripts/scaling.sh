#!/usr/bin/env bash
# The pipeline's scaling figures of perf-reports/scaling.md, on whatever machine runs it: one
# `iosv bench pipeline --threads` sweep over 1, 2, 4, … up to the machine's cores (the process
# held to each count in turn, every stage sized for it, the counts interleaved run by run), then
# one unpinned million-transaction run per backend asked for. Usage:
#   perf-reports/scripts/scaling.sh [OUT_DIR]
#   TX=1000000 BACKENDS="cpu gpu" perf-reports/scripts/scaling.sh out/   (a 16-core GPU host)
# The sweep uses the bench plan: 5 runs per count, 100,000 transactions (TX <= 100000) or 1,000,000.
# Then the demo: `iosv bench harness --threads` over the same counts (the default 4-shard
# configuration at the plan's highest rate; the quick plan when TX <= 100000), and the 16-shard
# configuration of issue 17 (demo-16x10.json beside this script: 16 shards of 10 validators) at each
# rate of DEMO_RATES (default "440000 1000000") per backend. DEMO=0 leaves the demo out;
# DEMO_SWEEP=0 leaves out only the demo's core-count sweep (minutes per count at the full plan).
# For a device lease (10 minutes per command; not yet timed on a 16-core GPU host):
#   TX=1000000 BACKENDS="cpu gpu" DEMO_SWEEP=0 perf-reports/scripts/scaling.sh "$OUT"
# Writes OUT_DIR/sweep.json (the bench report, scaling section included), OUT_DIR/summary.md,
# OUT_DIR/pipeline-<backend>.json, OUT_DIR/harness-sweep.json, OUT_DIR/demo-<backend>-<rate>.json
# (the demo's report, one JSON object), and prints the scaling tables and one line per demo run.
set -euo pipefail
B="${IOSV:-target/release/iosv}"
OUT="${1:-scaling-out}"
TX="${TX:-1000000}"
BACKENDS="${BACKENDS:-cpu}"
mkdir -p "$OUT"
cores=$(nproc)
counts=""
n=1
while [ "$n" -lt "$cores" ]; do counts="$counts$n,"; n=$((n * 2)); done
counts="$counts$cores"
{
  echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $cores cores"
  echo "iosv: $("$B" --version 2>/dev/null || echo unknown)"
  "$B" info 2>/dev/null | head -20 || true
} > "$OUT/machine.txt"
echo "sweep over $counts cores" >&2
if [ "$TX" -le 100000 ]; then quick=(--quick); else quick=(); fi
"$B" bench pipeline "${quick[@]}" --threads "$counts" --json --out "$OUT" > "$OUT/sweep.json"
for backend in $BACKENDS; do
  echo "pipeline, backend $backend, all cores" >&2
  "$B" pipeline --tx "$TX" --backend "$backend" --json > "$OUT/pipeline-$backend.json" || true
done
if [ "${DEMO:-1}" != 0 ]; then
  here="$(cd "$(dirname "$0")" && pwd)"
  if [ "${DEMO_SWEEP:-1}" != 0 ]; then
    echo "demo sweep over $counts cores" >&2
    "$B" bench harness "${quick[@]}" --threads "$counts" --json --out "$OUT/harness" \
      > "$OUT/harness-sweep.json" || true
  fi
  for backend in $BACKENDS; do
    for rate in ${DEMO_RATES:-440000 1000000}; do
      echo "demo, 16 shards, backend $backend, offered $rate tx/s" >&2
      "$B" demo --config "$here/demo-16x10.json" --rate "$rate" --backend "$backend" --json \
        --out "$OUT/demo-$backend-$rate" > "$OUT/demo-$backend-$rate.log" 2>&1 || true
      tail -n 1 "$OUT/demo-$backend-$rate.log" > "$OUT/demo-$backend-$rate.json"
    done
  done
fi
find "$OUT" -name summary.md -exec cat {} \; | sed -n '/## Pipeline/,$p'
for f in "$OUT"/demo-*.json; do
  [ -e "$f" ] || continue
  python3 - "$f" <<'PY' || echo "$f: no report (see the .log beside it)"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[1]}: offered {r['offered_tps']:.0f}, finalized {r['final_tps']:.0f} tx/s, "
      f"p99 {r['final_p99_ms']:.0f} ms, invariants {'OK' if r['invariants_ok'] else 'VIOLATED'}; {r['bound']}")
PY
done
