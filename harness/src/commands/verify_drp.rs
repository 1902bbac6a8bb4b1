//! `iosv verify-drp FILE`: checks a DRP transcript as a third party would.
//!
//! Exit status: 0 and `output <hex>` for a valid transcript; 1 and `FAIL <check>: <detail>` for
//! the first failing check (names in [`Check`](crate::drp::Check)); 2 (through the CLI's error
//! path) for a file that cannot be read or is not a well-formed transcript (bad JSON, unknown or
//! missing fields, a hex string of the wrong length, a point or scalar that does not decode).

use std::fs;

use anyhow::Context;

use crate::cli::VerifyDrpArgs;
use crate::drp::Transcript;

/// `Ok(true)` for a valid transcript, `Ok(false)` for one that fails a check.
pub fn run(args: &VerifyDrpArgs) -> anyhow::Result<bool> {
    let text = fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let transcript: Transcript = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a DRP transcript", args.file.display()))?;
    let verdict = transcript.verify();
    if args.json {
        let line = match &verdict {
            Ok(output) => serde_json::json!({ "valid": true, "output": hex::encode(output) }),
            Err(f) => serde_json::json!({ "valid": false, "check": f.check, "detail": f.detail }),
        };
        println!("{line}");
    } else {
        match &verdict {
            Ok(output) => println!("output {}", hex::encode(output)),
            Err(f) => println!("FAIL {}: {}", f.check, f.detail),
        }
    }
    Ok(verdict.is_ok())
}
