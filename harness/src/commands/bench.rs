//! `iosv bench`: run a benchmark, print a table (or JSON), peers measured in the same run.
//!
//! `iosv bench all` runs every suite under a progress bar and writes a dated report folder
//! ([`crate::report`]); the single suites write one only when `--out` is given.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use iosv_engine::platform;
use serde_json::json;

use anyhow::Context;

use crate::bench::cosi::{self, CosiPlan, CosiReport};
use crate::bench::gpu::{self, GpuPlan};
use crate::bench::harness::{self, HarnessPlan};
use crate::bench::pipeline::{self, PipelinePlan};
use crate::bench::sigverify::{self, SigverifyPlan, SigverifyReport};
use crate::bench::utxo::{self, UtxoPlan};
use crate::report::{self, BenchReport};

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
    /// `pipeline` and `harness` only: a scaling sweep over these core counts (comma-separated, e.g.
    /// 1,2,4,8,16), the process held to each in turn; the report gains the curve and the bound its
    /// one-thread work sets (`harness`: the demo at the plan's highest rate).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Vec<u32>,
    /// `harness` only: run at this offered rate (tx/s) instead of the plan's rates, e.g. a
    /// `--threads` sweep at a rate the smallest core count can still drain.
    #[arg(long, value_parser = super::parse::offered_rate)]
    pub rate: Option<f64>,
}

/// Where `iosv bench all` writes when no `--out` is given.
pub const DEFAULT_OUT: &str = "perf-reports";

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.threads.is_empty() || matches!(args.suite, BenchSuite::Pipeline | BenchSuite::Harness),
        "--threads (a core-count sweep) applies to the pipeline and harness suites only"
    );
    anyhow::ensure!(
        args.rate.is_none() || matches!(args.suite, BenchSuite::Harness),
        "--rate applies to the harness suite only"
    );
    match args.suite {
        BenchSuite::All => all_cmd(args),
        suite => single_cmd(args, suite),
    }
}

/// The suites `all` runs, in order.
const ALL_SUITES: [BenchSuite; 5] = [
    BenchSuite::Sigverify,
    BenchSuite::Cosi,
    BenchSuite::Utxo,
    BenchSuite::Pipeline,
    BenchSuite::Harness,
];

fn suite_name(suite: BenchSuite) -> &'static str {
    match suite {
        BenchSuite::Sigverify => "sigverify",
        BenchSuite::Cosi => "cosi",
        BenchSuite::Utxo => "utxo",
        BenchSuite::Pipeline => "pipeline",
        BenchSuite::Gpu => "gpu",
        BenchSuite::Harness => "harness",
        BenchSuite::All => "all",
    }
}

/// Measures one suite into `report`, under a pprof profiler when `profile` is set (returning its
/// flamegraph SVG). `log` gets one line per finished measurement.
fn measure_suite(
    suite: BenchSuite,
    quick: bool,
    sweep: &[usize],
    harness_rate: Option<f64>,
    profile: bool,
    report: &mut BenchReport,
    log: &dyn Fn(String),
) -> anyhow::Result<Option<Vec<u8>>> {
    let guard = if profile {
        Some(
            pprof::ProfilerGuardBuilder::default()
                .frequency(FLAMEGRAPH_HZ)
                .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                .build()?,
        )
    } else {
        None
    };
    match suite {
        BenchSuite::Sigverify => report.sigverify = Some(measure_sigverify(quick, log)),
        BenchSuite::Cosi => report.cosi = Some(measure_cosi(quick, log)),
        BenchSuite::Utxo => {
            let plan = if quick {
                UtxoPlan::QUICK
            } else {
                UtxoPlan::FULL
            };
            report.utxo = Some(utxo::run(plan, log)?);
        }
        BenchSuite::Pipeline => {
            let plan = if quick {
                PipelinePlan::QUICK
            } else {
                PipelinePlan::FULL
            };
            report.pipeline = Some(if sweep.is_empty() {
                pipeline::run(plan, log)?
            } else {
                pipeline::sweep(plan, sweep, log)?
            });
        }
        BenchSuite::Gpu => {
            let plan = if quick { GpuPlan::QUICK } else { GpuPlan::FULL };
            let r = gpu::measure(plan, log)?;
            if r.software_adapter {
                log(format!(
                    "note: {} is a software adapter: these figures check correctness, not GPU speed",
                    r.adapter.name
                ));
            }
            match r.crossover_batch {
                Some(b) => log(format!(
                    "crossover: the GPU beats all CPU threads from batch {b}"
                )),
                None => log(
                    "crossover: the GPU never beat all CPU threads at the measured sizes".into(),
                ),
            }
            report.machine.gpu_adapter = format!(
                "{} ({}, {}, {})",
                r.adapter.name, r.adapter.device_type, r.adapter.backend, r.adapter.driver_info
            );
            report.gpu = Some(r);
        }
        BenchSuite::Harness => {
            let mut plan = if quick {
                HarnessPlan::quick()
            } else {
                HarnessPlan::full()
            };
            if let Some(rate) = harness_rate {
                plan.rates = vec![rate];
            }
            report.harness = Some(if sweep.is_empty() {
                harness::run(plan, log)?
            } else {
                harness::sweep(crate::demo::DemoConfig::default(), plan, sweep, log)?
            });
        }
        BenchSuite::All => unreachable!("`all` is split into its suites by the caller"),
    }
    let Some(guard) = guard else {
        return Ok(None);
    };
    let mut svg = Vec::new();
    guard.report().build()?.flamegraph(&mut svg)?;
    Ok(Some(svg))
}

