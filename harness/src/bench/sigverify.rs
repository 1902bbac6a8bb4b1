//! Signature verification throughput: the engine against ed25519-dalek and ed25519-consensus, on the
//! same signatures, at several batch sizes, with all keys distinct and with keys reused.
//!
//! Every implementation gets raw bytes (key decompression is part of the job). With reused keys the
//! engine keeps one key cache across repetitions, as a validator does. With distinct keys the cache
//! is cleared before every repetition, so that repeating the same batch does not turn "distinct"
//! keys into cache hits: every key costs a miss and an insertion, as in a stream of new keys.

use std::time::Duration;

use iosv_engine::sig::{
    BatchTuning, KeyCache, SigItem, SigRef, verify_batch, verify_batch_tuned, verify_single,
};
use iosv_engine::workload::{KeyReuse, SigWorkload};
use serde::Serialize;

use super::peers;
use super::timing::{Spread, interleaved_rates};

#[derive(Clone, Copy, Debug)]
pub struct SigverifyPlan {
    pub batch_sizes: &'static [usize],
    pub samples: usize,
    pub min_sample: Duration,
}

impl SigverifyPlan {
    pub const FULL: Self = Self {
        batch_sizes: &[16, 64, 256, 1024, 4096],
        samples: 5,
        min_sample: Duration::from_millis(200),
    };
    pub const QUICK: Self = Self {
        batch_sizes: &[64, 1024],
        samples: 5,
        min_sample: Duration::from_millis(50),
    };
}

#[derive(Debug, Serialize)]
pub struct Measurement {
    pub implementation: &'static str,
    pub keys: &'static str,
    pub batch: usize,
    /// Signatures verified per second on one thread.
    pub sigs_per_sec: Spread,
}

#[derive(Debug, Serialize)]
pub struct Ratio {
    pub keys: &'static str,
    pub batch: usize,
    /// Engine batch throughput over ed25519-dalek `verify_batch` throughput (medians).
    pub engine_over_dalek_batch: f64,
    /// Engine batch throughput over ed25519-consensus batch throughput (medians).
    pub engine_over_consensus_batch: f64,
}

#[derive(Debug, Serialize)]
pub struct SigverifyReport {
    pub unit: &'static str,
    pub threads: usize,
    pub measurements: Vec<Measurement>,
    pub ratios: Vec<Ratio>,
}

type Impl = (&'static str, fn(&[SigRef<'_>], &KeyCache) -> Vec<bool>);

const IMPLEMENTATIONS: [Impl; 9] = [
    ("ed25519-dalek verify", |items, _| {
        peers::dalek_verify(items)
    }),
    ("ed25519-dalek verify_batch", |items, _| {
        peers::dalek_verify_batch(items)
    }),
    ("ed25519-consensus batch", |items, _| {
        peers::consensus_batch(items)
    }),
    ("iosv single", |items, _| {
        items.iter().map(|it| verify_single(*it)).collect()
    }),
    ("iosv batch", |items, cache| verify_batch(items, cache)),
    // Ablations: the engine's batch with one speed-up switched off, to show what each buys.
    ("iosv batch, no key cache", |items, cache| {
        verify_batch_tuned(
            items,
            cache,
            BatchTuning {
                key_cache: false,
                ..BatchTuning::default()
            },
        )
    }),
    ("iosv batch, no key coalescing", |items, cache| {
        verify_batch_tuned(
            items,
            cache,
            BatchTuning {
                coalesce_keys: false,
                ..BatchTuning::default()
            },
        )
    }),
    ("iosv batch, fresh buffers", |items, cache| {
        verify_batch_tuned(
            items,
            cache,
            BatchTuning {
                reuse_buffers: false,
                ..BatchTuning::default()
            },
        )
    }),
    ("iosv batch, serial decompression", |items, cache| {
        verify_batch_tuned(
            items,
            cache,
            BatchTuning {
                simd_decompress: false,
                ..BatchTuning::default()
            },
        )
    }),
];

/// Runs the comparison on the current thread; `progress` is told each finished measurement.
pub fn run(plan: SigverifyPlan, mut progress: impl FnMut(&Measurement)) -> SigverifyReport {
    let mut measurements = Vec::new();
    let workloads = [
        ("distinct", SigWorkload::new(KeyReuse::Distinct, 32, 7)),
        ("zipf-10000", SigWorkload::new(KeyReuse::SKEWED_10K, 32, 7)),
    ];
    for (keys, workload) in &workloads {
        for &batch in plan.batch_sizes {
            let items: Vec<SigItem> = workload.generate(batch, batch as u64);
            let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
            let cache = KeyCache::default();
            let fresh_keys = workload.reuse() == KeyReuse::Distinct;
            for (name, f) in IMPLEMENTATIONS {
                assert!(
                    f(&refs, &cache).iter().all(|&v| v),
                    "{name} rejected a valid signature"
                );
            }
            let mut runs: Vec<Box<dyn FnMut() + '_>> = IMPLEMENTATIONS
                .iter()
                .map(|&(_, f)| {
                    let (refs, cache) = (&refs, &cache);
                    Box::new(move || {
                        if fresh_keys {
                            cache.clear();
                        }
                        std::hint::black_box(f(refs, cache));
                    }) as Box<dyn FnMut() + '_>
                })
                .collect();
            let mut contenders: Vec<&mut dyn FnMut()> = runs
                .iter_mut()
                .map(|r| r.as_mut() as &mut dyn FnMut())
                .collect();
            let rates = interleaved_rates(plan.samples, plan.min_sample, batch, &mut contenders);
            for ((name, _), sigs_per_sec) in IMPLEMENTATIONS.iter().zip(rates) {
                let m = Measurement {
                    implementation: name,
                    keys,
                    batch,
                    sigs_per_sec,
                };
                progress(&m);
                measurements.push(m);
            }
        }
    }
    let ratios = ratios(&measurements);
    SigverifyReport {
        unit: "signatures/s, one thread",
        threads: 1,
        measurements,
        ratios,
    }
}

fn ratios(ms: &[Measurement]) -> Vec<Ratio> {
    let find = |name: &str, keys: &str, batch: usize| {
        ms.iter()
            .find(|m| m.implementation == name && m.keys == keys && m.batch == batch)
            .map(|m| m.sigs_per_sec.median)
    };
    ms.iter()
        .filter(|m| m.implementation == "iosv batch")
        .filter_map(|m| {
            Some(Ratio {
                keys: m.keys,
                batch: m.batch,
                engine_over_dalek_batch: m.sigs_per_sec.median
                    / find("ed25519-dalek verify_batch", m.keys, m.batch)?,
                engine_over_consensus_batch: m.sigs_per_sec.median
                    / find("ed25519-consensus batch", m.keys, m.batch)?,
            })
        })
        .collect()
}
