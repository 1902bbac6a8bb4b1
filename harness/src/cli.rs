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
    /// Believable-first processing end to end: shards, both leagues, sampling with fraud proofs,
    /// CoSi finality, Atomix; prints and writes the report (exit 1 if an invariant failed).
    Demo(DemoArgs),
    /// Performance regression gate: same-run ratios against a peer, compared with a baseline.
    Gate(GateArgs),
    /// Run the deterministic protocol simulator (epochs, VRF leader election, shards, TransEpoch)
    /// and write its event trace; or, with `shard-safety`, the shard-safety table.
    Simulate(SimulateArgs),
    /// Compare two benchmark reports (report.json): every figure both hold, with new/base ratios.
    Compare(CompareArgs),
    /// Check a DRP transcript: prints the output and exits 0, or names the first failing check
    /// and exits 1 (2: unreadable or malformed file).
    VerifyDrp(VerifyDrpArgs),
    /// Run one DRP session in memory and write its transcript.
    Drp(DrpArgs),
    /// Run a shard with Micro State Blocks; time bootstrap from the latest MSB against full replay.
    MsbBootstrap(MsbBootstrapArgs),
    /// Serve signature verification over gRPC (mTLS, load shedding, Prometheus metrics) until
    /// SIGINT/SIGTERM.
    Serve(commands::serve::ServeArgs),
    /// Open-loop load against `iosv serve` endpoints; checks every verdict (exit 1 on a wrong
    /// one).
    Load(commands::load::LoadArgs),
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference report.json (e.g. a committed one under perf-reports/).
    pub base: PathBuf,
    /// The report.json to compare with it.
    pub new: PathBuf,
    /// Print the comparison as JSON (one object on the last line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimulateArgs {
    #[command(subcommand)]
    pub report: Option<SimulateReport>,
    /// Seed of the run: keys, network draws, genesis assignment and workload derive from it
    /// [default: 1; with a demo configuration, the configuration's seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Epochs to simulate [default: 3]; at most what the configuration fits in a 512 MiB memory
    /// budget (the error names the limit).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Configuration (JSON; see `sim::config`; `"randomness": "drp"` or `"placeholder"`, the
    /// default in a file); without it: 16 validators, 2 shards, the DRP, Δ = 400 ms. A demo
    /// configuration (`iosv demo --print-config`) runs the believable-first demonstration.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// With a demo configuration: one run per offered rate (comma-separated tx/s), latency
    /// against finalized throughput plotted (demo-sweep.svg under --out).
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<f64>,
    /// With a demo configuration: where its report is written.
    #[arg(long, default_value = "target/iosv-demo")]
    pub out: PathBuf,
    /// Write the event trace (JSON lines) here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Print the full report as JSON (last line).
    #[arg(long)]
    pub json: bool,
    /// Print the configuration that would run (defaults filled in) as JSON, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Run the same validators in real time instead (one thread per node, channels for the
    /// network; the network model, crashes, partitions and shards are not applied, and there is
    /// no trace): prints the epochs' outcome and the same checks.
    #[arg(long, conflicts_with = "trace")]
    pub realtime: bool,
}

#[derive(Args, Debug)]
pub struct MsbBootstrapArgs {
    /// Epochs, each closed by an MSB.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub epochs: u64,
    /// Blocks per epoch.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub blocks_per_epoch: u32,
    /// Blocks after the last MSB.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub tail_blocks: u32,
    /// Transactions per block.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub txs_per_block: u32,
    /// Members of the shard roster that co-signs each MSB.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub roster_size: u32,
    /// Seed of the workload and the rosters.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timed repetitions (best is reported), 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Print only the JSON report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum SimulateReport {
    /// Probability that a shard has a third or more faulty members: exact hypergeometric beside
    /// the rate measured over simulated epoch assignments.
    ShardSafety(ShardSafetyArgs),
}

