//! The charts of a report, made from the suites' measurements.

use crate::bench::cosi::CosiReport;
use crate::bench::gpu::GpuReport;
use crate::bench::harness::HarnessReport;
use crate::bench::pipeline::PipelineBenchReport;
use crate::bench::sigverify::SigverifyReport;

use super::svg::{Chart, Series};

/// The sigverify workload names (see `bench::sigverify`): reused keys are Zipf-skewed over 10 000.
pub const KEYS_REUSED: &str = "zipf-10000";
pub const KEYS_DISTINCT: &str = "distinct";

/// The cosi groups plotted against roster size.
pub const COSI_VERIFY_GROUPS: [&str; 2] = ["schnorr-cosi verify", "bls-cosi verify"];

/// Signatures/s against batch size, one line per implementation, for one key workload.
pub fn sigverify_throughput(report: &SigverifyReport, keys: &str) -> Chart {
    let mut series: Vec<Series> = Vec::new();
    for m in report.measurements.iter().filter(|m| m.keys == keys) {
        let point = (m.batch as f64, m.sigs_per_sec.median);
        match series.iter_mut().find(|s| s.name == m.implementation) {
            Some(s) => s.points.push(point),
            None => series.push(Series {
                name: m.implementation.to_string(),
                points: vec![point],
            }),
        }
    }
    Chart {
        title: format!("Signature verification, keys {keys} ({})", report.unit),
        x_label: "batch size".into(),
        y_label: "signatures/s".into(),
        x_log: true,
        series,
    }
}

/// Time per verification against roster size: Schnorr, BLS and the blst peer. Where a roster size
/// was measured at several absences, the fewest absent is plotted (all present, in the bench plan).
pub fn cosi_roster(report: &CosiReport) -> Chart {
    let mut series: Vec<Series> = Vec::new();
    let mut unit = "µs per verification";
    let fewest_absent = |roster| {
        report
            .measurements
            .iter()
            .filter(|m| COSI_VERIFY_GROUPS.contains(&m.group) && m.roster == Some(roster))
            .filter_map(|m| m.absent)
            .min()
    };
    let mut all_present = true;
    for m in report
        .measurements
        .iter()
        .filter(|m| COSI_VERIFY_GROUPS.contains(&m.group))
    {
        let Some(roster) = m.roster else { continue };
        if m.absent != fewest_absent(roster) {
            continue;
        }
        all_present &= m.absent.unwrap_or(0) == 0;
        unit = m.time_unit;
        let point = (roster as f64, m.time.median);
        match series.iter_mut().find(|s| s.name == m.implementation) {
            Some(s) if s.points.iter().any(|p| p.0 == point.0) => {}
            Some(s) => s.points.push(point),
            None => series.push(Series {
                name: m.implementation.to_string(),
                points: vec![point],
            }),
        }
    }
    Chart {
        title: if all_present {
            "Collective signature verification, all members present".into()
        } else {
            "Collective signature verification, fewest absent measured".into()
        },
        x_label: "roster size".into(),
        y_label: unit.to_string(),
        x_log: true,
        series,
    }
}

/// Busy time per committed transaction of each pipeline stage, run by run: which stage bounds the
/// rate (the one whose busy time per transaction, divided by its threads, is largest) and how
/// steady the runs were.
/// Latency against finalized throughput, one point per offered rate (medians over the runs).
pub fn harness_latency(report: &HarnessReport) -> Chart {
    let line = |name: &str, f: fn(&crate::bench::harness::HarnessPoint) -> f64| Series {
        name: name.into(),
        points: report
            .points
            .iter()
            .map(|p| (p.final_tps.median, f(p)))
            .collect(),
    };
    Chart {
        title: format!(
            "iosv demo: latency against finalized throughput ({} shards, p = {})",
            report.config.shards, report.config.policy.sampling_probability
        ),
        x_label: "finalized tx/s (median of the runs at one offered rate)".into(),
        y_label: "latency, ms".into(),
        x_log: false,
        series: vec![
            line("final p99", |p| p.final_p99_ms.median),
            line("final p50", |p| p.final_p50_ms.median),
            line("optimistic p99", |p| p.optimistic_p99_ms.median),
        ],
    }
}

/// Finalized transactions per second over a run at the highest offered rate.
pub fn harness_over_time(report: &HarnessReport) -> Chart {
    Chart {
        title: format!(
            "iosv demo over time, {:.0} tx/s offered (warm-up {:.0} s)",
            report.over_time_offered_tps, report.plan.warmup_s
        ),
        x_label: "second of the load".into(),
        y_label: "transactions finalized in that second".into(),
        x_log: false,
        series: vec![
            Series {
                name: "finalized".into(),
                points: report
                    .over_time
                    .iter()
                    .map(|s| (s.second as f64, s.finalized as f64))
                    .collect(),
            },
            Series {
                name: "offered".into(),
                points: report
                    .over_time
                    .iter()
                    .map(|s| (s.second as f64, report.over_time_offered_tps))
                    .collect(),
            },
        ],
    }
}

pub fn pipeline_stages(report: &PipelineBenchReport) -> Chart {
    let mut series: Vec<Series> = report
        .stages
        .iter()
        .map(|st| Series {
            name: st.stage.clone(),
            points: Vec::new(),
        })
        .collect();
    for (run, r) in report.runs.iter().enumerate() {
        for (k, st) in r.pipeline.stages.iter().enumerate() {
            if let Some(s) = series.get_mut(k) {
                s.points.push((
                    (run + 1) as f64,
                    st.busy_s * 1e6 / (r.committed.max(1) as f64),
                ));
            }
        }
    }
    Chart {
        title: format!(
            "Pipeline stages, {} transactions per run (busy time per committed tx)",
            report.plan.transactions
        ),
        x_label: "run".into(),
        y_label: "busy µs per committed transaction".into(),
        x_log: false,
        series,
    }
}

/// Signatures/s against batch size: the GPU kernels beside the CPU backend on one and on all
/// threads, on the same signatures.
pub fn gpu_against_cpu(report: &GpuReport) -> Chart {
    let line = |name: &str, f: &dyn Fn(&crate::bench::gpu::GpuPoint) -> Option<f64>| Series {
        name: name.to_string(),
        points: report
            .points
            .iter()
            .filter_map(|p| f(p).map(|y| (p.batch as f64, y)))
            .collect(),
    };
    Chart {
        title: format!(
            "GPU ({}, {} field{}) against CPU, signatures/s",
            report.adapter.name,
            report.field,
            if report.software_adapter {
                ", software: correctness only"
            } else {
                ""
            }
        ),
        x_label: "batch size".into(),
        y_label: "signatures/s".into(),
        x_log: true,
        series: vec![
            line("GPU", &|p| Some(p.gpu_sigs_per_sec.median)),
            line("GPU kernels alone", &|p| Some(p.gpu_kernel_sigs_per_sec)),
            line("CPU, 1 thread", &|p| {
                p.cpu_one_thread_sigs_per_sec.as_ref().map(|s| s.median)
            }),
            line(&format!("CPU, {} threads", report.cpu_threads), &|p| {
                Some(p.cpu_all_threads_sigs_per_sec.median)
            }),
        ],
    }
}
