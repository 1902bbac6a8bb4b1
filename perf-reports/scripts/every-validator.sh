#!/usr/bin/env bash
# The shared-replica against every-validator figures of perf-reports/network.md, on whatever
# machine runs it. One configuration — 2 shards of 5 validators (a believable leader and 4
# normal-league members), 2 gateways, 10% cross-shard, 1% forged — run four ways at each offered
# rate, alternated run by run:
#   shared   one process per shard holding its whole roster's keys (iosv net load)
#   every    every validator its own process: leader + 4 co-signers that apply every entry of
#            the leader's journal themselves and co-sign with their own key (--every-validator)
#   every-in-process  the same nodes in one process on in-memory channels (--in-process)
#   demo     the in-process demo (iosv demo) with the same shards, leagues, mix and rate
# then, at FAULT_RATE, every-validator with a fraudulent leader in shard 0 (convicted, succeeded),
# both process models under emulated 5 ms delay and 2 ms jitter, and every-validator under 5% loss
# with 100 ms jitter, with the network cut in two halves for a second (nodes 0-5 from 6-11: shard
# 0's members {0, 4, 5} from {6, 7}, shard 1's leader from its co-signers), with shard 1's leader
# SIGKILLed and restarted, and with one of its co-signers (node 9) SIGKILLed and restarted.
# Usage:
#   perf-reports/scripts/every-validator.sh [OUT_DIR]   (RUNS, RATES, FAULT_RATE, LOAD_SECONDS,
#                                                        PORT, PARTS="rates faults", IOSV by
#                                                        environment)
# Writes OUT_DIR/every-validator.jsonl (one JSON object per run, with its label) and prints a
# summary: median (min-max) over the runs of settled (or, for the demo, finalized) tx/s, latency
# p50 and p99, and CPU microseconds per transaction of every process together.
set -euo pipefail
B="${IOSV:-target/release/iosv}"
OUT="${1:-every-validator-out}"
RUNS="${RUNS:-3}"
RATES="${RATES:-250 500 1000}"
FAULT_RATE="${FAULT_RATE:-500}"
LOAD_SECONDS="${LOAD_SECONDS:-5}"
PORT="${PORT:-7900}"
PARTS="${PARTS:-rates faults}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"
J="$OUT/every-validator.jsonl"
: > "$J"

record() { # label, then the command's JSON (its last line) on stdin
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); d["label"]=sys.argv[1]; print(json.dumps(d))' "$1" >> "$J"
}
shape=(--shards 2 --gateways 2 --members-per-shard 5 --cross-shard 0.1 --forged 0.01
       --load-seconds "$LOAD_SECONDS" --seconds 300)

# A run that fails its checks or does not drain still goes into the record (exit status
# ignored): the summary shows it.
net() { # label, rate, flags...
  local label="$1" rate="$2"; shift 2
  rm -rf "$OUT/run"
  "$B" net load "${shape[@]}" --rate "$rate" --dir "$OUT/run" --base-port "$PORT" "$@" \
    | record "$label" || true
}
for rate in $RATES; do
  [[ " $PARTS " == *" rates "* ]] || break
  for r in $(seq "$RUNS"); do
    net "shared-$rate" "$rate"
    net "every-$rate" "$rate" --every-validator
    net "every-in-process-$rate" "$rate" --every-validator --in-process
    "$B" demo --config "$HERE/demo-2x5.json" --rate "$rate" --duration "$LOAD_SECONDS" --json \
      --out "$OUT/demo" | record "demo-$rate" || true
  done
done
for r in $(seq "$RUNS"); do
  [[ " $PARTS " == *" faults "* ]] || break
  net "every-fraudulent-leader-$FAULT_RATE" "$FAULT_RATE" --every-validator --fraudulent-shard 0
  net "shared-delay5-jitter2-$FAULT_RATE" "$FAULT_RATE" --delay-ms 5 --jitter-ms 2
  net "every-delay5-jitter2-$FAULT_RATE" "$FAULT_RATE" --every-validator --delay-ms 5 --jitter-ms 2
  net "every-loss5-jitter100-$FAULT_RATE" "$FAULT_RATE" --every-validator --loss 0.05 --jitter-ms 100
  net "every-partition-$FAULT_RATE" "$FAULT_RATE" --every-validator --partition 1500+1000
  net "every-kill-leader-$FAULT_RATE" "$FAULT_RATE" --every-validator --kill-restart 1@2000+500
  net "every-kill-cosigner-$FAULT_RATE" "$FAULT_RATE" --every-validator --kill-restart 9@2000+500
done
rm -rf "$OUT/run"

python3 - "$J" <<'EOF'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
labels = []
for r in rows:
    if r["label"] not in labels:
        labels.append(r["label"])
def med(xs):
    return f"{st.median(xs):7.1f} ({min(xs):.1f}-{max(xs):.1f})"
def figures(r):
    if "final_tps" in r:  # the demo: finalized, CPU of the whole process
        n = max(r["finalized_total"], 1)
        return (r["final_tps"], r["final_latency"]["p50_ms"], r["final_latency"]["p99_ms"],
                r["process_cpu_s"] * 1e6 / n, r["invariants_ok"])
    f = r["figures"]
    if "cpu_us_per_tx" in r:  # in-process
        cpu = r["cpu_us_per_tx"]
        ok = r["drained"]
    else:
        cpu = r["shard_cpu_us_per_tx"] + r["gateway_cpu_us_per_tx"] + r.get("cosigner_cpu_us_per_tx", 0)
        ok = r["drained"] and r["check"]["violations"] == []
    return (f["settled_tx_per_s"], f["latency"]["p50_ms"], f["latency"]["p99_ms"], cpu,
            ok and f["forged_committed"] == 0)
print(f"{'run':34} {'tx/s median (min-max)':>26} {'p50 ms':>24} {'p99 ms':>24} {'CPU us/tx':>22} {'ok':>3}")
for label in labels:
    fs = [figures(r) for r in rows if r["label"] == label]
    print(f"{label:34} {med([f[0] for f in fs]):>26} {med([f[1] for f in fs]):>24} "
          f"{med([f[2] for f in fs]):>24} {med([f[3] for f in fs]):>22} {str(all(f[4] for f in fs)):>3}")
EOF
