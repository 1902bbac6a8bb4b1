//! Command-line definitions (clap derive) and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

#[derive(Parser, Debug)]
#[command(
    name = "iosv",
    version,
    about = "iosv: validation engine and protocol harness for the IOS blockchain"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CPU's features and the arithmetic backend each verifier runs on.
    Info(InfoArgs),
    /// Verify JSON-lines signatures ({"pk","msg","sig"} in hex); one verdict line per input line.
    Verify(VerifyArgs),
    /// Write real signed JSON-lines input for `iosv verify` (deterministic from the seed).
    GenSigs(GenSigsArgs),
    /// Run a benchmark and print the comparison with peers measured in the same run.
    Bench(BenchArgs),
    /// Push real signed transactions through the validation pipeline; report tx/s and latency.
    Pipeline(PipelineArgs),
    /// Performance regression gate: same-run ratios against a peer, compared with a baseline.
    Gate(GateArgs),
}

#[derive(Args, Debug)]
pub struct GateArgs {
    /// Baseline file.
    #[arg(long, default_value = "perf-reports/gate-baseline.json")]
    pub baseline: PathBuf,
    /// Measure and write the baseline instead of judging.
    #[arg(long)]
    pub update: bool,
    /// Print the verdicts as JSON (last line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Number of transactions.
    #[arg(long, default_value_t = 100_000)]
    pub tx: usize,
    /// Offered rate in transactions per second (open loop); default: as fast as admitted.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Inputs (signatures) per transaction.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub inputs: u8,
    /// Signing keys: `distinct` or a number of accounts, Zipf-weighted.
    #[arg(long, default_value = "10000")]
    pub keys: String,
    /// Signature verification threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print a JSON summary as the last line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Input file, or `-` (the default) for standard input.
    pub input: Option<PathBuf>,
    /// Verification backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    pub backend: BackendArg,
    /// Signatures per verification batch (and lines per chunk of work).
    #[arg(long, default_value_t = commands::verify::DEFAULT_BATCH, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub batch: u32,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Verify with a peer library instead of the engine, through the same reading, parsing and
    /// writing: for whole-process comparisons only (peers do not follow ZIP-215 rules).
    #[arg(long, value_enum, conflicts_with = "backend")]
    pub peer: Option<PeerArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeerArg {
    /// ed25519-dalek 3 `verify_batch` (one verify per signature if a batch fails).
    Ed25519DalekBatch,
    /// ed25519-consensus's batch verifier.
    Ed25519ConsensusBatch,
}

#[derive(Args, Debug)]
pub struct GenSigsArgs {
    /// Number of signatures.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
    /// Signing keys: `distinct` (one per signature) or a number of accounts, Zipf-weighted.
    #[arg(long, default_value = "10000")]
    pub keys: String,
    /// Message length in bytes.
    #[arg(long, default_value_t = 32)]
    pub msg_len: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchSuite {
    Sigverify,
    /// Collective signatures (Schnorr CoSi, BLS with blst as peer), VRF and DLEQ proofs.
    Cosi,
    /// Every suite in turn (sigverify, cosi), written as a dated report under `--out`.
    All,
    /// GPU kernels against the CPU backend: rate by batch size, crossover, adapter, time split.
    Gpu,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Which benchmark.
    #[arg(value_enum, default_value_t = BenchSuite::Sigverify)]
    pub suite: BenchSuite,
    /// Fewer sizes and repetitions.
    #[arg(long)]
    pub quick: bool,
    /// Print the result as JSON (one object on the last line).
    #[arg(long)]
    pub json: bool,
    /// Folder for dated reports (`<out>/<YYYY-MM-DD>-<machine>/`: report.json, summary.md, SVG
    /// plots). `all` always writes one (default `perf-reports`); `sigverify` and `cosi` write one
    /// only when `--out` is given.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IOSV_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a parsed command line; exit code 0 on success, 2 on usage or I/O errors.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Info(args) => commands::info::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::GenSigs(args) => commands::gen_sigs::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
        Command::Pipeline(args) => commands::pipeline::run(&args),
        Command::Gate(args) => match commands::gate::run(&args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iosv: {e:#}");
            ExitCode::from(2)
        }
    }
}
