//! `iosv simulate`: runs the deterministic simulator and writes its trace; `iosv simulate
//! shard-safety`: the shard-safety table (exact hypergeometric beside measured). Exit 0 when the
//! protocol's guarantees held, 1 when one failed, 2 on errors.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::parse::faulty_fraction;
use crate::config_kind::{self, ConfigKind};
use crate::demo::DemoConfig;
use crate::demo::run::simulated;
use crate::input;
use crate::runtime;
use crate::shard::{safety, safety_report};
use crate::sim::{self, Checks, Record, SimConfig, SimReport};

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
    /// Configuration (JSON), of the kind its `"kind"` field says: `"simulation"` (the default when
    /// absent; see `sim::config`; `"randomness": "drp"` or `"placeholder"`, the default in a
    /// file) or `"demo"` (`iosv demo --print-config` writes one): the believable-first
    /// demonstration in the simulator, with its optional "simulation" section (network,
    /// partitions, crashes of normal-league members; see `demo::sim_config`). Without it: 16
    /// validators, 2 shards, the DRP, Δ = 400 ms.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// With a demo configuration: where its report (sim-demo-report.json) is written.
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

/// Seed when `--seed` is not given.
const DEFAULT_SEED: u64 = 1;
/// Epochs when `--epochs` is not given.
const DEFAULT_EPOCHS: u64 = 3;
/// Longest `--realtime` run (epochs × epoch length), in seconds.
const MAX_REALTIME_S: f64 = 3_600.0;

/// Runs the subcommand; `Ok(false)` means a guarantee failed.
pub fn run(args: &SimulateArgs) -> anyhow::Result<bool> {
    if let Some(SimulateReport::ShardSafety(a)) = &args.report {
        shard_safety(a)?;
        return Ok(true);
    }
    let cfg = match &args.config {
        Some(path) => {
            let text = input::read_text(path, input::MAX_CONFIG_BYTES, "configuration")?;
            match config_kind::kind_of(&text).with_context(|| path.display().to_string())? {
                ConfigKind::Demo => return demo_config(path, args),
                ConfigKind::Simulation => SimConfig::from_json(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} (a simulation configuration: it has no \"kind\" or \"kind\": \
                         \"simulation\"; a demo configuration says \"kind\": \"demo\", as \
                         `iosv demo --print-config` writes): {e}",
                        path.display()
                    )
                })?,
            }
        }
        None => SimConfig::with_drp(),
    };
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(true);
    }
    let seed = args.seed.unwrap_or(DEFAULT_SEED);
    let epochs = args.epochs.unwrap_or(DEFAULT_EPOCHS);
    cfg.check_budget(epochs)?;
    if args.realtime {
        return realtime(&cfg, seed, epochs, args.json);
    }
    let report = match &args.trace {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let (report, mut w) = sim::run(&cfg, seed, epochs, BufWriter::new(file))?;
            w.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            report
        }
        None => sim::run(&cfg, seed, epochs, std::io::sink())?.0,
    };
    print_summary(&report);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(passed(&report.checks))
}

