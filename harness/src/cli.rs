//! The `iosv` command line: the subcommands and their dispatch. Each command's module owns its
//! arguments (clap derive) and returns whether its checks passed; this file only lists them.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Info(commands::info::InfoArgs),
    /// Verify JSON-lines signatures ({"pk","msg","sig"} in hex); one verdict line per input line.
    Verify(commands::verify::VerifyArgs),
    /// Write real signed JSON-lines input for `iosv verify` (deterministic from the seed).
    GenSigs(commands::gen_sigs::GenSigsArgs),
    /// Run a benchmark and print the comparison with peers measured in the same run.
    Bench(commands::bench::BenchArgs),
    /// Push real signed transactions through the validation pipeline; report tx/s and latency.
    Pipeline(commands::pipeline::PipelineArgs),
    /// Believable-first processing end to end: shards, both leagues, sampling with fraud proofs,
    /// CoSi finality, Atomix; prints and writes the report (exit 1 if an invariant failed).
    Demo(commands::demo::DemoArgs),
    /// Performance regression gate: same-run ratios against a peer, compared with a baseline.
    Gate(commands::gate::GateArgs),
    /// Run the deterministic protocol simulator (epochs, VRF leader election, shards, TransEpoch)
    /// and write its event trace; or, with `shard-safety`, the shard-safety table.
    Simulate(commands::simulate::SimulateArgs),
    /// Compare two benchmark reports (report.json): every figure both hold, with new/base ratios.
    Compare(commands::compare::CompareArgs),
    /// Check a DRP transcript: prints the output and exits 0, or names the first failing check
    /// and exits 1 (2: unreadable or malformed file).
    VerifyDrp(commands::verify_drp::VerifyDrpArgs),
    /// Run one DRP session in memory and write its transcript.
    Drp(commands::drp::DrpArgs),
    /// Run a shard with Micro State Blocks; time bootstrap from the latest MSB against full replay.
    MsbBootstrap(commands::msb_bootstrap::MsbBootstrapArgs),
    /// Serve signature verification over gRPC (mTLS, load shedding, Prometheus metrics) until
    /// SIGINT/SIGTERM.
    Serve(commands::serve::ServeArgs),
    /// Open-loop load against `iosv serve` endpoints; checks every verdict (exit 1 on a wrong
    /// one).
    Load(commands::load::LoadArgs),
    /// One validator process: a finality member over authenticated TCP, its state in its own
    /// store (restarts from it after any crash, SIGKILL included).
    Node(commands::node::NodeArgs),
    /// Networks of node processes: write one (`init`), run one on this host with faults and
    /// check it (`up`), check a stopped one's stores (`check`).
    Net(commands::net::NetArgs),
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
        Command::Node(args) => commands::node::run(&args),
        Command::Net(args) => commands::net::run(&args),
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
