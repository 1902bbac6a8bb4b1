//! `iosv node`: one validator process — a finality member, an Atomix shard or a client gateway
//! over TCP with its state in its store (see `crate::net::process` and
//! `crate::net::ledger_process`). Runs until `--heights` are finalized, `--seconds` pass, or
//! SIGTERM/SIGINT; killed any other way, it restarts from its store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;

use crate::net::config::{Role, load};
use crate::net::ledger_process::run_ledger_node;
use crate::net::process::{Until, run_finality_member};

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// The node's configuration file (`iosv net init` writes one per node).
    #[arg(long)]
    pub config: PathBuf,
    /// Stop once this many heights are finalized (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub heights: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub seconds: u64,
}

/// Set by SIGTERM and SIGINT.
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    TERMINATE.store(true, Ordering::Release);
}

pub fn run(args: &NodeArgs) -> anyhow::Result<bool> {
    let loaded = load(&args.config).map_err(|e| anyhow!(e))?;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    let until = Until {
        heights: args.heights,
        duration: Duration::from_secs(args.seconds),
    };
    if loaded.config.role != Role::Finality {
        run_ledger_node(&loaded, until, &TERMINATE, &mut std::io::stdout())
            .map_err(|e| anyhow!(e))?;
        return Ok(true);
    }
    let report = run_finality_member(&loaded, until, &TERMINATE, &mut std::io::stdout())
        .map_err(|e| anyhow!(e))?;
    match report.store_error {
        Some(e) => Err(anyhow!("stopped: {e}")),
        None => Ok(true),
    }
}
