#!/usr/bin/env bash
# The figures of perf-reports/serve.md, on whatever machine runs it: the service against the
# in-process verifier on the same signatures, latency at half the carried load, and an overload
# run with what was shed and the server's peak RSS. Usage:
#   perf-reports/scripts/serve.sh [OUT_DIR]            (defaults below; override by environment)
#   BACKEND=gpu BATCH=16384 perf-reports/scripts/serve.sh out/   (on a GPU host)
# Writes OUT_DIR/serve.jsonl (one JSON object per run) and prints a summary.
set -euo pipefail
B="${IOSV:-target/release/iosv}"
OUT="${1:-serve-out}"
RUNS="${RUNS:-3}"          # in-process runs before and again after the service runs
DUR="${DUR:-10}"           # seconds per run
BATCH="${BATCH:-1024}"     # signatures per request (and per in-process batch)
BAD="${BAD:-0.001}"        # share of invalid/malformed signatures mixed in
BACKEND="${BACKEND:-cpu}"
CONNS="${CONNS:-2}"
PORT="${PORT:-50651}"
MPORT=$((PORT + 1))
mkdir -p "$OUT"
J="$OUT/serve.jsonl"
: > "$J"

server_pid=""
start_server() {
  "$B" serve --listen "127.0.0.1:$PORT" --metrics "127.0.0.1:$MPORT" --backend "$BACKEND" "$@" \
    2>>"$OUT/serve.log" &
  server_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 2
}
stop_server() {
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  kill -TERM "$server_pid"
  wait "$server_pid"
  echo "$hwm"
}
tag() { python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); d.update(json.loads(sys.argv[1])); print(json.dumps(d))' "$1"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" | tee "$OUT/summary.txt"
common=(--batch "$BATCH" --bad-fraction "$BAD" --duration "$DUR" --json)

# In-process rate: RUNS runs before and after the service runs, so drift shows in the spread.
in_process() {
  for i in $(seq "$RUNS"); do
    "$B" load --in-process --backend "$BACKEND" "${common[@]}" 2>/dev/null | tail -1 \
      | tag "{\"kind\":\"in_process\",\"when\":\"$1\",\"run\":$i}" >> "$J"
  done
}
in_process before
inproc=$(python3 - "$J" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(int(statistics.median(r["in_process_sigs_per_s"] for r in rows if r["kind"] == "in_process")))
PY
)
start_server
# What the service carries: a ladder of offered rates (fractions of the in-process median); the
# carried rate is the highest step answered in full (>= 99% achieved, nothing shed or failed).
for f in ${LADDER:-0.70 0.80 0.85 0.90 0.95 1.00}; do
  rate=$(python3 -c "print(int($f * $inproc))")
  "$B" load --target "127.0.0.1:$PORT" --rate "$rate" --connections "$CONNS" --timeout-ms 2000 \
    "${common[@]}" 2>/dev/null | tail -1 | tag "{\"kind\":\"service_step\",\"fraction\":$f}" >> "$J"
done
carried=$(python3 - "$J" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = [r["offered_sigs_per_s"] for r in rows if r["kind"] == "service_step"
      and r["achieved_sigs_per_s"] >= 0.99 * r["offered_sigs_per_s"]
      and r["requests_shed"] == 0 and r["requests_failed"] == 0 and r["requests_not_sent"] == 0]
print(int(max(ok)) if ok else 0)
PY
)
# Past saturation (1.5x the in-process rate, 2 s deadlines): what still gets through.
"$B" load --target "127.0.0.1:$PORT" --rate $((inproc * 3 / 2)) --connections "$CONNS" --timeout-ms 2000 \
  "${common[@]}" 2>/dev/null | tail -1 | tag '{"kind":"service_saturated"}' >> "$J"
half=$((carried / 2))
"$B" load --target "127.0.0.1:$PORT" --rate "$half" --connections "$CONNS" "${common[@]}" \
  2>/dev/null | tail -1 | tag '{"kind":"service_half_load"}' >> "$J"
hwm=$(stop_server)
echo "{\"kind\":\"server_peak_rss_kib\",\"phase\":\"capacity\",\"value\":$hwm}" >> "$J"
in_process after

# Overload: three times the in-process rate, 1 s deadlines, a queue of 256k signatures.
start_server --max-queue-sigs 262144
"$B" load --target "127.0.0.1:$PORT" --rate $((inproc * 3)) --connections "$CONNS" --timeout-ms 1000 \
  "${common[@]}" 2>/dev/null | tail -1 | tag '{"kind":"service_overload"}' >> "$J"
metrics=$(curl -s "http://127.0.0.1:$MPORT/metrics" 2>/dev/null || true)
echo "$metrics" > "$OUT/overload-metrics.txt"
hwm=$(stop_server)
echo "{\"kind\":\"server_peak_rss_kib\",\"phase\":\"overload\",\"value\":$hwm}" >> "$J"

python3 - "$J" <<'PY' | tee -a "$OUT/summary.txt"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def of(kind): return [r for r in rows if r.get("kind") == kind]
inp = [r["in_process_sigs_per_s"] for r in of("in_process")]
wrong = sum(r.get("wrong_verdicts", 0) for r in rows)
print(f"in-process verifier: median {statistics.median(inp):,.0f} sig/s (min {min(inp):,.0f}, max {max(inp):,.0f}, {len(inp)} runs)")
carried = 0
for r in of("service_step"):
    full = r["achieved_sigs_per_s"] >= 0.99 * r["offered_sigs_per_s"] and r["requests_shed"] == 0 and r["requests_failed"] == 0 and r["requests_not_sent"] == 0
    if full:
        carried = max(carried, r["offered_sigs_per_s"])
    print(f"  service at {r['fraction']:.2f}: offered {r['offered_sigs_per_s']:,.0f}, achieved {r['achieved_sigs_per_s']:,.0f}, shed {r['requests_shed']}, failed {r['requests_failed']}, p50 {r['latency_ms_p50']:.1f} ms, p99 {r['latency_ms_p99']:.1f} ms{'' if full else '  (not carried in full)'}")
print(f"service carries {carried:,.0f} sig/s = {carried / statistics.median(inp):.3f} of the in-process median")
s = of("service_saturated")[0]
print(f"past saturation ({s['offered_sigs_per_s']:,.0f} offered, 2 s deadlines): {s['achieved_sigs_per_s']:,.0f} sig/s answered correctly, {s['requests_shed']} shed, {s['requests_failed']} failed, p50 {s['latency_ms_p50']:.0f} ms")
h = of("service_half_load")[0]
print(f"half load ({h['offered_sigs_per_s']:,.0f} offered, {h['achieved_sigs_per_s']:,.0f} carried): p50 {h['latency_ms_p50']:.2f} ms, p99 {h['latency_ms_p99']:.2f} ms, p99.9 {h['latency_ms_p999']:.2f} ms, shed {h['requests_shed']}, failed {h['requests_failed']}")
o = of("service_overload")[0]
print(f"overload ({o['offered_sigs_per_s']:,.0f} offered): carried {o['achieved_sigs_per_s']:,.0f} sig/s, {o['requests_ok']} ok, {o['requests_shed']} shed ({o['signatures_shed']:,} signatures), {o['requests_failed']} failed, {o['requests_not_sent']} not sent; p50 {o['latency_ms_p50']:.1f} ms, p99 {o['latency_ms_p99']:.1f} ms")
for r in of("server_peak_rss_kib"):
    print(f"server peak RSS ({r['phase']}): {r['value'] / 1024:.0f} MiB")
print(f"wrong verdicts, all runs: {wrong}")
PY
