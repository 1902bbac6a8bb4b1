//! `iosv compare BASE NEW`: two benchmark reports side by side (see [`crate::report::compare`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use crate::input;
use crate::report::compare::compare;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference report.json (e.g. a committed one under perf-reports/).
    pub base: PathBuf,
    /// The report.json to compare with it.
    pub new: PathBuf,
    /// Print the comparison as JSON (one object on the last line).
    #[arg(long)]
    pub json: bool,
}

fn read(path: &std::path::Path) -> anyhow::Result<Value> {
    let text = input::read_text(path, input::MAX_REPORT_BYTES, "report")?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    let base = read(&args.base)?;
    let new = read(&args.new)?;
    for side in [(&args.base, &base), (&args.new, &new)] {
        let m = &side.1["machine"];
        eprintln!(
            "{}: {} ({} cores), {}, GPU {}",
            side.0.display(),
            m["cpu_model"].as_str().unwrap_or("unknown machine"),
            m["cores"],
            m["curve_backend"].as_str().unwrap_or("?"),
            m["gpu_adapter"].as_str().unwrap_or("none"),
        );
    }
    let rows = compare(&base, &new);
    if rows.is_empty() {
        anyhow::bail!("the two reports have no figure in common");
    }
    println!("{:>14} {:>14} {:>8}  figure", "base", "new", "new/base");
    for r in &rows {
        println!(
            "{:>14.2} {:>14.2} {:>8.3}  {}",
            r.base, r.new, r.ratio, r.key
        );
    }
    if args.json {
        println!("{}", json!({ "figures": rows }));
    }
    Ok(())
}
