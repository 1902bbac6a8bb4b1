#!/usr/bin/env bash
# The pipeline's scaling figures of perf-reports/scaling.md, on whatever machine runs it: one
# `iosv bench pipeline --threads` sweep over 1, 2, 4, … up to the machine's cores (the process
# held to each count in turn, every stage sized for it, the counts interleaved run by run), then
# one unpinned million-transaction run per backend asked for. Usage:
#   perf-reports/scripts/scaling.sh [OUT_DIR]
#   TX=1000000 BACKENDS="cpu gpu" perf-reports/scripts/scaling.sh out/   (a 16-core GPU host)
# The sweep uses the bench plan: 5 runs per count, 100,000 transactions (TX <= 100000) or 1,000,000.
# Writes OUT_DIR/sweep.json (the bench report, scaling section included), OUT_DIR/summary.md and
# OUT_DIR/pipeline-<backend>.json, and prints the scaling table.
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
find "$OUT" -name summary.md -exec cat {} \; | sed -n '/## Pipeline/,$p'
