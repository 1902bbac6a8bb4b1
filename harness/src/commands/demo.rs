//! `iosv demo`: runs the believable-first demonstration (default configuration or `--config`),
//! with a progress bar, then prints and writes its report. Exit 0 when the invariants held, 1
//! when one failed, 2 on errors.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::bench::harness::{self, HarnessPlan};
use crate::commands;
use crate::demo::{self, DemoConfig, DemoReport, Progress};
use crate::input;
use crate::report::{plots, svg};

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
    /// serve` services, local CPU fallback); overrides the configuration's `backend` [default:
    /// the configuration's, else each league on the local CPU].
    #[arg(long)]
    pub backend: Option<commands::backend::BackendSpec>,
    #[command(flatten)]
    pub remote: commands::backend::RemoteArgs,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn generating(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
        self.0.set_message("signing the clients' transactions");
    }

    fn running(&self, elapsed: f64, total: f64, finalized: u64) {
        self.0.set_length((total * 10.0) as u64);
        self.0.set_position((elapsed * 10.0) as u64);
        self.0
            .set_message(format!("running: {finalized} transactions finalized"));
    }

    fn draining(&self) {
        self.0
            .set_message("load done; finishing pending blocks and cross-shard commits");
    }
}

/// Most rates one `--sweep` runs.
const MAX_SWEEP_RATES: usize = 32;

/// Loads the configuration `--config` names, or the default one, with the flags applied.
pub fn config(args: &DemoArgs) -> anyhow::Result<DemoConfig> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = input::read_text(path, input::MAX_CONFIG_BYTES, "demo configuration")?;
            DemoConfig::from_json(&text).with_context(|| format!("{}", path.display()))?
        }
        None => DemoConfig::default(),
    };
    if let Some(rate) = args.rate {
        cfg.rate = rate;
    }
    if let Some(d) = args.duration {
        cfg.duration_s = d;
    }
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(backend) = &args.backend {
        cfg.backend = Some(backend.clone());
    }
    cfg.validate()?;
    anyhow::ensure!(
        args.sweep.len() <= MAX_SWEEP_RATES,
        "--sweep: {} rates given, at most {MAX_SWEEP_RATES}",
        args.sweep.len()
    );
    for &rate in &args.sweep {
        // Each swept run is the configuration at that rate: the same checks apply.
        DemoConfig {
            rate,
            ..cfg.clone()
        }
        .validate()
        .with_context(|| format!("--sweep rate {rate}"))?;
    }
    Ok(cfg)
}

pub fn run(args: &DemoArgs) -> anyhow::Result<bool> {
    let cfg = config(args)?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(true);
    }
    if !args.sweep.is_empty() {
        return sweep(&cfg, args);
    }
    let (verifier, remote) = match &cfg.backend {
        Some(spec) => {
            let (v, remote) = super::backend::open(spec, &args.remote)?;
            eprintln!("signatures verified by {}", v.describe());
            (Some(v), remote)
        }
        None => (None, None),
    };
    let report = run_with_bar(&cfg, verifier)?;
    print!("{}", demo::report::summary(&report));
    write(&report, &args.out)?;
    let mut honest = true;
    if let Some(remote) = remote {
        let stats = remote.stats();
        eprintln!("{}", super::backend::RemoteArgs::describe_stats(&stats));
        honest = stats.mismatches.is_empty();
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(report.invariants_ok && honest)
}

fn run_with_bar(
    cfg: &DemoConfig,
    verifier: Option<iosv_engine::sig::Verifier>,
) -> anyhow::Result<DemoReport> {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {msg}")
            .expect("a valid template"),
    );
    let report = demo::run::run_with_verifier(cfg, &Bar(bar.clone()), verifier)?;
    bar.finish_and_clear();
    Ok(report)
}

/// `--sweep`: one run per offered rate (the `harness` bench suite's runs, one each);
/// latency against finalized throughput.
fn sweep(base: &DemoConfig, args: &DemoArgs) -> anyhow::Result<bool> {
    let plan = HarnessPlan {
        rates: args.sweep.clone(),
        runs: 1,
        duration_s: base.duration_s,
        warmup_s: base.warmup_s,
    };
    let swept = harness::run_with(base.clone(), plan, &|line| println!("{line}"))?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let svg = args.out.join("demo-sweep.svg");
    fs::write(&svg, svg::render(&plots::harness_latency(&swept)))
        .with_context(|| format!("cannot write {}", svg.display()))?;
    let json = args.out.join("demo-sweep.json");
    fs::write(&json, serde_json::to_string_pretty(&swept.points)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    eprintln!("sweep written to {} and {}", svg.display(), json.display());
    if args.json {
        println!("{}", serde_json::to_string(&swept.points)?);
    }
    Ok(swept.points.iter().all(|p| p.invariants_ok))
}

fn write(report: &DemoReport, out: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let json = out.join("demo-report.json");
    fs::write(&json, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    let md = out.join("demo-summary.md");
    fs::write(
        &md,
        format!("# iosv demo\n\n```\n{}```\n", demo::report::summary(report)),
    )
    .with_context(|| format!("cannot write {}", md.display()))?;
    eprintln!("report written to {} and {}", json.display(), md.display());
    Ok(())
}