/// `--config` named a demo configuration: the believable-first demo in the deterministic
/// simulator (`demo::run::simulated`), its trace written to `--trace`, its report to `--out`.
/// `--seed` replaces the configuration's seed. The flags that only mean something to the epoch
/// simulation or to the real-time demo are refused rather than ignored.
fn demo_config(path: &Path, args: &SimulateArgs) -> anyhow::Result<bool> {
    for (given, flag) in [
        (args.epochs.is_some(), "--epochs"),
        (args.realtime, "--realtime"),
    ] {
        anyhow::ensure!(
            !given,
            "{flag} does not apply to a demo configuration ({}): the simulated demo runs for \
             its duration_s (`iosv demo` runs it in real time)",
            path.display()
        );
    }
    let text = input::read_text(path, input::MAX_CONFIG_BYTES, "configuration")?;
    let cfg = DemoConfig::from_json(&text).with_context(|| path.display().to_string())?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(true);
    }
    let seed = args.seed.unwrap_or(cfg.seed);
    let report = match &args.trace {
        Some(trace) => {
            let file = File::create(trace)
                .with_context(|| format!("cannot create {}", trace.display()))?;
            simulated::run(&cfg, seed, BufWriter::new(file))
                .with_context(|| format!("cannot write {}", trace.display()))?
        }
        None => simulated::run(&cfg, seed, std::io::sink())?,
    };
    let r = &report;
    println!(
        "iosv simulate (demo): {} shards, seed {}, {:.2} virtual s: {} sent, {} finalized, {} \
         blocks, {} finality heights ({} by PBFT), frauds {} injected / {} caught, {} audits \
         without a verdict",
        r.shards,
        r.seed,
        r.virtual_s,
        r.sent,
        r.finalized,
        r.blocks,
        r.finality_heights,
        r.pbft_heights,
        r.frauds_injected,
        r.frauds_caught,
        r.verdicts_missing
    );
    println!("trace: {} lines, sha256 {}", r.trace_lines, r.trace_sha256);
    for e in &r.errors {
        println!("error: {e}");
    }
    println!(
        "invariants: {}",
        if r.invariants.ok() { "OK" } else { "FAILED" }
    );
    if !r.invariants.ok() {
        println!("{}", serde_json::to_string_pretty(&r.invariants)?);
    }
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let file = args.out.join("sim-demo-report.json");
    fs::write(&file, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(report.ok())
}

/// `--realtime`: the validators on threads, in real time, for `epochs` epochs.
fn realtime(cfg: &SimConfig, seed: u64, epochs: u64, json: bool) -> anyhow::Result<bool> {
    let params = cfg.epoch_params();
    let duration = std::time::Duration::from_micros(params.epoch_len.saturating_mul(epochs));
    anyhow::ensure!(
        duration.as_secs_f64() <= MAX_REALTIME_S,
        "--realtime with {epochs} epochs of {:.1} s would run {:.0} s; the limit is \
         {MAX_REALTIME_S:.0} s",
        params.epoch_len as f64 / 1e6,
        duration.as_secs_f64()
    );
    let nodes = sim::run::validators(cfg, seed)?;
    eprintln!(
        "running {} validators in real time for {:.1} s",
        cfg.validators,
        duration.as_secs_f64()
    );
    let records: Vec<Record> = runtime::run(nodes, duration)
        .into_iter()
        .map(|r| Record {
            at: r.at,
            node: r.node,
            output: r.output,
        })
        .collect();
    let honest: Vec<bool> = (0..cfg.validators)
        .map(|v| cfg.behavior_of(v).is_honest())
        .collect();
    let c = sim::checks::check(&records, &honest, cfg, epochs);
    print_epochs(&c);
    if json {
        println!("{}", serde_json::to_string(&c)?);
    }
    Ok(passed(&c))
}

fn print_summary(r: &SimReport) {
    println!(
        "seed {}  epochs {}  validators {}  shards {}  Δ {} ms  randomness: {}",
        r.seed,
        r.epochs,
        r.validators,
        r.shards,
        r.delta_us / 1000,
        r.randomness_protocol
    );
    print_epochs(&r.checks);
    let m = &r.shard_metrics;
    println!(
        "shards: committed {:?}  transitions {}  refused {}  min ready fraction in TransEpoch {:.3}  unsafe moments {}  stalled slots {}  min committed per slice in TransEpoch {:?}",
        r.committed_per_shard,
        m.transitions.iter().filter(|t| t.refused.is_none()).count(),
        m.transitions.iter().filter(|t| t.refused.is_some()).count(),
        m.min_ready_fraction,
        m.safety_violations,
        m.stalled_slots,
        m.min_committed_in_transition
    );
    println!("trace: {} lines, sha256 {}", r.trace_lines, r.trace_sha256);
}

