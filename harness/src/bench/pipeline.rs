//! The pipeline benchmark: real signed transactions through the engine's pipeline, end to end
//! (admission → commit), at a fixed open-loop rate or as fast as admitted.
//!
//! [`run_once`] is one run (`iosv pipeline` prints it); [`run`] repeats it on the same
//! transactions, each time on a fresh UTXO set, and reports the median and spread of the committed
//! rate, the latency percentiles and each stage's busy time — the stage breakdown that says which
//! stage bounds the rate.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use iosv_engine::pipeline::{Outcome, Pipeline, PipelineConfig, PipelineReport};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::utxo::UtxoSet;
use iosv_engine::workload::{KeyReuse, TxWorkload};
use serde::Serialize;

use super::timing::Spread;

/// One pipeline run.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineRun {
    pub transactions: usize,
    pub inputs_per_tx: usize,
    pub offered_rate: Option<f64>,
    /// Rate at which the submitter actually admitted transactions.
    pub admitted_tps: f64,
    /// Committed transactions per second, from the first admission to the last commit.
    pub committed_tps: f64,
    pub committed: u64,
    pub rejected: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How far the open-loop submitter fell behind its schedule at worst (backpressure).
    pub max_submit_lag_ms: f64,
    pub verify_threads: usize,
    /// Where the signatures were verified (`cpu`, a GPU adapter, remote endpoints).
    pub backend: String,
    pub pipeline: PipelineReport,
}

/// Runs `workload` through a fresh pipeline on a fresh UTXO set holding its genesis outputs.
pub fn run_once(
    workload: &TxWorkload,
    inputs_per_tx: usize,
    rate: Option<f64>,
    threads: usize,
    verifier: Verifier,
) -> anyhow::Result<PipelineRun> {
    let backend = verifier.describe();
    let utxo = Arc::new(UtxoSet::new());
    for (outpoint, output) in &workload.genesis {
        utxo.insert_genesis(*outpoint, *output)
            .context("genesis output")?;
    }
    let config = PipelineConfig {
        verify_workers: threads,
        ..PipelineConfig::default()
    };
    let (submitter, pipeline) = Pipeline::start(config, utxo, verifier);

    let outcomes = pipeline.outcomes().clone();
    let drain = thread::spawn(move || {
        let (mut committed, mut rejected) = (0u64, 0u64);
        let mut last_commit = None;
        for outcome in outcomes.iter() {
            match outcome {
                Outcome::Committed { .. } => {
                    committed += 1;
                    last_commit = Some(Instant::now());
                }
                Outcome::Rejected { .. } => rejected += 1,
            }
        }
        (committed, rejected, last_commit)
    });

    let txs = workload.txs.clone();
    let count = txs.len();
    let start = Instant::now();
    let mut max_lag = Duration::ZERO;
    for (i, bytes) in txs.into_iter().enumerate() {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            } else {
                max_lag = max_lag.max(now - due);
            }
        }
        submitter
            .submit(bytes)
            .map_err(|_| anyhow::anyhow!("the pipeline stopped early"))?;
    }
    let admitted_s = start.elapsed().as_secs_f64();
    drop(submitter);
    let (committed, rejected, last_commit) = drain.join().expect("outcome drain thread");
    let report = pipeline.join();
    let span = last_commit.map_or(f64::NAN, |t| (t - start).as_secs_f64());

    Ok(PipelineRun {
        transactions: count,
        inputs_per_tx,
        offered_rate: rate,
        admitted_tps: count as f64 / admitted_s,
        committed_tps: committed as f64 / span,
        committed,
        rejected,
        p50_ms: report.latency_ms.p50,
        p95_ms: report.latency_ms.p95,
        p99_ms: report.latency_ms.p99,
        max_ms: report.latency_ms.max,
        max_submit_lag_ms: max_lag.as_secs_f64() * 1000.0,
        verify_threads: threads,
        backend,
        pipeline: report,
    })
}

/// What [`run`] measures.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PipelinePlan {
    pub transactions: usize,
    pub runs: usize,
    /// `None`: as fast as admitted.
    pub rate: Option<f64>,
}

impl PipelinePlan {
    pub const QUICK: PipelinePlan = PipelinePlan {
        transactions: 100_000,
        runs: 5,
        rate: None,
    };
    /// The headline run: a million transactions, five times.
    pub const FULL: PipelinePlan = PipelinePlan {
        transactions: 1_000_000,
        runs: 5,
        rate: None,
    };
}

/// One stage over the runs.
#[derive(Clone, Debug, Serialize)]
pub struct StageSpread {
    pub stage: String,
    pub unit: String,
    /// Busy seconds of the stage's threads (summed over threads).
    pub busy_s: Spread,
    /// Busy time per committed transaction, microseconds.
    pub busy_us_per_tx: Spread,
}

#[derive(Clone, Debug, Serialize)]
pub struct PipelineBenchReport {
    pub plan: PipelinePlan,
    pub inputs_per_tx: usize,
    pub key_reuse: String,
    pub verify_threads: usize,
    /// Seconds spent generating and signing the transactions (not timed in the runs).
    pub setup_seconds: f64,
    pub committed_tps: Spread,
    pub p50_ms: Spread,
    pub p95_ms: Spread,
    pub p99_ms: Spread,
    pub stages: Vec<StageSpread>,
    pub runs: Vec<PipelineRun>,
}

/// Generates the plan's transactions once — one input each, keys drawn Zipf-weighted from 10,000
/// accounts, seed 1: the same workload as `iosv pipeline`'s defaults — and runs them `plan.runs`
/// times; `log` gets one line per run.
pub fn run(plan: PipelinePlan, log: impl Fn(String)) -> anyhow::Result<PipelineBenchReport> {
    let setup = Instant::now();
    let workload = TxWorkload::generate(plan.transactions, 1, KeyReuse::SKEWED_10K, 1);
    let setup_seconds = setup.elapsed().as_secs_f64();
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let mut runs = Vec::with_capacity(plan.runs);
    for i in 0..plan.runs {
        let r = run_once(
            &workload,
            1,
            plan.rate,
            threads,
            Verifier::new(Backend::Cpu)?,
        )?;
        log(format!(
            "pipeline run {}/{}: {:.0} tx/s committed, p50 {:.1} ms, p99 {:.1} ms",
            i + 1,
            plan.runs,
            r.committed_tps,
            r.p50_ms,
            r.p99_ms
        ));
        runs.push(r);
    }
    let spread = |f: &dyn Fn(&PipelineRun) -> f64| Spread::of(runs.iter().map(f).collect());
    let stages = runs[0]
        .pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(k, st)| StageSpread {
            stage: st.stage.to_string(),
            unit: st.unit.to_string(),
            busy_s: spread(&|r| r.pipeline.stages[k].busy_s),
            busy_us_per_tx: spread(&|r| {
                r.pipeline.stages[k].busy_s * 1e6 / (r.committed.max(1) as f64)
            }),
        })
        .collect();
    Ok(PipelineBenchReport {
        plan,
        inputs_per_tx: 1,
        key_reuse: "zipf-10000".to_string(),
        verify_threads: threads,
        setup_seconds,
        committed_tps: spread(&|r| r.committed_tps),
        p50_ms: spread(&|r| r.p50_ms),
        p95_ms: spread(&|r| r.p95_ms),
        p99_ms: spread(&|r| r.p99_ms),
        stages,
        runs,
    })
}
