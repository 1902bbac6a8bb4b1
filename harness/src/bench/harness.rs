//! `iosv bench harness`: the protocol demonstration (`iosv demo`) measured at several offered
//! rates, several runs each — finalized and optimistic throughput and latency against the offered
//! load, and the finalized rate and p99 latency over time in the busiest run.

use serde::Serialize;

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
            let cfg = DemoConfig {
                rate,
                duration_s: plan.duration_s,
                warmup_s: plan.warmup_s,
                seed: base.seed + run as u64,
                ..base.clone()
            };
            let r = demo::run(&cfg, &Quiet)?;
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
    })
}
