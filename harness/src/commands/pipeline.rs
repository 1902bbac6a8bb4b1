//! `iosv pipeline`: real signed transactions through the engine's pipeline at a fixed open-loop
//! rate (or as fast as admitted); reports committed tx/s, admission → commit latency and the time
//! spent in each stage.

use std::thread;

use iosv_engine::workload::TxWorkload;

use super::gen_sigs::parse_key_reuse;
use crate::bench::pipeline::{PipelineRun, run_once};
use crate::cli::PipelineArgs;

/// Exits 1 when a remote endpoint was caught giving a wrong verdict.
pub fn run(args: &PipelineArgs) -> anyhow::Result<bool> {
    let reuse = parse_key_reuse(&args.keys)?;
    eprintln!(
        "generating {} signed transactions ({} input(s) each)...",
        args.tx, args.inputs
    );
    let workload = TxWorkload::generate(args.tx as usize, args.inputs as usize, reuse, args.seed);
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    let (verifier, remote) = super::backend::open(&args.backend, &args.remote)?;
    eprintln!(
        "submitting (signatures verified by {})...",
        verifier.describe()
    );
    let summary = run_once(
        &workload,
        args.inputs as usize,
        args.rate,
        threads,
        verifier,
    )?;
    print_text(&summary);
    if let Some(remote) = remote {
        let stats = remote.stats();
        eprintln!("{}", super::backend::RemoteArgs::describe_stats(&stats));
        if !stats.mismatches.is_empty() {
            print_json_if(args.json, &summary)?;
            return Ok(false);
        }
    }
    print_json_if(args.json, &summary)?;
    Ok(true)
}

fn print_json_if(json: bool, summary: &PipelineRun) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
    }
    Ok(())
}

fn print_text(s: &PipelineRun) {
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
