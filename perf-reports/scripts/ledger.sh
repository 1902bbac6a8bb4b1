#!/usr/bin/env bash
# The ledger-network figures of perf-reports/network.md on whatever machine runs it: Atomix
# shards and client gateways as separate `iosv node` processes over authenticated TCP with
# durable stores, under an open-loop signed load at several offered rates, beside the same shards
# and gateways in one process on in-memory channels, alternated run by run; then the process
# network at one rate under emulated delay and jitter, loss with jitter, and a shard's SIGKILL.
# Usage:
#   perf-reports/scripts/ledger.sh [OUT_DIR]   (RUNS, RATES, FAULT_RATE, SHARDS, GATEWAYS,
#                                               LOAD_SECONDS, IOSV by environment)
# Writes OUT_DIR/ledger.jsonl (one JSON object per run, with its label) and each process
# network's node logs under OUT_DIR/<label>-<run>/, and prints a summary.
set -euo pipefail
B="${IOSV:-target/release/iosv}"
OUT="${1:-ledger-out}"
RUNS="${RUNS:-3}"
RATES="${RATES:-250 500 1000 2000}"
FAULT_RATE="${FAULT_RATE:-500}"
SHARDS="${SHARDS:-2}"
GATEWAYS="${GATEWAYS:-2}"
LOAD_SECONDS="${LOAD_SECONDS:-5}"
PORT="${PORT:-7800}"
mkdir -p "$OUT"
J="$OUT/ledger.jsonl"
: > "$J"

record() { # label, then the command's JSON on stdin
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["label"]=sys.argv[1]; print(json.dumps(d))' "$1" >> "$J"
}
shape=(--shards "$SHARDS" --gateways "$GATEWAYS" --load-seconds "$LOAD_SECONDS" --seconds 300)

# A run that fails its checks or does not drain still goes into the record (exit status ignored):
# the summary shows it.
for rate in $RATES; do
  for r in $(seq "$RUNS"); do
    "$B" net load --in-process "${shape[@]}" --rate "$rate" --dir "$OUT/unused" \
      | record "in-process-$rate" || true
    rm -rf "$OUT/processes-$rate-$r"
    "$B" net load "${shape[@]}" --rate "$rate" --dir "$OUT/processes-$rate-$r" --base-port "$PORT" \
      | record "processes-$rate" || true
  done
done

faulty() { # label, flags...
  local label="$1"; shift
  for r in $(seq "$RUNS"); do
    rm -rf "$OUT/$label-$r"
    "$B" net load "${shape[@]}" --rate "$FAULT_RATE" --dir "$OUT/$label-$r" --base-port "$PORT" \
      "$@" | record "$label" || true
  done
}
faulty "delay5-jitter2-$FAULT_RATE" --delay-ms 5 --jitter-ms 2
faulty "loss5-jitter100-$FAULT_RATE" --loss 0.05 --jitter-ms 100
faulty "kill-shard-$FAULT_RATE" --kill-restart 0@2000+500

python3 - "$J" <<'EOF'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
labels = []
for r in rows:
    if r["label"] not in labels:
        labels.append(r["label"])
def med(xs):
    return f"{st.median(xs):8.1f} ({min(xs):.1f}-{max(xs):.1f})"
print(f"{'run':26} {'settled tx/s median (min-max)':>30} {'p50 ms':>24} {'p99 ms':>26} {'CPU us/tx':>10} {'ok':>3}")
for label in labels:
    rs = [r for r in rows if r["label"] == label]
    f = [r["figures"] for r in rs]
    cpu = [r["cpu_us_per_tx"] if "cpu_us_per_tx" in r else r["shard_cpu_us_per_tx"] + r["gateway_cpu_us_per_tx"] for r in rs]
    ok = all(r["drained"] and r["figures"]["forged_committed"] == 0 and r.get("check", {}).get("violations", []) == [] for r in rs)
    print(f"{label:26} {med([x['settled_tx_per_s'] for x in f]):>30} {med([x['latency']['p50_ms'] for x in f]):>24} "
          f"{med([x['latency']['p99_ms'] for x in f]):>26} {st.median(cpu):10.0f} {str(ok):>3}")
EOF
