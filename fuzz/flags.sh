# Sourced by run.sh (and usable by hand): the stable-Rust flags that make a libFuzzer build.
# sancov instrumentation as cargo-fuzz passes it, plus debug assertions and overflow checks.
# The curve25519-dalek backend cfg repeats the workspace's .cargo/config.toml, which RUSTFLAGS
# would otherwise override, so the fuzzed code is the code that ships.
FUZZ_HOST="$(rustc -vV | sed -n 's/^host: //p')"
FUZZ_RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
case "$FUZZ_HOST" in
  x86_64-*) FUZZ_RUSTFLAGS="$FUZZ_RUSTFLAGS --cfg curve25519_dalek_backend=\"avx512\"" ;;
esac
export FUZZ_HOST FUZZ_RUSTFLAGS
