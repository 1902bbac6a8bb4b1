//! The performance regression gate: does signature verification still run as fast, *relative to a
//! peer measured in the same process on the same signatures*, as the committed baseline says?
//!
//! Wall-clock times on a shared 2-core machine drift by more than the 10% we want to catch, so the
//! gate compares ratios: engine batch throughput over ed25519-dalek `verify_batch` throughput, one
//! thread, the two contenders alternating sample by sample so drift hits both alike. The figure per
//! workload is the median over samples of the per-sample ratio. The gate fails when a median falls
//! more than `threshold` below its baseline.
//!
//! Threshold (6%, in `perf-reports/gate-baseline.json`): a 10% slowdown of the engine lowers the
//! ratio by ~9% (1 − 1/1.1; measured −9.0% and −9.5%), and on the development machine five runs on an
//! unchanged tree moved the medians by −3.0% to +1.7% (perf-reports/gate.md), so 6% sits between the
//! two. `.ci/run` counts a regression only when two consecutive runs fail, and requires two
//! consecutive failures on an injected 10% slowdown.
//!
//! The engine decompresses points on AVX-512 IFMA where the CPU has it and serially elsewhere, a
//! factor of two in its speed that the peer does not share; so each workload has one baseline per
//! decompressor (`…/ifma-decompression`, `…/serial-decompression`), and a machine is judged against
//! the one it runs. `--update` on an IFMA machine measures both (the serial one with IFMA switched
//! off), so a CPU without IFMA still finds its baseline.

use std::collections::BTreeMap;
use std::time::Duration;

use iosv_engine::sig::decompress::Decompressor;
use iosv_engine::sig::{BatchTuning, KeyCache, SigItem, SigRef, verify_batch_tuned};
use iosv_engine::workload::{KeyReuse, SigWorkload};
use serde::{Deserialize, Serialize};

use super::peers;
use super::timing::{Spread, one_sample};

#[derive(Clone, Copy, Debug)]
pub struct GatePlan {
    pub samples: usize,
    pub min_sample: Duration,
    pub batch: usize,
}

impl GatePlan {
    /// 15 samples × 2 contenders × 2 workloads × 150 ms ≈ 9 s.
    pub const DEFAULT: Self = Self {
        samples: 15,
        min_sample: Duration::from_millis(150),
        batch: 1024,
    };
}

/// The committed reference the gate compares against.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateBaseline {
    /// Largest accepted relative drop of a ratio below its baseline (0.06 = 6%).
    pub threshold: f64,
    /// Workload → median ratio (engine over ed25519-dalek verify_batch).
    pub ratios: BTreeMap<String, f64>,
    /// Where the baseline was measured.
    pub machine: String,
    pub command: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GateMeasurement {
    pub workload: String,
    /// Per-sample ratios: median, min, max.
    pub ratio: Spread,
}

#[derive(Clone, Debug, Serialize)]
pub struct GateVerdict {
    pub workload: String,
    pub baseline: f64,
    pub measured: f64,
    /// measured / baseline − 1.
    pub change: f64,
    pub pass: bool,
}

/// The name of a decompressor in workload names.
fn decompression_label(decompressor: Decompressor) -> &'static str {
    match decompressor {
        Decompressor::Ifma => "ifma-decompression",
        Decompressor::Serial => "serial-decompression",
    }
}

/// Measures the ratio of every gate workload, the engine decompressing with `decompressor` (an
/// unavailable one runs serially, as the engine does).
pub fn measure(plan: GatePlan, decompressor: Decompressor) -> Vec<GateMeasurement> {
    let tuning = BatchTuning {
        simd_decompress: decompressor == Decompressor::Ifma,
        ..BatchTuning::default()
    };
    let label = decompression_label(if decompressor.is_available() {
        decompressor
    } else {
        Decompressor::Serial
    });
    let workloads = [
        ("zipf-10000", KeyReuse::SKEWED_10K),
        ("distinct", KeyReuse::Distinct),
    ];
    workloads
        .iter()
        .map(|&(name, reuse)| {
            let items: Vec<SigItem> =
                SigWorkload::new(reuse, 32, 7).generate(plan.batch, plan.batch as u64);
            let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
            let cache = KeyCache::default();
            let fresh_keys = reuse == KeyReuse::Distinct;
            let mut engine = || {
                if fresh_keys {
                    cache.clear();
                }
                std::hint::black_box(verify_batch_tuned(&refs, &cache, tuning));
            };
            let mut peer = || {
                std::hint::black_box(peers::dalek_verify_batch(&refs));
            };
            engine();
            peer();
            let ratios = (0..plan.samples)
                .map(|_| {
                    let e = one_sample(plan.min_sample, plan.batch, &mut engine);
                    let p = one_sample(plan.min_sample, plan.batch, &mut peer);
                    e / p
                })
                .collect();
            GateMeasurement {
                workload: format!("{name}/{}/{label}", plan.batch),
                ratio: Spread::of(ratios),
            }
        })
        .collect()
}

/// Judges measurements against the baseline; a workload missing from the baseline fails.
pub fn judge(baseline: &GateBaseline, measured: &[GateMeasurement]) -> Vec<GateVerdict> {
    measured
        .iter()
        .map(|m| {
            let base = baseline
                .ratios
                .get(&m.workload)
                .copied()
                .unwrap_or(f64::NAN);
            let change = m.ratio.median / base - 1.0;
            GateVerdict {
                workload: m.workload.clone(),
                baseline: base,
                measured: m.ratio.median,
                change,
                pass: change >= -baseline.threshold,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> GateBaseline {
        GateBaseline {
            threshold: 0.06,
            ratios: [("w/1".to_string(), 1.6)].into_iter().collect(),
            machine: String::new(),
            command: String::new(),
        }
    }

    fn measured(ratio: f64) -> Vec<GateMeasurement> {
        vec![GateMeasurement {
            workload: "w/1".into(),
            ratio: Spread::of(vec![ratio]),
        }]
    }

    #[test]
    fn a_ten_percent_slowdown_fails_and_noise_passes() {
        let b = baseline();
        assert!(!judge(&b, &measured(1.6 / 1.10))[0].pass);
        assert!(judge(&b, &measured(1.6 * 0.97))[0].pass);
        assert!(judge(&b, &measured(1.6 * 1.20))[0].pass);
    }

    #[test]
    fn a_workload_missing_from_the_baseline_fails() {
        let mut m = measured(1.6);
        m[0].workload = "other/1".into();
        assert!(!judge(&baseline(), &m)[0].pass);
    }
}
