//! `iosv verify-drp FILE`: checks a DRP transcript as a third party would.
//!
//! Exit status: 0 and `output <hex>` for a valid transcript; 1 and `FAIL <check>: <detail>` for
//! the first failing check (names in [`Check`](crate::drp::Check)), including a point or scalar
//! that does not decode (named with its check and the server or dealer it belongs to); 2 (through
//! the CLI's error path) for a file that cannot be read, is over the size cap, or is not a
//! well-formed transcript (bad JSON, unknown or missing fields at any level, a hex string of the
//! wrong length), with the JSON path of the fault.

use std::path::PathBuf;

use clap::Args;

use crate::drp::{CheckFailure, Transcript, TranscriptDamage};
use crate::input;

#[derive(Args, Debug)]
pub struct VerifyDrpArgs {
    /// Transcript file (JSON, as `iosv drp --out` writes it).
    pub file: PathBuf,
    /// Print the verdict as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `Ok(true)` for a valid transcript, `Ok(false)` for one that fails a check.
pub fn run(args: &VerifyDrpArgs) -> anyhow::Result<bool> {
    let text = input::read_text(&args.file, input::MAX_TRANSCRIPT_BYTES, "DRP transcript")?;
    let verdict = match Transcript::from_json(&text) {
        Ok(transcript) => transcript.verify(),
        Err(TranscriptDamage::Check(failure)) => Err(failure),
        Err(malformed) => anyhow::bail!("{}: {malformed}", args.file.display()),
    };
    print(&verdict, args.json);
    Ok(verdict.is_ok())
}

fn print(verdict: &Result<[u8; 32], CheckFailure>, json: bool) {
    if json {
        let line = match verdict {
            Ok(output) => serde_json::json!({ "valid": true, "output": hex::encode(output) }),
            Err(f) => serde_json::json!({ "valid": false, "check": f.check, "detail": f.detail }),
        };
        println!("{line}");
    } else {
        match verdict {
            Ok(output) => println!("output {}", hex::encode(output)),
            Err(f) => println!("FAIL {}: {}", f.check, f.detail),
        }
    }
}
