//! `iosv gate`: the performance regression gate (see `bench::gate`). Exit 0 when every workload is
//! within the threshold of its machine class's baseline, 1 when one fell below, 2 on errors (a
//! class without a baseline among them). `--has-baseline`: exit 0 when the file has this machine
//! class, 1 when not, measuring nothing.

use std::fs;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use iosv_engine::platform;
use iosv_engine::sig::decompress::Decompressor;
use serde_json::json;

use crate::bench::gate::{self, GateBaseline, GatePlan, MachineBaseline};
use crate::input;

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

/// Default threshold for a new baseline; see the module doc of `bench::gate` for its reasoning.
const DEFAULT_THRESHOLD: f64 = 0.06;

/// Runs the gate; `Ok(false)` means a regression. A machine class without a baseline is an error
/// (exit 2): there is nothing to judge against.
pub fn run(args: &GateArgs) -> anyhow::Result<bool> {
    let class = gate::machine_class();
    if args.has_baseline {
        let baseline = load_baseline(&args.baseline)?;
        let found = baseline.machines.contains_key(&class);
        eprintln!(
            "{}: {} for machine class {class} (classes: {})",
            args.baseline.display(),
            if found { "a baseline" } else { "no baseline" },
            baseline
                .machines
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(found);
    }
    // A baseline that cannot be judged against is refused before the measuring.
    let judged_against = if args.update {
        None
    } else {
        let baseline = load_baseline(&args.baseline)?;
        let Some(machine) = baseline.machines.get(&class).cloned() else {
            anyhow::bail!(
                "{} has no baseline for this machine class, {class} (it has: {}); ratios to the \
                 peer differ between kinds of CPU, so there is nothing to judge against: record \
                 one on a quiet machine with `iosv gate --update` (perf-reports/gate.md)",
                args.baseline.display(),
                baseline
                    .machines
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        Some((baseline.threshold, machine))
    };
    let measured = gate::measure(GatePlan::DEFAULT, Decompressor::best());
    for m in &measured {
        eprintln!(
            "{:<40} iosv batch / ed25519-dalek verify_batch: median {:.3} (min {:.3}, max {:.3}, {} samples)",
            m.workload, m.ratio.median, m.ratio.min, m.ratio.max, m.ratio.samples
        );
    }
    if args.update {
        // Other classes' entries and the threshold are kept; a missing or unreadable file starts
        // a new one.
        let mut baseline = load_baseline(&args.baseline).unwrap_or(GateBaseline {
            threshold: DEFAULT_THRESHOLD,
            machines: Default::default(),
        });
        baseline.machines.insert(
            class.clone(),
            MachineBaseline {
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
            },
        );
        fs::write(
            &args.baseline,
            serde_json::to_string_pretty(&baseline)? + "\n",
        )
        .with_context(|| format!("cannot write {}", args.baseline.display()))?;
        eprintln!(
            "baseline for {class} written to {}",
            args.baseline.display()
        );
        return Ok(true);
    }
    let (threshold, machine) = judged_against.expect("loaded above unless updating");
    eprintln!(
        "machine class {class}: baseline measured on {}",
        machine.machine
    );
    let verdicts = gate::judge(threshold, &machine, &measured);
    for v in &verdicts {
        eprintln!(
            "{:<40} baseline {:.3}  measured {:.3}  change {:+.1}%  (threshold -{:.1}%)  {}",
            v.workload,
            v.baseline,
            v.measured,
            v.change * 100.0,
            threshold * 100.0,
            if v.pass { "pass" } else { "REGRESSION" }
        );
    }
    let pass = verdicts.iter().all(|v| v.pass);
    if args.json {
        println!(
            "{}",
            json!({ "pass": pass, "class": class, "threshold": threshold, "verdicts": verdicts, "measured": measured })
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
    for (class, machine) in &baseline.machines {
        if let Some((workload, ratio)) = machine
            .ratios
            .iter()
            .find(|(_, r)| !(r.is_finite() && **r > 0.0))
        {
            anyhow::bail!(
                "{}: {class}: the ratio of {workload} is {ratio}, not a positive number",
                path.display()
            );
        }
    }
    Ok(baseline)
}
