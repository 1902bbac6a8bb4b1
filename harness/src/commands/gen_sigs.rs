//! `iosv gen-sigs`: real signed JSON-lines input for `iosv verify`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use iosv_engine::jsonl::format_line;
use iosv_engine::workload::{KeyReuse, SigWorkload};

use super::parse::message_length;

#[derive(Args, Debug)]
pub struct GenSigsArgs {
    /// Number of signatures.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
    /// Signing keys: `distinct` (one per signature) or a number of accounts, Zipf-weighted.
    #[arg(long, default_value = "10000")]
    pub keys: String,
    /// Message length in bytes, at most 1 MiB (each message is held in memory while its
    /// signature is made and written).
    #[arg(long, default_value_t = 32, value_parser = message_length)]
    pub msg_len: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Signatures generated per step, so memory stays bounded for any count...
const STEP: usize = 65_536;
/// ...and bytes of messages held per step, so it stays bounded for long messages too.
const STEP_BYTES: usize = 64 << 20;
/// Most Zipf accounts `--keys` takes: every account's key pair and weight are held in memory
/// (about 100 bytes each, so 100 MB here).
pub const MAX_ACCOUNTS: usize = 1_000_000;

pub fn parse_key_reuse(text: &str) -> anyhow::Result<KeyReuse> {
    if text == "distinct" {
        return Ok(KeyReuse::Distinct);
    }
    let accounts: usize = text.parse().with_context(|| {
        format!("--keys: expected `distinct` or a number of accounts, got `{text}`")
    })?;
    if accounts == 0 || accounts > MAX_ACCOUNTS {
        bail!("--keys: the number of accounts must be 1 to {MAX_ACCOUNTS}, got {accounts}");
    }
    Ok(KeyReuse::Zipf {
        accounts,
        exponent: 1.0,
    })
}

pub fn run(args: &GenSigsArgs) -> anyhow::Result<()> {
    let reuse = parse_key_reuse(&args.keys)?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let workload = SigWorkload::new(reuse, args.msg_len, args.seed);
    let step = STEP.min(STEP_BYTES / (args.msg_len + 128)).max(1);
    let mut done = 0;
    let mut step_seed = args.seed;
    while done < args.count {
        let n = step.min(args.count - done);
        for item in workload.generate(n, step_seed) {
            writeln!(out, "{}", format_line(item.as_ref()))?;
        }
        done += n;
        step_seed = step_seed.wrapping_add(1);
    }
    out.flush()?;
    Ok(())
}
