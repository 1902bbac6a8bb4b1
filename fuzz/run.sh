#!/usr/bin/env bash
# Builds every fuzz target (libFuzzer through libfuzzer-sys, on stable Rust: see flags.sh) and runs
# each for SECONDS_PER_TARGET seconds (default 60) over a fresh copy of its committed corpus
# (target/corpus-run/<target>, kept until the next run), so that runs never grow corpus/. Prints
# executions, exec/s, corpus size and coverage per target, writes target/summary.tsv, and exits
# non-zero if any target crashed (the crashing input's path is printed; it is kept under
# artifacts/<target>/).
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#   fuzz/run.sh --build-only          build, run nothing
# Environment:
#   FUZZ_JOBS=N        cargo build jobs (default 1: leaves the other core to the rest of the machine)
#   FUZZ_NO_BUILD=1    skip the build (use what target/ holds)
#   FUZZ_ARGS="..."    extra libFuzzer arguments for every target (e.g. -max_len=65536)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
. ./flags.sh

ALL_TARGETS=(tx header snapshot fraud_proof drp_transcript msb bootstrap jsonl config crypto net)

build_only=0
if [[ "${1:-}" == "--build-only" ]]; then
  build_only=1
  shift
fi
seconds="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
if [[ ! "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]   (or $0 --build-only)" >&2
  exit 2
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${ALL_TARGETS[@]}"); fi
for t in "${targets[@]}"; do
  if [[ ! -f "fuzz_targets/$t.rs" ]]; then
    echo "unknown target: $t (known: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

bin_dir="$here/target/$FUZZ_HOST/release"
if [[ "${FUZZ_NO_BUILD:-0}" != 1 ]]; then
  echo "== building (RUSTFLAGS: $FUZZ_RUSTFLAGS)"
  RUSTFLAGS="$FUZZ_RUSTFLAGS" cargo build --release -j "${FUZZ_JOBS:-1}" \
    --target "$FUZZ_HOST" --target-dir "$here/target" --bins || exit 1
fi
if [[ $build_only == 1 ]]; then exit 0; fi

logs="$here/target/logs"
summary="$here/target/summary.tsv"
mkdir -p "$logs"
printf 'target\tseconds\texecutions\texec_per_s\tcorpus_files\tcorpus_bytes\tcov\tft\tpeak_rss_mb\tstatus\tcrash_input\n' > "$summary"

failed=0
printf '\n%-15s %6s %12s %8s %12s %7s %7s %7s  %s\n' target secs execs exec/s corpus cov ft rss_mb status
for t in "${targets[@]}"; do
  # A fresh copy of the committed corpus; kept after the run (for -merge, or to replay it).
  run_corpus="$here/target/corpus-run/$t"
  rm -rf "$run_corpus"
  mkdir -p "$run_corpus"
  if [[ -d "corpus/$t" ]]; then cp -R "corpus/$t/." "$run_corpus/"; fi
  artifacts="$here/artifacts/$t"
  mkdir -p "$artifacts"
  log="$logs/$t.log"
  dict=()
  if [[ -f "dict/$t.dict" ]]; then dict=(-dict="dict/$t.dict"); fi
  # Fixed crashes first: each committed regression input runs once; one that fails again fails
  # the run before any fuzzing.
  if compgen -G "regressions/$t/*" > /dev/null; then
    if ! "$bin_dir/$t" -rss_limit_mb=1024 -timeout=10 regressions/"$t"/* > "$logs/$t.regressions.log" 2>&1; then
      echo "REGRESSION in $t: a committed input in regressions/$t/ fails again (log: $logs/$t.regressions.log)"
      printf '%s\t0\t0\t0\t0\t0\t\t\t\tregression\tregressions/%s\n' "$t" "$t" >> "$summary"
      failed=1
      continue
    fi
  fi
  # shellcheck disable=SC2086
  "$bin_dir/$t" "$run_corpus" \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${dict[@]+"${dict[@]}"} ${FUZZ_ARGS:-} > "$log" 2>&1
  rc=$?
  final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs="$(final_stat number_of_executed_units)"
  eps="$(final_stat average_exec_per_sec)"
  rss="$(final_stat peak_rss_mb)"
  last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")"
  files="$(find "$run_corpus" -type f | wc -l | tr -d ' ')"
  bytes="$(find "$run_corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
  status=ok
  if [[ $rc -ne 0 || -n "$crash" ]]; then
    status="FAILED(rc=$rc)"
    failed=1
  fi
  printf '%-15s %6s %12s %8s %12s %7s %7s %7s  %s\n' "$t" "$seconds" "${execs:-?}" "${eps:-?}" \
    "$files/${bytes:-?}b" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-}" "${eps:-}" \
    "$files" "${bytes:-}" "${cov:-}" "${ft:-}" "${rss:-}" "$status" "${crash:-}" >> "$summary"
  if [[ $status != ok ]]; then
    echo "   log: $log"
    if [[ -n "$crash" ]]; then
      echo "   crashing input: $crash"
      echo "   reproduce: $bin_dir/$t $crash"
    fi
    grep -E -m 3 "panicked at|==iosv-fuzz==|ERROR: libFuzzer|deadly signal|out-of-memory|timeout" "$log" | sed 's/^/   /'
  fi
done
echo
echo "summary: $summary"
exit $failed