#[derive(Args, Debug)]
pub struct ShardSafetyArgs {
    /// Total validators, 1 to 1,000,000.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub validators: u32,
    /// Shard sizes, each 1 to the number of validators (at most 64 sizes).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "16,32,64,100,150,200,300,400,600"
    )]
    pub sizes: Vec<u32>,
    /// Faulty fractions of all validators, each in [0, 1) (at most 64).
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.33", value_parser = faulty_fraction)]
    pub fractions: Vec<f64>,
    /// Simulated epoch assignments per (size, fraction), 1 to 10,000,000 (see
    /// `commands::simulate::MAX_SAFETY_WORK` for the bound on the whole run).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub samples: u64,
    /// Seed of the sampled assignments.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder to write shard-safety.json and shard-safety.md into.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the report as JSON (last line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyDrpArgs {
    /// Transcript file (JSON, as `iosv drp --out` writes it).
    pub file: PathBuf,
    /// Print the verdict as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrpFaultArg {
    BadEncryptedShare,
    ForgedDealingProof,
    ForgedDecryptionProof,
    Withhold,
}

#[derive(Args, Debug)]
pub struct DrpArgs {
    /// Number of servers, 1 to 256: a session's memory grows with the square of the servers
    /// (measured: 128 servers 104 MB, 256 servers 372 MB, 512 servers 1.5 GB).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub servers: u32,
    /// Target group size, 1 to the number of servers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub group_size: u32,
    /// Epoch number.
    #[arg(long, default_value_t = 1)]
    pub epoch: u64,
    /// Seed of the keys and of the servers' randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Make one server Byzantine.
    #[arg(long, value_enum)]
    pub fault: Option<DrpFaultArg>,
    /// Which server is faulty (default 0).
    #[arg(long, requires = "fault")]
    pub faulty_server: Option<u32>,
    /// Write the transcript here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GateArgs {
    /// Baseline file.
    #[arg(long, default_value = "perf-reports/gate-baseline.json")]
    pub baseline: PathBuf,
    /// Measure and write this machine class's baseline instead of judging (other classes kept).
    #[arg(long, conflicts_with = "has_baseline")]
    pub update: bool,
    /// Only say whether the baseline file has this machine class (exit 0) or not (exit 1).
    #[arg(long)]
    pub has_baseline: bool,
    /// Print the verdicts as JSON (last line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// A demo configuration (JSON; `--print-config` shows the default one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Offered rate, tx/s, 1 to 10^7 (overrides the configuration).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured seconds, 0.1 to 3,600 (overrides the configuration).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seed (overrides the configuration).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the report (demo-report.json, demo-summary.md) is written.
    #[arg(long, default_value = "target/iosv-demo")]
    pub out: PathBuf,
    /// Print the configuration that would run, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Run once per offered rate (comma-separated tx/s, each 1 to 10^7, at most 32 rates) and
    /// plot latency against finalized throughput (demo-sweep.svg, demo-sweep.json under --out).
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<f64>,
    /// Print the report as JSON (one object on the last line).
    #[arg(long)]
    pub json: bool,
    /// Where the shards verify signatures: cpu, gpu, auto, or remote:HOST:PORT[,…] (`iosv
    /// serve` services, local CPU fallback) [default: each league on the local CPU].
    #[arg(long)]
    pub backend: Option<commands::backend::BackendSpec>,
    #[command(flatten)]
    pub remote: commands::backend::RemoteArgs,
}

/// Highest offered rate `pipeline` accepts: far above what any machine commits, low enough that
/// the interval between submissions stays a representable, non-zero duration.
pub const MAX_OFFERED_RATE: f64 = 100_000_000.0;
/// Longest message `gen-sigs` makes.
pub const MAX_GEN_MSG_LEN: usize = 1 << 20;

