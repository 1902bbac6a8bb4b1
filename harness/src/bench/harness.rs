//! `iosv bench harness`: the protocol demonstration (`iosv demo`) measured at several offered
//! rates, several runs each — finalized and optimistic throughput and latency against the offered
//! load, and the finalized rate and p99 latency over time in the busiest run. With a core-count
//! sweep ([`sweep`]), the same demo held to 1, 2, … cores at the plan's highest rate: finalized
//! throughput, CPU per finalized transaction, and the part of it on the one driver thread (clients,
//! routing), which bounds the demo whatever the cores.

use serde::Serialize;

use super::pipeline::on_cores;
use super::timing::Spread;
use crate::demo::report::PerSecond;
use crate::demo::{self, DemoConfig, Quiet};

/// What to run.
#[derive(Clone, Debug, Serialize)]
pub struct HarnessPlan {
    /// Offered rates, tx/s.
    pub rates: Vec<f64>,
    /// Runs per rate.
    pub runs: usize,
    /// Measured and warm-up seconds per run.
    pub duration_s: f64,
    pub warmup_s: f64,
}

impl HarnessPlan {
    /// From half the design's 100,000 tx/s to past the knee on the development machine (~125k
    /// finalized there, measured 2026-11-24), five runs each.
    pub fn full() -> HarnessPlan {
        HarnessPlan {
            rates: vec![
                50_000.0, 100_000.0, 110_000.0, 120_000.0, 135_000.0, 150_000.0,
            ],
            runs: 5,
            duration_s: 6.0,
            warmup_s: 2.0,
        }
    }

    /// Run `run` (from 0) at `rate`: `base` with the plan's durations and its own seed.
    fn config(&self, base: &DemoConfig, rate: f64, run: usize) -> DemoConfig {
        DemoConfig {
            rate,
            duration_s: self.duration_s,
            warmup_s: self.warmup_s,
            seed: base.seed + run as u64,
            ..base.clone()
        }
    }

    /// Two rates, one short run each: a smoke test of the suite.
    pub fn quick() -> HarnessPlan {
        HarnessPlan {
            rates: vec![20_000.0, 60_000.0],
            runs: 1,
            duration_s: 2.0,
            warmup_s: 1.0,
        }
    }
}

/// One offered rate.
#[derive(Clone, Debug, Serialize)]
pub struct HarnessPoint {
    pub offered_tps: f64,
    pub final_tps: Spread,
    pub optimistic_tps: Spread,
    pub final_p50_ms: Spread,
    pub final_p99_ms: Spread,
    pub optimistic_p99_ms: Spread,
    /// Signatures verified per finalized transaction (all validators together).
    pub signatures_per_tx: Spread,
    /// Every run's invariants held.
    pub invariants_ok: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct HarnessReport {
    pub plan: HarnessPlan,
    /// The demo configuration the runs share (rate and durations set per run).
    pub config: DemoConfig,
    pub points: Vec<HarnessPoint>,
    /// Finalized transactions and p99 latency per second of the first run at the highest rate.
    pub over_time: Vec<PerSecond>,
    pub over_time_offered_tps: f64,
    /// The core-count sweep, when one was asked for.
    pub scaling: Option<HarnessScaling>,
}

/// One core count of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct HarnessScalingPoint {
    /// Cores the runs were held to (rayon's pool sized to match).
    pub cores: usize,
    pub final_tps: Spread,
    /// Process CPU time over the run (load and drain) per transaction finalized in it, µs.
    pub cpu_us_per_final_tx: Spread,
    /// The driver thread's CPU time (clients, routing) per finalized transaction, µs: one thread.
    pub driver_us_per_final_tx: Spread,
    /// Every run's safety invariants held (supply, no double spend, agreement, state trees, no
    /// finality failure); whether the backlog drained is reported apart, since an offered rate
    /// past a core count's capacity leaves one.
    pub safe: bool,
    /// Every run finished its work within the drain limit.
    pub drained: bool,
}

/// The demo's scaling curve, and what its largest point says of larger machines.
#[derive(Clone, Debug, Serialize)]
pub struct HarnessScaling {
    pub offered_tps: f64,
    pub points: Vec<HarnessScalingPoint>,
    /// Finalized tx/s of the largest core count over the smallest (medians).
    pub speedup: f64,
    /// The driver thread's µs per finalized transaction at the largest count (median).
    pub driver_us_per_tx: f64,
    /// Finalized tx/s a machine of 16 and 64 such cores could reach at most by this breakdown:
    /// the lower of the driver thread's ceiling and cores / CPU time per finalized transaction.
    /// (The driver is the demo's one thread outside the shards' parallel work; each shard's
    /// round is a further per-shard serial step, which more shards spread.)
    pub bound_16_cores: f64,
    pub bound_64_cores: f64,
}

/// Runs `plan` on the default demo configuration; `log` gets one line per run.
pub fn run(plan: HarnessPlan, log: &dyn Fn(String)) -> anyhow::Result<HarnessReport> {
    run_with(DemoConfig::default(), plan, log)
}

