//! Dated benchmark reports on disk, written by `iosv bench all` (and by one suite with `--out`).
//!
//! A report is data first: `report.json` holds the machine and every suite's measurements with
//! their units; `summary.md` and the SVG plots are made from that same data and nothing else, so
//! they can be re-made from any stored `report.json` shape.
//!
//! Layout: `<out>/<YYYY-MM-DD>-<machine-slug>/{report.json, summary.md, *.svg}` for `all`, and
//! `<out>/<YYYY-MM-DD>-<machine-slug>-<suite>/` for one suite (so suites run one by one do not
//! overwrite each other); the date is UTC.

pub mod compare;
pub mod date;
pub mod machine;
pub mod plots;
pub mod summary;
pub mod svg;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::bench::cosi::CosiReport;
use crate::bench::gpu::GpuReport;
use crate::bench::harness::HarnessReport;
use crate::bench::pipeline::PipelineBenchReport;
use crate::bench::sigverify::SigverifyReport;
use crate::bench::utxo::UtxoReport;

pub use self::machine::Machine;

/// Everything one `iosv bench all` run measured.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// UTC date of the run, `YYYY-MM-DD`.
    pub date: String,
    pub machine: Machine,
    pub sigverify: Option<SigverifyReport>,
    pub cosi: Option<CosiReport>,
    pub utxo: Option<UtxoReport>,
    pub pipeline: Option<PipelineBenchReport>,
    pub gpu: Option<GpuReport>,
    pub harness: Option<HarnessReport>,
}

/// File names inside a report folder.
pub const REPORT_JSON: &str = "report.json";
pub const SUMMARY_MD: &str = "summary.md";
pub const HARNESS_LATENCY_SVG: &str = "harness-latency.svg";
pub const HARNESS_OVER_TIME_SVG: &str = "harness-over-time.svg";
pub const SIGVERIFY_REUSED_SVG: &str = "sigverify-throughput.svg";
pub const SIGVERIFY_DISTINCT_SVG: &str = "sigverify-throughput-distinct.svg";
pub const COSI_ROSTER_SVG: &str = "cosi-roster.svg";
pub const PIPELINE_STAGES_SVG: &str = "pipeline-stages.svg";
pub const GPU_AGAINST_CPU_SVG: &str = "gpu-against-cpu.svg";

impl BenchReport {
    /// A report dated `date` for this machine, with no suite measured yet.
    pub fn empty(date: String) -> BenchReport {
        BenchReport {
            date,
            machine: Machine::detect(),
            sigverify: None,
            cosi: None,
            utxo: None,
            pipeline: None,
            gpu: None,
            harness: None,
        }
    }

    /// The folder name under the output directory.
    pub fn folder_name(&self) -> String {
        format!("{}-{}", self.date, self.machine.slug())
    }
}

/// Writes the report folder under `out` (created as needed); returns the folder.
pub fn write(out: &Path, report: &BenchReport) -> anyhow::Result<PathBuf> {
    write_into(&out.join(report.folder_name()), report)
}

/// Writes the report into the folder `dir` (created as needed); returns it.
pub fn write_into(dir: &Path, report: &BenchReport) -> anyhow::Result<PathBuf> {
    let dir = dir.to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    put(&dir, REPORT_JSON, &json)?;
    put(&dir, SUMMARY_MD, &summary::markdown(report))?;
    if let Some(sv) = &report.sigverify {
        put(
            &dir,
            SIGVERIFY_REUSED_SVG,
            &svg::render(&plots::sigverify_throughput(sv, plots::KEYS_REUSED)),
        )?;
        put(
            &dir,
            SIGVERIFY_DISTINCT_SVG,
            &svg::render(&plots::sigverify_throughput(sv, plots::KEYS_DISTINCT)),
        )?;
    }
    if let Some(cosi) = &report.cosi {
        put(
            &dir,
            COSI_ROSTER_SVG,
            &svg::render(&plots::cosi_roster(cosi)),
        )?;
    }
    if let Some(g) = &report.gpu {
        put(
            &dir,
            GPU_AGAINST_CPU_SVG,
            &svg::render(&plots::gpu_against_cpu(g)),
        )?;
    }
    // (A core-count sweep has no rate points: nothing to chart.)
    if let Some(h) = report.harness.as_ref().filter(|h| !h.points.is_empty()) {
        put(
            &dir,
            HARNESS_LATENCY_SVG,
            &svg::render(&plots::harness_latency(h)),
        )?;
        put(
            &dir,
            HARNESS_OVER_TIME_SVG,
            &svg::render(&plots::harness_over_time(h)),
        )?;
    }
    if let Some(p) = &report.pipeline {
        put(
            &dir,
            PIPELINE_STAGES_SVG,
            &svg::render(&plots::pipeline_stages(p)),
        )?;
    }
    Ok(dir)
}

fn put(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
}
