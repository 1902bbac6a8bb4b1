#!/usr/bin/env bash
# One command for the GPU figures of perf-reports/gpu.md, on a machine with a GPU:
#
#   perf-reports/scripts/gpu-check.sh [IOSV_BINARY] [OUT_DIR]
#
# (defaults: target/release/iosv, ./gpu-check-out). Correctness first — every kernel variant
# against the CPU backend, byte for byte, on mutated and malformed input and on 1,000,000
# signatures — then the measurements: `iosv bench gpu` for each field variant (kernels alone and
# whole batches against the CPU on all cores), and whole-process `iosv verify` on 1,000,000
# signatures with the cpu, gpu and auto backends at several batch sizes, three runs each. The
# adapter, its driver, features and limits and the host CPU are recorded with the figures.
# Writes at most eight files into OUT_DIR; takes about three minutes on an H200 host.
# GPU_CHECK_QUICK=1 shrinks every size (a trial run of the script itself, e.g. on lavapipe).
# GPU_CHECK_WHOLE_ONLY=1 runs only the whole-process section (each run still compared with cpu).
set -uo pipefail
BIN=${1:-target/release/iosv}
OUT=${2:-gpu-check-out}
N=1000000; MUTATED=200000; QUICK=()
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then N=3000; MUTATED=3000; QUICK=(--quick); fi
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
say() { echo "$*" | tee -a "$LOG"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }

say "== gpu-check $(date -u +%FT%TZ) with $BIN"
say "== host"
{ lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Flags' | sed 's/Flags:.*\(avx512ifma\).*/Flags: ... avx512ifma .../' ; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null; } | tee -a "$LOG"
"$BIN" info --gpu 2>/dev/null | tee -a "$LOG"
"$BIN" info --gpu --json > "$OUT/info.json" 2>>"$LOG" || fail "no GPU adapter"

if [ "${GPU_CHECK_WHOLE_ONLY:-0}" != 1 ]; then
say "== correctness: every variant against the CPU backend, byte for byte"
"$BIN" gen-sigs --count $MUTATED --keys 5000 --seed 7 --msg-len 40 --out "$WORK/base.jsonl"
# Mutations: a changed hex digit in S, R, A or M, a truncated line, a non-hex line, an empty line.
awk '{
  if (NR % 5 == 0) sub(/"sig":"./, "\"sig\":\"f");
  else if (NR % 7 == 0) sub(/"sig":"[0-9a-f]{64}./, "&0");
  else if (NR % 11 == 0) sub(/"pk":"./, "\"pk\":\"e");
  else if (NR % 13 == 0) sub(/"msg":"./, "\"msg\":\"7");
  if (NR % 997 == 0) print substr($0, 1, 50);
  else if (NR % 1009 == 0) print "{\"pk\":\"zz\"}";
  else if (NR % 1013 == 0) print "";
  else print
}' "$WORK/base.jsonl" > "$WORK/mutated.jsonl"
"$BIN" verify --backend cpu "$WORK/mutated.jsonl" > "$WORK/cpu.out" 2>>"$LOG"
say "mutated input: $(wc -l < "$WORK/mutated.jsonl") lines, cpu: $(grep -c '"valid":true' "$WORK/cpu.out") valid, $(grep -c '"valid":false' "$WORK/cpu.out") invalid, $(grep -c error "$WORK/cpu.out") malformed"
"$BIN" verify --peer ed25519-consensus-batch "$WORK/mutated.jsonl" > "$WORK/consensus.out" 2>>"$LOG"
cmp -s "$WORK/cpu.out" "$WORK/consensus.out" && say "ok: cpu = ed25519-consensus" || fail "cpu differs from ed25519-consensus on mutated input"
for field in u32 i64; do
  for windows in 64 8; do
    for backend in gpu auto; do
      IOSV_GPU_FIELD=$field IOSV_GPU_WINDOWS=$windows "$BIN" verify --backend $backend "$WORK/mutated.jsonl" > "$WORK/v.out" 2>>"$LOG"
      if cmp -s "$WORK/cpu.out" "$WORK/v.out"; then say "ok: $backend field=$field windows=$windows = cpu"; else fail "$backend field=$field windows=$windows differs from cpu"; fi
    done
  done
done

say "== $N distinct-key signatures"
"$BIN" gen-sigs --count $N --keys distinct --seed 11 --out "$WORK/m.jsonl"
"$BIN" verify --backend cpu "$WORK/m.jsonl" > "$WORK/m-cpu.out" 2>>"$LOG"
for field in i64 u32; do
  IOSV_GPU_FIELD=$field "$BIN" verify --backend gpu "$WORK/m.jsonl" > "$WORK/m-gpu.out" 2>>"$LOG"
  cmp -s "$WORK/m-cpu.out" "$WORK/m-gpu.out" && say "ok: gpu field=$field = cpu on $N" || fail "gpu field=$field differs from cpu on $N"
done
"$BIN" verify --backend auto "$WORK/m.jsonl" > "$WORK/m-auto.out" 2>>"$LOG"
cmp -s "$WORK/m-cpu.out" "$WORK/m-auto.out" && say "ok: auto = cpu on $N" || fail "auto differs from cpu on $N"
say "valid: $(grep -c '"valid":true' "$WORK/m-cpu.out") of $N"

say "== bench gpu (kernels and whole batches against the CPU), each field"
for field in i64 u32; do
  IOSV_GPU_FIELD=$field "$BIN" bench gpu "${QUICK[@]}" --json --out "$WORK/bench-$field" > "$OUT/bench-gpu-$field.json" 2> >(grep -v XDG_RUNTIME >> "$LOG") || fail "bench gpu field=$field"
done

say "== start-up: one signature, 3 runs each (the GPU's share of a short run)"
head -1 "$WORK/m.jsonl" > "$WORK/one.jsonl"
for backend in cpu gpu; do
  for i in 1 2 3; do
    t0=$(date +%s.%N)
    IOSV_LOG=iosv_kernels=info NO_COLOR=1 "$BIN" verify --backend $backend "$WORK/one.jsonl" 2>&1 > /dev/null | sed 's/\x1b\[[0-9;]*m//g' > "$WORK/one.err"
    t1=$(date +%s.%N)
    say "$backend start-up run $i: $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") s $(grep -o 'adapter_ms=[0-9]*\|device_ms=[0-9]*\|compile_ms=[0-9]*\|warmed ms=[0-9]*' "$WORK/one.err" | tr '\n' ' ')"
  done