/// `--rate`: a finite number of transactions per second in [1, MAX_OFFERED_RATE].
fn offered_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of transactions per second"))?;
    if !(1.0..=MAX_OFFERED_RATE).contains(&rate) {
        return Err(format!(
            "{text} transactions per second is outside 1 to {MAX_OFFERED_RATE:.0}"
        ));
    }
    Ok(rate)
}

/// A faulty fraction: finite, in [0, 1).
fn faulty_fraction(text: &str) -> Result<f64, String> {
    let fraction: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a fraction"))?;
    if !(0.0..1.0).contains(&fraction) {
        return Err(format!("{text} is outside [0, 1)"));
    }
    Ok(fraction)
}

/// `--msg-len`: bytes, at most MAX_GEN_MSG_LEN.
fn message_length(text: &str) -> Result<usize, String> {
    let len: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a length in bytes"))?;
    if len > MAX_GEN_MSG_LEN {
        return Err(format!(
            "{len} bytes is over the limit of {MAX_GEN_MSG_LEN}"
        ));
    }
    Ok(len)
}

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
    /// decoders, N UTXO threads (at most 16).
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

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also open the GPU adapter and print its features, the limits that shape the kernels and
    /// the kernel variant it gets (exits 2 without an adapter).
    #[arg(long)]
    pub gpu: bool,
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
    /// Signatures per verification batch (and lines per chunk of work); default 1,024 on the CPU,
    /// 16,384 with `gpu`, 8,192 with `auto`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub batch: Option<u32>,
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
    /// Message length in bytes, at most 1 MiB (each message is held in memory while its
    /// signature is made and written).
    #[arg(long, default_value_t = 32, value_parser = message_length)]
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
    /// UTXO validation, apply and undo, the Merkle state commitment and fraud proofs.
    Utxo,
    /// The validation pipeline end to end, several runs: committed tx/s, latency, stage breakdown.
    Pipeline,
    /// Every suite in turn (sigverify, cosi, utxo, pipeline, harness), written as a dated report
    /// under `--out`.
    All,
    /// GPU kernels against the CPU backend: rate by batch size, crossover, adapter, time split.
    Gpu,
    /// The protocol demonstration (`iosv demo`) at several offered rates: finalized throughput
    /// against latency, and over time.
    Harness,
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
    /// Folder for dated reports (`<out>/<YYYY-MM-DD>-<machine>[-<suite>]/`: report.json,
    /// summary.md, SVG plots). `all` always writes one (default `perf-reports`); a single suite
    /// writes one only when `--out` (or `--flamegraph`) is given.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Profile each suite with pprof and write `flamegraph-<suite>.svg` beside the report (a
    /// single suite then writes its report under `--out`, default `perf-reports`).
    #[arg(long)]
    pub flamegraph: bool,
    /// `pipeline` only: a scaling sweep over these core counts (comma-separated, e.g. 1,2,4,8,16),
    /// the process held to each in turn; the report gains the curve and the serial-stage bound.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Vec<u32>,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IOSV_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a parsed command line. Exit codes, the same for every command: 0 when every check the
/// command prints passed, 1 when one failed (the command says which), 2 for usage, input and
/// I/O errors (clap's own usage errors are 2 as well).
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Info(args) => commands::info::run(&args).map(|()| true),
        Command::Verify(args) => commands::verify::run(&args).map(|()| true),
        Command::GenSigs(args) => commands::gen_sigs::run(&args).map(|()| true),
        Command::Bench(args) => commands::bench::run(&args).map(|()| true),
        Command::Pipeline(args) => commands::pipeline::run(&args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::Compare(args) => commands::compare::run(&args).map(|()| true),
        Command::Gate(args) => commands::gate::run(&args),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::VerifyDrp(args) => commands::verify_drp::run(&args),
        Command::Drp(args) => commands::drp::run(&args),
        Command::MsbBootstrap(args) => commands::msb_bootstrap::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Load(args) => commands::load::run(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("iosv: {e:#}");
            ExitCode::from(2)
        }
    }
}