/// pprof's sampling rate for `--flamegraph`: about 1 ms, odd so as not to beat with periodic work.
const FLAMEGRAPH_HZ: i32 = 999;

fn all_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    let bar = ProgressBar::new(ALL_SUITES.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "[{elapsed_precise}] {bar:30} {pos}/{len} suites: {msg}",
    )?);
    let mut report = BenchReport::empty(report::date::today_utc());
    let mut flamegraphs = Vec::new();
    for suite in ALL_SUITES {
        bar.set_message(suite_name(suite));
        bar.tick();
        let log = |line: String| bar.println(line);
        if let Some(svg) = measure_suite(
            suite,
            args.quick,
            &[],
            None,
            args.flamegraph,
            &mut report,
            &log,
        )? {
            flamegraphs.push((suite, svg));
        }
        bar.inc(1);
    }
    bar.finish_with_message("done");
    print_ratios(&report);
    let dir = write_report(&out, &report)?;
    write_flamegraphs(&dir, &flamegraphs)?;
    if args.json {
        println!(
            "{}",
            json!({ "suite": "all", "dir": dir, "report": report })
        );
    }
    Ok(())
}

fn single_cmd(args: &BenchArgs, suite: BenchSuite) -> anyhow::Result<()> {
    let mut report = BenchReport::empty(report::date::today_utc());
    let log = |line: String| eprintln!("{line}");
    let sweep: Vec<usize> = args.threads.iter().map(|&n| n as usize).collect();
    let flamegraph = measure_suite(
        suite,
        args.quick,
        &sweep,
        args.rate,
        args.flamegraph,
        &mut report,
        &log,
    )?;
    print_ratios(&report);
    if args.json {
        let suite_report = match suite {
            BenchSuite::Sigverify => serde_json::to_value(&report.sigverify)?,
            BenchSuite::Cosi => serde_json::to_value(&report.cosi)?,
            BenchSuite::Utxo => serde_json::to_value(&report.utxo)?,
            BenchSuite::Pipeline => serde_json::to_value(&report.pipeline)?,
            BenchSuite::Gpu => serde_json::to_value(&report.gpu)?,
            BenchSuite::Harness => serde_json::to_value(&report.harness)?,
            BenchSuite::All => unreachable!("handled by all_cmd"),
        };
        let out = json!({
            "suite": suite_name(suite),
            "machine": machine_json(),
            "report": suite_report,
        });
        println!("{out}");
    }
    let out = match (&args.out, &flamegraph) {
        (Some(out), _) => Some(out.clone()),
        (None, Some(_)) => Some(PathBuf::from(DEFAULT_OUT)),
        (None, None) => None,
    };
    if let Some(out) = out {
        let folder = format!("{}-{}", report.folder_name(), suite_name(suite));
        let dir = report::write_into(&out.join(folder), &report)?;
        eprintln!("report written to {}", dir.display());
        if let Some(svg) = flamegraph {
            write_flamegraphs(&dir, &[(suite, svg)])?;
        }
    }
    Ok(())
}

fn write_flamegraphs(dir: &Path, flamegraphs: &[(BenchSuite, Vec<u8>)]) -> anyhow::Result<()> {
    for (suite, svg) in flamegraphs {
        let path = dir.join(format!("flamegraph-{}.svg", suite_name(*suite)));
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("flamegraph written to {}", path.display());
    }
    Ok(())
}

