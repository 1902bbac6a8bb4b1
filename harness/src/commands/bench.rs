//! `iosv bench`: run a benchmark, print a table (or JSON), peers measured in the same run.

use iosv_engine::platform;
use serde_json::json;

use crate::bench::sigverify::{self, SigverifyPlan};
use crate::cli::{BenchArgs, BenchSuite};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match args.suite {
        BenchSuite::Sigverify => sigverify_cmd(args),
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
