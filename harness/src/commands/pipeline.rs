//! `iosv pipeline`: real signed transactions through the engine's pipeline at a fixed open-loop
//! rate (or as fast as admitted); reports committed tx/s, admission → commit latency and the time
//! spent in each stage.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use iosv_engine::pipeline::{Outcome, Pipeline, PipelineConfig, PipelineReport};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::utxo::UtxoSet;
use iosv_engine::workload::TxWorkload;
use serde::Serialize;

use super::gen_sigs::parse_key_reuse;
use crate::cli::PipelineArgs;

#[derive(Serialize)]
struct Summary {
    transactions: usize,
    inputs_per_tx: usize,
    offered_rate: Option<f64>,
    /// Rate at which the submitter actually admitted transactions.
    admitted_tps: f64,
    /// Committed transactions per second, from the first admission to the last commit.
    committed_tps: f64,
    committed: u64,
    rejected: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// How far the open-loop submitter fell behind its schedule at worst (backpressure).
    max_submit_lag_ms: f64,
    verify_threads: usize,
    pipeline: PipelineReport,
}

pub fn run(args: &PipelineArgs) -> anyhow::Result<()> {
    let reuse = parse_key_reuse(&args.keys)?;
    eprintln!(
        "generating {} signed transactions ({} input(s) each)...",
        args.tx, args.inputs
    );
    let workload = TxWorkload::generate(args.tx, args.inputs as usize, reuse, args.seed);
    let utxo = Arc::new(UtxoSet::new());
    for (outpoint, output) in workload.genesis {
        utxo.insert_genesis(outpoint, output)
            .context("genesis output")?;
    }
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    let config = PipelineConfig {
        verify_workers: threads,
        ..PipelineConfig::default()
    };
    let (submitter, pipeline) = Pipeline::start(config, utxo, Verifier::new(Backend::Cpu)?);

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

    eprintln!("submitting...");
    let start = Instant::now();
    let mut max_lag = Duration::ZERO;
    let count = workload.txs.len();
    for (i, bytes) in workload.txs.into_iter().enumerate() {
        if let Some(rate) = args.rate {
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

    let summary = Summary {
        transactions: count,
        inputs_per_tx: args.inputs as usize,
        offered_rate: args.rate,
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
        pipeline: report,
    };
    print_text(&summary);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    }
    Ok(())
}

fn print_text(s: &Summary) {
    eprintln!(
        "committed {} of {} ({} rejected): {:.0} tx/s committed, {:.0} tx/s admitted",
        s.committed, s.transactions, s.rejected, s.committed_tps, s.admitted_tps
    );
    eprintln!(
        "latency admission -> commit: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms
    );
    for st in &s.pipeline.stages {
        eprintln!(
            "  {:<24} {:>9} {:<12} busy {:>7.3} s  ({:>9.0}/busy s)  max queue {}",
            st.stage, st.items, st.unit, st.busy_s, st.items_per_busy_s, st.max_queue_depth
        );
    }
}
