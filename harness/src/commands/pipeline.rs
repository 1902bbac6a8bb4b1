//! `iosv pipeline`: real signed transactions through the engine's pipeline at a fixed open-loop
//! rate (or as fast as admitted); reports committed tx/s, admission → commit latency and the time
//! spent in each stage.

use clap::Args;
use iosv_engine::workload::TxWorkload;

use super::gen_sigs::parse_key_reuse;
use super::parse::offered_rate;
use crate::bench::pipeline::{PipelineRun, StageThreads, run_once, run_pinned};
use crate::commands;

#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Number of transactions, 1 to 2,000,000: they are generated and signed in memory before
    /// the run (measured: about 2.1–2.7 KB each, so up to ~5.5 GB).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
    pub tx: u64,
    /// Offered rate in transactions per second (open loop), 1 to 100,000,000; default: as fast
    /// as admitted.
    #[arg(long, value_parser = offered_rate)]
    pub rate: Option<f64>,
    /// Inputs (signatures) per transaction.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub inputs: u8,
    /// Signing keys: `distinct` or a number of accounts, Zipf-weighted.
    #[arg(long, default_value = "10000")]
    pub keys: String,
    /// Cores to size the stages for (default: all): N signature verifiers, N/4 (rounded up)
    /// decoders, N UTXO threads (at most 16; 1 below 4 cores when the CPU verifies the
    /// signatures, where the commit thread alone is not the bound).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Decoding threads, overriding the number `--threads` gives.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub decode_threads: Option<u32>,
    /// UTXO lookup and apply threads, overriding the number `--threads` gives.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub utxo_threads: Option<u32>,
    /// Hold the run to `--threads` cores (Linux), so the figure is what that many cores give.
    #[arg(long, requires = "threads")]
    pub pin: bool,
    /// Where signatures are verified: cpu, gpu, auto, or remote:HOST:PORT[,HOST:PORT…] (an
    /// `iosv serve` service, local CPU fallback).
    #[arg(long, default_value = "cpu")]
    pub backend: commands::backend::BackendSpec,
    #[command(flatten)]
    pub remote: commands::backend::RemoteArgs,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print a JSON summary as the last line.
    #[arg(long)]
    pub json: bool,
}

/// Exits 1 when a remote endpoint was caught giving a wrong verdict.
pub fn run(args: &PipelineArgs) -> anyhow::Result<bool> {
    let reuse = parse_key_reuse(&args.keys)?;
    eprintln!(
        "generating {} signed transactions ({} input(s) each)...",
        args.tx, args.inputs
    );
    let workload = TxWorkload::generate(args.tx as usize, args.inputs as usize, reuse, args.seed);
    let (verifier, remote) = super::backend::open(&args.backend, &args.remote)?;
    let mut threads = match args.threads {
        Some(n) => StageThreads::for_cores(n as usize, verifier.cpu_only()),
        None => StageThreads::machine(verifier.cpu_only()),
    };
    if let Some(n) = args.decode_threads {
        threads.decode = n as usize;
    }
    if let Some(n) = args.utxo_threads {
        threads.utxo = n as usize;
    }
    eprintln!(
        "submitting (signatures verified by {}; threads: {} decode, {} verify, {} UTXO{})...",
        verifier.describe(),
        threads.decode,
        threads.verify,
        threads.utxo,
        match (args.pin, args.threads) {
            (true, Some(n)) => format!("; held to {n} core(s)"),
            _ => String::new(),
        }
    );
    let (inputs, rate) = (args.inputs as usize, args.rate);
    let summary = match (args.pin, args.threads) {
        (true, Some(cores)) => {
            run_pinned(&workload, inputs, rate, cores as usize, threads, verifier)?
        }
        _ => run_once(&workload, inputs, rate, threads, verifier)?,
    };
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