fn print_epochs(c: &Checks) {
    for e in &c.epochs {
        match (&e.value, e.view, e.leader) {
            (Some(v), Some(view), Some(leader)) => println!(
                "  epoch {:>3}: randomness {}…  view {} leader {} (rank {})  accepted by {} honest  excluded {:?}",
                e.epoch,
                &v[..16],
                view,
                leader,
                e.rank.unwrap_or(0),
                e.honest_accepted,
                e.excluded
            ),
            _ => println!(
                "  epoch {:>3}: no randomness (failed views {}, excluded {:?})",
                e.epoch, e.failed_views, e.excluded
            ),
        }
    }
    println!(
        "agreement: {}  elected within 3Δ: {} (max {} µs)  randomness in every epoch: {} ({} of {})  exclusions {}  failed views {}",
        ok(c.agreement),
        ok(c.within_3_delta),
        c.max_elapsed_us,
        ok(every_epoch_has_randomness(c)),
        c.epochs_with_randomness,
        c.epochs.len(),
        c.exclusions,
        c.failed_views
    );
    if !c.lottery_rejects.is_empty() {
        println!("rejected lotteries: {:?}", c.lottery_rejects);
    }
}

/// Every check [`print_epochs`] prints: agreement, election within 3Δ, and randomness in every
/// epoch (an epoch whose views all failed keeps the previous randomness: the protocol's
/// fallback, but not the outcome the run is judged by; "within 3Δ" alone would pass vacuously).
fn passed(c: &Checks) -> bool {
    c.agreement && c.within_3_delta && every_epoch_has_randomness(c)
}

/// Some honest validator accepted randomness in every epoch of the run (a node cut off by a
/// partition may still fail its views there: that is counted in `failed views`).
fn every_epoch_has_randomness(c: &Checks) -> bool {
    c.epochs_with_randomness == c.epochs.len() as u64
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "FAILED" }
}

/// Bound on a shard-safety run's work, samples × validators × sizes × fractions: the default
/// table (6.5·10^8) takes 6.1 s on the development machine, so this is about ten minutes there.
pub const MAX_SAFETY_WORK: f64 = 6e10;
/// Most shard sizes or fractions in one table.
const MAX_SAFETY_ROWS: usize = 64;

/// Checks the shard-safety flags against each other and the work bound.
fn check_safety_args(args: &ShardSafetyArgs) -> anyhow::Result<()> {
    for (flag, n) in [
        ("--sizes", args.sizes.len()),
        ("--fractions", args.fractions.len()),
    ] {
        anyhow::ensure!(
            (1..=MAX_SAFETY_ROWS).contains(&n),
            "{flag}: {n} values given, 1 to {MAX_SAFETY_ROWS} are allowed"
        );
    }
    if let Some(size) = args.sizes.iter().find(|&&s| s == 0 || s > args.validators) {
        anyhow::bail!(
            "--sizes: a shard of {size} is outside 1 to the {} validators",
            args.validators
        );
    }
    let work = args.samples as f64
        * f64::from(args.validators)
        * args.sizes.len() as f64
        * args.fractions.len() as f64;
    anyhow::ensure!(
        work <= MAX_SAFETY_WORK,
        "--samples {} × --validators {} × {} sizes × {} fractions = {work:.2e}, over the limit \
         of {MAX_SAFETY_WORK:.0e} (about ten minutes on a 2-core machine)",
        args.samples,
        args.validators,
        args.sizes.len(),
        args.fractions.len()
    );
    Ok(())
}

fn shard_safety(args: &ShardSafetyArgs) -> anyhow::Result<()> {
    check_safety_args(args)?;
    let started = std::time::Instant::now();
    let report = safety::report(
        args.validators,
        &args.sizes,
        &args.fractions,
        args.samples,
        args.seed,
    );
    let mut md = safety_report::markdown(&report, &args.fractions);
    md.push_str(&format!(
        "\nMeasured on {} ({} cores available) in {:.1} s.\n",
        iosv_engine::platform::cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        started.elapsed().as_secs_f64()
    ));
    print!("{md}");
    if let Some(dir) = &args.out {
        fs::create_dir_all(dir)?;
        write(
            &dir.join("shard-safety.json"),
            &(serde_json::to_string_pretty(&report)? + "\n"),
        )?;
        write(&dir.join("shard-safety.md"), &md)?;
        eprintln!("written to {}/shard-safety.{{json,md}}", dir.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