done

else
"$BIN" gen-sigs --count $N --keys distinct --seed 11 --out "$WORK/m.jsonl"
"$BIN" verify --backend cpu "$WORK/m.jsonl" > "$WORK/m-cpu.out" 2>>"$LOG"
fi

say "== whole process, $N signatures: wall seconds of 3 runs (backend, field, batch)"
run() { # label, then env and args
  local label=$1; shift
  local times=()
  for i in $(seq "${GPU_CHECK_RUNS:-3}"); do
    local t0 t1
    t0=$(date +%s.%N)
    env "$@" "$WORK/m.jsonl" > "$WORK/w.out" 2>>"$LOG" || fail "$label run $i"
    t1=$(date +%s.%N)
    times+=("$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")")
    cmp -s "$WORK/m-cpu.out" "$WORK/w.out" || fail "$label run $i output differs from cpu"
  done
  say "$label: ${times[*]}"
  echo "{\"run\":\"$label\",\"seconds\":[$(IFS=,; echo "${times[*]}")]}" >> "$OUT/whole-process.jsonl"
}
: > "$OUT/whole-process.jsonl"
run "cpu batch=1024" "$BIN" verify --backend cpu
run "gpu i64 batch=default" IOSV_GPU_FIELD=i64 "$BIN" verify --backend gpu
run "auto i64 batch=default" IOSV_GPU_FIELD=i64 "$BIN" verify --backend auto
for batch in 8192 32768; do
  run "gpu i64 batch=$batch" IOSV_GPU_FIELD=i64 "$BIN" verify --backend gpu --batch $batch
  run "auto i64 batch=$batch" IOSV_GPU_FIELD=i64 "$BIN" verify --backend auto --batch $batch
done
run "gpu u32 batch=default" IOSV_GPU_FIELD=u32 "$BIN" verify --backend gpu

say "== whole process, $N signatures with keys reused (Zipf over 10,000 accounts: the CPU's key cache helps)"
"$BIN" gen-sigs --count $N --keys 10000 --seed 12 --out "$WORK/m.jsonl"
"$BIN" verify --backend cpu "$WORK/m.jsonl" > "$WORK/m-cpu.out" 2>>"$LOG"
run "zipf cpu batch=1024" "$BIN" verify --backend cpu
run "zipf gpu i64 batch=default" IOSV_GPU_FIELD=i64 "$BIN" verify --backend gpu
run "zipf auto i64 batch=default" IOSV_GPU_FIELD=i64 "$BIN" verify --backend auto

say "== done: $failures failure(s)"
exit $((failures > 0))
