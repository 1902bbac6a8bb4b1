//! `iosv bench`: run a benchmark, print a table (or JSON), peers measured in the same run.

use iosv_engine::platform;
use serde_json::json;

use crate::bench::cosi::{self, CosiPlan, CosiReport};
use crate::bench::sigverify::{self, SigverifyPlan};
use crate::cli::{BenchArgs, BenchSuite};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match args.suite {
        BenchSuite::Sigverify => sigverify_cmd(args),
        BenchSuite::Cosi => cosi_cmd(args),
    }
}

fn sigverify_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        SigverifyPlan::QUICK
    } else {
        SigverifyPlan::FULL
    };
    let report = sigverify::run(plan, |m| {
        eprintln!(
            "{:<28} {:<10} batch {:>5}: {:>9.0} sig/s (min {:.0}, max {:.0})",
            m.implementation,
            m.keys,
            m.batch,
            m.sigs_per_sec.median,
            m.sigs_per_sec.min,
            m.sigs_per_sec.max
        );
    });
    if args.json {
        let out = json!({
            "suite": "sigverify",
            "machine": {
                "cpu": platform::cpu_model(),
                "curve_arithmetic": platform::curve_backend(),
                "features": platform::CpuFeatures::detect(),
            },
            "report": report,
        });
        println!("{out}");
    } else {
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
    Ok(())
}

fn cosi_cmd(args: &BenchArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        CosiPlan::QUICK
    } else {
        CosiPlan::FULL
    };
    eprintln!(
        "{:<20} {:<36} {:>6} {:>6} {:<12} {:>12} {:>12} {:>12}  unit",
        "group", "implementation", "roster", "absent", "participants", "median", "min", "max"
    );
    let report = cosi::run(plan, |m| {
        eprintln!(
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
        );
    });
    print_cosi_ratios(&report);
    eprintln!("setup (not timed): {:.1} s", report.setup_seconds);
    if args.json {
        let out = json!({
            "suite": "cosi",
            "machine": {
                "cpu": platform::cpu_model(),
                "curve_arithmetic": platform::curve_backend(),
                "features": platform::CpuFeatures::detect(),
            },
            "report": report,
        });
        println!("{out}");
    }
    Ok(())
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
}

/// A count, or "-" where none applies.
fn dash(v: Option<usize>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}
