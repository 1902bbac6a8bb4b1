//! `iosv bench`: run a benchmark, print a table (or JSON), peers measured in the same run.
//!
//! `iosv bench all` runs every suite under a progress bar and writes a dated report folder
//! ([`crate::report`]); the single suites write one only when `--out` is given.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use iosv_engine::platform;
use serde_json::json;

use crate::bench::cosi::{self, CosiPlan, CosiReport};
use crate::bench::gpu::{self, GpuPlan};
use crate::bench::sigverify::{self, SigverifyPlan, SigverifyReport};
use crate::cli::{BenchArgs, BenchSuite};
use crate::report::{self, BenchReport, Machine};

/// Where `iosv bench all` writes when no `--out` is given.
pub const DEFAULT_OUT: &str = "perf-reports";

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match args.suite {
        BenchSuite::Sigverify => sigverify_cmd(args),
        BenchSuite::Cosi => cosi_cmd(args),
        BenchSuite::All => all_cmd(args),
        BenchSuite::Gpu => gpu_cmd(args),
    }
}

fn gpu_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        GpuPlan::QUICK
    } else {
        GpuPlan::FULL
    };
    let report = gpu::measure(plan, |line| eprintln!("{line}"))?;
    if report.software_adapter {
        eprintln!(
            "note: {} is a software adapter: these figures check correctness, not GPU speed",
            report.adapter.name
        );
    }
    match report.crossover_batch {
        Some(b) => eprintln!("crossover: the GPU beats all CPU threads from batch {b}"),
        None => eprintln!("crossover: the GPU never beat all CPU threads at the measured sizes"),
    }
    if args.json {
        let out = json!({
            "suite": "gpu",
            "machine": machine_json(),
            "report": report,
        });
        println!("{out}");
    }
    Ok(())
}

fn all_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    let bar = ProgressBar::new(2);
    bar.set_style(ProgressStyle::with_template(
        "[{elapsed_precise}] {bar:30} {pos}/{len} suites: {msg}",
    )?);
    bar.set_message("sigverify");
    bar.tick();
    let sv = measure_sigverify(args.quick, |line| bar.println(line));
    bar.inc(1);
    bar.set_message("cosi");
    let cosi = measure_cosi(args.quick, |line| bar.println(line));
    bar.inc(1);
    bar.finish_with_message("done");
    print_sigverify_ratios(&sv);
    print_cosi_ratios(&cosi);
    let report = BenchReport {
        date: report::date::today_utc(),
        machine: Machine::detect(),
        sigverify: Some(sv),
        cosi: Some(cosi),
    };
    let dir = write_report(&out, &report)?;
    if args.json {
        println!(
            "{}",
            json!({ "suite": "all", "dir": dir, "report": report })
        );
    }
    Ok(())
}

fn sigverify_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let report = measure_sigverify(args.quick, |line| eprintln!("{line}"));
    if args.json {
        let out = json!({
            "suite": "sigverify",
            "machine": machine_json(),
            "report": report,
        });
        println!("{out}");
    } else {
        print_sigverify_ratios(&report);
    }
    if let Some(out) = &args.out {
        let report = BenchReport {
            date: report::date::today_utc(),
            machine: Machine::detect(),
            sigverify: Some(report),
            cosi: None,
        };
        write_report(out, &report)?;
    }
    Ok(())
}

fn cosi_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let report = measure_cosi(args.quick, |line| eprintln!("{line}"));
    print_cosi_ratios(&report);
    if args.json {
        let out = json!({
            "suite": "cosi",
            "machine": machine_json(),
            "report": report,
        });
        println!("{out}");
    }
    if let Some(out) = &args.out {
        let report = BenchReport {
            date: report::date::today_utc(),
            machine: Machine::detect(),
            sigverify: None,
            cosi: Some(report),
        };
        write_report(out, &report)?;
    }
    Ok(())
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
fn measure_sigverify(quick: bool, log: impl Fn(String)) -> SigverifyReport {
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
fn measure_cosi(quick: bool, log: impl Fn(String)) -> CosiReport {
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
