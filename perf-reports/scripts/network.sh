#!/usr/bin/env bash
# The figures of perf-reports/network.md on whatever machine runs it: a finality league as
# separate `iosv node` processes over authenticated TCP with durable stores, beside the same
# league in one process on in-memory channels and the processes without waiting for the disk,
# alternated run by run; then the process network under emulated delay, jitter, loss and drops.
# Usage:
#   perf-reports/scripts/network.sh [OUT_DIR]     (RUNS, NODES, HEIGHTS, IOSV by environment)
# Writes OUT_DIR/network.jsonl (one JSON object per run, with its label) and each process
# network's node logs under OUT_DIR/<label>-<run>/, and prints a summary.
set -euo pipefail
B="${IOSV:-target/release/iosv}"
OUT="${1:-network-out}"
RUNS="${RUNS:-3}"
NODES="${NODES:-4 7}"
HEIGHTS="${HEIGHTS:-300}"
PORT="${PORT:-7700}"
mkdir -p "$OUT"
J="$OUT/network.jsonl"
: > "$J"

record() { # label, then the command's JSON on stdin
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["label"]=sys.argv[1]; print(json.dumps(d))' "$1" >> "$J"
}

for n in $NODES; do
  for r in $(seq "$RUNS"); do
    "$B" net up --in-process --nodes "$n" --heights "$HEIGHTS" --dir "$OUT/unused" | record "in-process-$n"
    rm -rf "$OUT/processes-$n-$r"
    "$B" net up --nodes "$n" --heights "$HEIGHTS" --dir "$OUT/processes-$n-$r" --base-port "$PORT" \
      | record "processes-$n"
    # The same without waiting for the disk: what durability costs (unsafe outside measurement).
    rm -rf "$OUT/nofsync-$n-$r"
    "$B" net up --nodes "$n" --heights "$HEIGHTS" --dir "$OUT/nofsync-$n-$r" --base-port "$PORT" \
      --unsafe-no-fsync | record "nofsync-$n"
  done
done

# The process network under emulated link faults (4 nodes; fewer heights: each costs more).
faulty() { # label, heights, flags...
  local label="$1" heights="$2"; shift 2
  for r in $(seq "$RUNS"); do
    rm -rf "$OUT/$label-$r"
    "$B" net up --nodes 4 --heights "$heights" --dir "$OUT/$label-$r" --base-port "$PORT" \
      --seconds 300 "$@" | record "$label"
  done
}
faulty delay5-jitter2 100 --delay-ms 5 --jitter-ms 2
faulty delay50 30 --delay-ms 50
faulty loss5-jitter100 30 --loss 0.05 --jitter-ms 100
faulty drop1 100 --drop 0.01
faulty kill-restart 300 --kill-restart 1@1000+300

python3 - "$J" "$OUT" <<'EOF'
import json, sys, glob, os, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
labels = []
for r in rows:
    if r["label"] not in labels:
        labels.append(r["label"])
print(f"{'run':22} {'heights/s median (min-max)':>30} {'ok':>4}")
for label in labels:
    rs = [r for r in rows if r["label"] == label]
    hs = [r["heights_per_s"] for r in rs]
    ok = all(r["check"]["disagreements"] == [] and r["check"].get("uncertified", []) == [] for r in rs)
    print(f"{label:22} {st.median(hs):12.1f} ({min(hs):.1f}-{max(hs):.1f}) {str(ok):>8}")
# CPU per finalized height of each node process, from the nodes' stopped lines.
print("\nCPU per finalized height per node process (ms):")
for label in labels:
    per = []
    for d in sorted(glob.glob(os.path.join(out, f"{label}-*"))):
        for log in glob.glob(os.path.join(d, "node-*.log")):
            for line in open(log):
                e = json.loads(line)
                if e.get("event") == "stopped" and e.get("heights"):
                    per.append(1000 * e["cpu_s"] / e["heights"])
    if per:
        print(f"{label:22} median {st.median(per):.2f} (min {min(per):.2f}, max {max(per):.2f}) over {len(per)} processes")
EOF
