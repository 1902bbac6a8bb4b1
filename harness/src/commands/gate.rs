//! `iosv gate`: the performance regression gate (see `bench::gate`). Exit 0 when every workload is
//! within the threshold of its baseline, 1 when one fell below, 2 on errors.

use std::fs;

use anyhow::Context;
use iosv_engine::platform;
use iosv_engine::sig::decompress::Decompressor;
use serde_json::json;

use crate::bench::gate::{self, GateBaseline, GatePlan};
use crate::cli::GateArgs;
use crate::input;

/// Default threshold for a new baseline; see the module doc of `bench::gate` for its reasoning.
const DEFAULT_THRESHOLD: f64 = 0.06;

/// Runs the gate; `Ok(false)` means a regression.
pub fn run(args: &GateArgs) -> anyhow::Result<bool> {
    // A baseline that cannot be judged against is refused before minutes of measuring.
    let judged_against = if args.update {
        None
    } else {
        Some(load_baseline(&args.baseline)?)
    };
    // The gate judges what this machine runs; a new baseline also covers CPUs without IFMA.
    let mut decompressors = vec![Decompressor::best()];
    if args.update && Decompressor::best() != Decompressor::Serial {
        decompressors.push(Decompressor::Serial);
    }
    let measured: Vec<_> = decompressors
        .into_iter()
        .flat_map(|d| gate::measure(GatePlan::DEFAULT, d))
        .collect();
    for m in &measured {
        eprintln!(
            "{:<40} iosv batch / ed25519-dalek verify_batch: median {:.3} (min {:.3}, max {:.3}, {} samples)",
            m.workload, m.ratio.median, m.ratio.min, m.ratio.max, m.ratio.samples
        );
    }
    if args.update {
        let threshold = load_baseline(&args.baseline)
            .ok()
            .map_or(DEFAULT_THRESHOLD, |b| b.threshold);
        let baseline = GateBaseline {
            threshold,
            ratios: measured
                .iter()
                .map(|m| (m.workload.clone(), m.ratio.median))
                .collect(),
            machine: format!(
                "{} ({} cores, curve arithmetic {})",
                platform::cpu_model(),
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                platform::curve_backend()
            ),
            command:
                "cargo run --release -p iosv-harness --features inject-slowdown -- gate --update"
                    .into(),
        };
        fs::write(
            &args.baseline,
            serde_json::to_string_pretty(&baseline)? + "\n",
        )
        .with_context(|| format!("cannot write {}", args.baseline.display()))?;
        eprintln!("baseline written to {}", args.baseline.display());
        return Ok(true);
    }
    let baseline = judged_against.expect("loaded above unless updating");
    let verdicts = gate::judge(&baseline, &measured);
    for v in &verdicts {
        eprintln!(
            "{:<40} baseline {:.3}  measured {:.3}  change {:+.1}%  (threshold -{:.1}%)  {}",
            v.workload,
            v.baseline,
            v.measured,
            v.change * 100.0,
            baseline.threshold * 100.0,
            if v.pass { "pass" } else { "REGRESSION" }
        );
    }
    let pass = verdicts.iter().all(|v| v.pass);
    if args.json {
        println!(
            "{}",
            json!({ "pass": pass, "threshold": baseline.threshold, "verdicts": verdicts, "measured": measured })
        );
    }
    Ok(pass)
}

/// Reads and checks a baseline file (size-capped; threshold in (0, 1), ratios finite and positive).
fn load_baseline(path: &std::path::Path) -> anyhow::Result<GateBaseline> {
    let text = input::read_text(path, input::MAX_REPORT_BYTES, "gate baseline")?;
    let baseline: GateBaseline = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a gate baseline", path.display()))?;
    anyhow::ensure!(
        baseline.threshold > 0.0 && baseline.threshold < 1.0,
        "{}: threshold = {} is outside (0, 1)",
        path.display(),
        baseline.threshold
    );
    if let Some((workload, ratio)) = baseline
        .ratios
        .iter()
        .find(|(_, r)| !(r.is_finite() && **r > 0.0))
    {
        anyhow::bail!(
            "{}: the ratio of {workload} is {ratio}, not a positive number",
            path.display()
        );
    }
    Ok(baseline)
}