fn print_ratios(report: &BenchReport) {
    if let Some(sv) = &report.sigverify {
        print_sigverify_ratios(sv);
    }
    if let Some(cosi) = &report.cosi {
        print_cosi_ratios(cosi);
    }
    if let Some(h) = &report.harness {
        for p in &h.points {
            eprintln!(
                "harness: offered {:.0} tx/s -> {:.0} tx/s finalized (median of {}; min {:.0}, max {:.0}), final p99 {:.1} ms",
                p.offered_tps,
                p.final_tps.median,
                p.final_tps.samples,
                p.final_tps.min,
                p.final_tps.max,
                p.final_p99_ms.median
            );
        }
    }
    if let Some(p) = &report.pipeline {
        eprintln!(
            "pipeline: {:.0} tx/s committed (median of {}; min {:.0}, max {:.0}), p99 {:.1} ms",
            p.committed_tps.median,
            p.committed_tps.samples,
            p.committed_tps.min,
            p.committed_tps.max,
            p.p99_ms.median
        );
    }
}

fn write_report(out: &Path, report: &BenchReport) -> anyhow::Result<PathBuf> {
    let dir = report::write(out, report)?;
    eprintln!("report written to {}", dir.display());
    Ok(dir)
}

/// The machine object of the single-suite `--json` output (unchanged from before reports).
fn machine_json() -> serde_json::Value {
    json!({
        "cpu": platform::cpu_model(),
        "curve_arithmetic": platform::curve_backend(),
        "features": platform::CpuFeatures::detect(),
    })
}

/// Measures sigverify; `log` gets one line per finished measurement.
fn measure_sigverify(quick: bool, log: &dyn Fn(String)) -> SigverifyReport {
    let plan = if quick {
        SigverifyPlan::QUICK
    } else {
        SigverifyPlan::FULL
    };
    sigverify::run(plan, |m| {
        log(format!(
            "{:<28} {:<10} batch {:>5}: {:>9.0} sig/s (min {:.0}, max {:.0})",
            m.implementation,
            m.keys,
            m.batch,
            m.sigs_per_sec.median,
            m.sigs_per_sec.min,
            m.sigs_per_sec.max
        ));
    })
}

fn print_sigverify_ratios(report: &SigverifyReport) {
    println!(
        "{:<10} {:>6} {:>22} {:>22}",
        "keys", "batch", "iosv / dalek batch", "iosv / consensus"
    );
    for r in &report.ratios {
        println!(
            "{:<10} {:>6} {:>22.2} {:>22.2}",
            r.keys, r.batch, r.engine_over_dalek_batch, r.engine_over_consensus_batch
        );
    }
}

/// Measures cosi; `log` gets the header, then one line per finished measurement.
fn measure_cosi(quick: bool, log: &dyn Fn(String)) -> CosiReport {
    let plan = if quick {
        CosiPlan::QUICK
    } else {
        CosiPlan::FULL
    };
    log(format!(
        "{:<20} {:<36} {:>6} {:>6} {:<12} {:>12} {:>12} {:>12}  unit",
        "group", "implementation", "roster", "absent", "participants", "median", "min", "max"
    ));
    cosi::run(plan, |m| {
        log(format!(
            "{:<20} {:<36} {:>6} {:>6} {:<12} {:>12.2} {:>12.2} {:>12.2}  {} ({:.0} {})",
            m.group,
            m.implementation,
            dash(m.roster),
            dash(m.absent),
            m.participants.unwrap_or("-"),
            m.time.median,
            m.time.min,
            m.time.max,
            m.time_unit,
            m.rate.median,
            m.rate_unit
        ));
    })
}

fn print_cosi_ratios(report: &CosiReport) {
    eprintln!();
    eprintln!(
        "{:>8} {:>6} {:<12} {:>8}  ratio of medians",
        "roster", "absent", "participants", "ratio"
    );
    for r in &report.ratios {
        eprintln!(
            "{:>8} {:>6} {:<12} {:>8.2}  {}",
            dash(r.roster),
            dash(r.absent),
            r.participants.unwrap_or("-"),
            r.ratio,
            r.what
        );
    }
    eprintln!("setup (not timed): {:.1} s", report.setup_seconds);
}

/// A count, or "-" where none applies.
fn dash(v: Option<usize>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}