/// Runs `plan` on `base` (its rate and durations replaced per run).
pub fn run_with(
    base: DemoConfig,
    plan: HarnessPlan,
    log: &dyn Fn(String),
) -> anyhow::Result<HarnessReport> {
    anyhow::ensure!(
        !plan.rates.is_empty() && plan.runs > 0,
        "a harness plan needs rates and runs"
    );
    let mut points = Vec::new();
    let mut over_time = Vec::new();
    let top = plan.rates.iter().copied().fold(f64::MIN, f64::max);
    for &rate in &plan.rates {
        let mut reports = Vec::new();
        for run in 0..plan.runs {
            let r = demo::run(&plan.config(&base, rate, run), &Quiet)?;
            log(format!(
                "harness offered {:>8.0} tx/s run {}: final {:>8.0} tx/s, p99 {:>8.1} ms, invariants {}",
                rate,
                run + 1,
                r.final_tps,
                r.final_p99_ms,
                if r.invariants_ok { "ok" } else { "VIOLATED" }
            ));
            if rate == top && run == 0 {
                over_time = r.per_second.clone();
            }
            reports.push(r);
        }
        let spread = |f: fn(&demo::DemoReport) -> f64| Spread::of(reports.iter().map(f).collect());
        points.push(HarnessPoint {
            offered_tps: rate,
            final_tps: spread(|r| r.final_tps),
            optimistic_tps: spread(|r| r.optimistic_tps),
            final_p50_ms: spread(|r| r.final_latency.p50_ms),
            final_p99_ms: spread(|r| r.final_p99_ms),
            optimistic_p99_ms: spread(|r| r.optimistic_latency.p99_ms),
            signatures_per_tx: spread(|r| r.verification.total_per_tx),
            invariants_ok: reports.iter().all(|r| r.invariants_ok),
        });
    }
    Ok(HarnessReport {
        plan,
        config: base,
        points,
        over_time,
        over_time_offered_tps: top,
        scaling: None,
    })
}

/// `demo::run` with the run held to `cores` CPUs: a thread of its own is pinned, and the rayon pool
/// the demo's rounds and their parallel work run on is built from it with that many threads
/// (threads inherit the pinning), so a 1-core run really has one core.
///
/// Before 2026-12-06 the shards' own threads sent their parallel work (the state tree's rehash)
/// to rayon's global pool, whose threads were made by the first run's pinned threads: a sweep
/// starting with 1 core kept that work on one core in its 2-core runs too.
fn run_on_cores(cfg: &DemoConfig, cores: usize) -> anyhow::Result<demo::DemoReport> {
    on_cores(cores, |got| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(got).build()?;
        demo::run::run_on_pool(cfg, &Quiet, std::sync::Arc::new(pool))
    })
}

/// The demo at each core count of `cores` (sorted, deduplicated), at the plan's highest rate,
/// `plan.runs` runs each, the counts interleaved run by run so drift on a shared machine hits them
/// alike. The report's rate points are left empty: a sweep measures capacity per core count.
pub fn sweep(
    base: DemoConfig,
    plan: HarnessPlan,
    cores: &[usize],
    log: &dyn Fn(String),
) -> anyhow::Result<HarnessReport> {
    anyhow::ensure!(
        !cores.is_empty() && !plan.rates.is_empty() && plan.runs > 0,
        "a sweep needs core counts, a rate and runs"
    );
    let mut cores = cores.to_vec();
    cores.sort_unstable();
    cores.dedup();
    let rate = plan.rates.iter().copied().fold(f64::MIN, f64::max);
    let mut by_count: Vec<Vec<demo::DemoReport>> = vec![Vec::new(); cores.len()];
    for run in 0..plan.runs {
        for (k, &n) in cores.iter().enumerate() {
            let r = run_on_cores(&plan.config(&base, rate, run), n)?;
            log(format!(
                "harness on {n} core(s), offered {rate:.0} tx/s, run {}/{}: final {:.0} tx/s, {:.2} CPU µs and {:.2} driver µs per finalized tx",
                run + 1,
                plan.runs,
                r.final_tps,
                r.process_cpu_s * 1e6 / r.finalized_total.max(1) as f64,
                r.driver_cpu_s * 1e6 / r.finalized_total.max(1) as f64,
            ));
            by_count[k].push(r);
        }
    }
    let points: Vec<HarnessScalingPoint> = by_count
        .iter()
        .map(|runs| {
            let spread =
                |f: &dyn Fn(&demo::DemoReport) -> f64| Spread::of(runs.iter().map(f).collect());
            let per_tx = |s: f64, r: &demo::DemoReport| s * 1e6 / r.finalized_total.max(1) as f64;
            HarnessScalingPoint {
                cores: runs[0].cores,
                final_tps: spread(&|r| r.final_tps),
                cpu_us_per_final_tx: spread(&|r| per_tx(r.process_cpu_s, r)),
                driver_us_per_final_tx: spread(&|r| per_tx(r.driver_cpu_s, r)),
                safe: runs.iter().all(|r| r.invariants.safety_ok()),
                drained: runs.iter().all(|r| r.invariants.drained),
            }
        })
        .collect();
    let (first, last) = (&points[0], &points[points.len() - 1]);
    let driver = last.driver_us_per_final_tx.median;
    let cpu = last.cpu_us_per_final_tx.median;
    let bound = |n: f64| super::timing::core_bound(driver, cpu, n);
    let scaling = HarnessScaling {
        offered_tps: rate,
        speedup: last.final_tps.median / first.final_tps.median,
        driver_us_per_tx: driver,
        bound_16_cores: bound(16.0),
        bound_64_cores: bound(64.0),
        points,
    };
    Ok(HarnessReport {
        plan,
        config: base,
        points: Vec::new(),
        over_time: Vec::new(),
        over_time_offered_tps: rate,
        scaling: Some(scaling),
    })
}
