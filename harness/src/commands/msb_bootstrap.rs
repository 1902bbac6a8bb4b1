//! `iosv msb-bootstrap`: runs a shard over several epochs with Micro State Blocks, then times a
//! joiner's bootstrap from the latest MSB against a full replay, and checks both reach the live
//! state root.

use anyhow::bail;
use clap::Args;

use crate::msb::scenario::{ScenarioConfig, build, measure};

#[derive(Args, Debug)]
pub struct MsbBootstrapArgs {
    /// Epochs, each closed by an MSB.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub epochs: u64,
    /// Blocks per epoch.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub blocks_per_epoch: u32,
    /// Blocks after the last MSB.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub tail_blocks: u32,
    /// Transactions per block.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub txs_per_block: u32,
    /// Members of the shard roster that co-signs each MSB.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub roster_size: u32,
    /// Seed of the workload and the rosters.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timed repetitions (best is reported), 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Print only the JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Every transaction is generated and signed in memory up front: keep runs within a few GiB.
const MAX_TRANSACTIONS: usize = 2_000_000;

/// `Ok(false)` when the bootstrapped and replayed state roots differ (exit 1).
pub fn run(args: &MsbBootstrapArgs) -> anyhow::Result<bool> {
    let config = ScenarioConfig {
        shard: 0,
        epochs: args.epochs,
        blocks_per_epoch: args.blocks_per_epoch as usize,
        tail_blocks: args.tail_blocks as usize,
        txs_per_block: args.txs_per_block as usize,
        roster_size: args.roster_size as usize,
        seed: args.seed,
    };
    let total = (config.epochs as usize * config.blocks_per_epoch + config.tail_blocks)
        .saturating_mul(config.txs_per_block);
    if total > MAX_TRANSACTIONS {
        bail!("{total} transactions requested, at most {MAX_TRANSACTIONS}");
    }
    let mut scenario = build(config)?;
    let report = measure(&mut scenario, args.runs as usize)?;
    if !args.json {
        println!(
            "{} blocks ({} after the latest MSB), snapshot of {} entries",
            report.blocks_total, report.blocks_after_msb, report.snapshot_entries
        );
        println!(
            "full replay {:.1} ms, bootstrap {:.1} ms ({:.1}x), roots equal: {}",
            report.full_replay_ms, report.bootstrap_ms, report.speedup, report.roots_equal
        );
    }
    println!("{}", serde_json::to_string(&report)?);
    if !report.roots_equal {
        eprintln!("FAILED: bootstrapped and replayed state roots differ");
    }
    Ok(report.roots_equal)
}
