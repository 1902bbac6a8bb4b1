//! Signature verification throughput (signatures/s, one thread): the engine against ed25519-dalek 3
//! and ed25519-consensus, in one run on the same signatures, at several batch sizes, with all keys
//! distinct and with keys reused (Zipf over 10,000 accounts). The criterion twin of
//! `iosv bench sigverify` (harness/src/bench/sigverify.rs), with the same inputs and semantics:
//! every implementation starts from raw bytes, so key decompression is part of the job.
//!
//! Ids are `sigverify/<keys>/<implementation>/<batch>`. Run it all, or filter with a regex:
//!
//! ```text
//! cargo bench -p iosv-benches --bench sigverify
//! cargo bench -p iosv-benches --bench sigverify -- 'zipf-10000/iosv batch/1024'
//! ```
//!
//! Flamegraph of one benchmark (pprof, 1000 Hz), written to
//! `target/criterion/<group>/<implementation>/<batch>/profile/flamegraph.svg`:
//!
//! ```text
//! cargo bench -p iosv-benches --bench sigverify -- --profile-time 5 'zipf-10000/iosv batch/1024'
//! ```

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iosv_benches::{KEY_SETS, sig_batch, sig_workload};
use iosv_engine::sig::{KeyCache, SigItem, SigRef, verify_batch, verify_single};
use iosv_engine::workload::KeyReuse;
use iosv_harness::bench::peers;
use pprof::criterion::{Output, PProfProfiler};

/// Batch sizes for the batch verifiers.
const BATCH_SIZES: [usize; 5] = [16, 64, 256, 1024, 4096];

/// Batch sizes for the one-by-one verifiers: their cost per signature does not depend on the batch
/// size, so two points show that without spending the run's time on the other three.
const SINGLE_BATCH_SIZES: [usize; 2] = [16, 1024];

type VerifyFn = fn(&[SigRef<'_>], &KeyCache) -> Vec<bool>;

/// An implementation under test: its name in benchmark ids, whether it verifies one signature at a
/// time, and the call (the key cache is used by the engine's batch verifier only).
struct Implementation {
    name: &'static str,
    one_by_one: bool,
    verify: VerifyFn,
}

const IMPLEMENTATIONS: [Implementation; 5] = [
    Implementation {
        name: "ed25519-dalek verify",
        one_by_one: true,
        verify: |items, _| peers::dalek_verify(items),
    },
    Implementation {
        name: "ed25519-dalek verify_batch",
        one_by_one: false,
        verify: |items, _| peers::dalek_verify_batch(items),
    },
    Implementation {
        name: "ed25519-consensus batch",
        one_by_one: false,
        verify: |items, _| peers::consensus_batch(items),
    },
    Implementation {
        name: "iosv single",
        one_by_one: true,
        verify: |items, _| items.iter().map(|it| verify_single(*it)).collect(),
    },
    Implementation {
        name: "iosv batch",
        one_by_one: false,
        verify: |items, cache| verify_batch(items, cache),
    },
];

fn sigverify(c: &mut Criterion) {
    for (keys, reuse) in KEY_SETS {
        let workload = sig_workload(reuse);
        let mut group = c.benchmark_group(format!("sigverify/{keys}"));
        for batch in BATCH_SIZES {
            let items: Vec<SigItem> = sig_batch(&workload, batch);
            let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
            // One cache for every iteration of this config, as a validator keeps one across
            // batches: with reused keys it is warm after the first batch. With distinct keys it is
            // cleared before every iteration, so that repeating one batch does not turn its keys
            // into cache hits (every key costs a miss and an insertion, as in a stream of new keys).
            let cache = KeyCache::default();
            let fresh_keys = reuse == KeyReuse::Distinct;
            group.throughput(Throughput::Elements(batch as u64));
            for imp in &IMPLEMENTATIONS {
                if imp.one_by_one && !SINGLE_BATCH_SIZES.contains(&batch) {
                    continue;
                }
                // Criterion calls this closure once per warm-up round and sample, and only for
                // benchmarks its filter selects: check the verdicts on the first call, untimed.
                let mut checked = false;
                group.bench_with_input(BenchmarkId::new(imp.name, batch), &refs, |b, refs| {
                    if !checked {
                        assert!(
                            (imp.verify)(refs, &cache).iter().all(|&ok| ok),
                            "{} rejected a valid signature ({keys}, batch {batch})",
                            imp.name
                        );
                        checked = true;
                    }
                    b.iter(|| {
                        if fresh_keys {
                            cache.clear();
                        }
                        (imp.verify)(refs, &cache)
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Sized for a 2-core machine: about 3 s per benchmark, a few minutes for the whole run.
    // Command-line flags (`--warm-up-time`, `--measurement-time`, `--sample-size`) override these.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .with_profiler(PProfProfiler::new(1000, Output::Flamegraph(None)));
    targets = sigverify
}
criterion_main!(benches);
