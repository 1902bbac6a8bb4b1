//! A shard run over several epochs with MSBs, and the measurement of bootstrap against full
//! replay (`iosv msb-bootstrap`, and the tests).
//!
//! The workload is the engine's [`TxWorkload`]: real signed transactions, each spending one
//! genesis output, cut into blocks in order. Each epoch has its own shard roster (keys derived
//! from the seed), which co-signs the epoch's MSB; a few blocks follow the last MSB.

use std::collections::BTreeMap;
use std::time::Instant;

use iosv_engine::cosi::Mask;
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use iosv_engine::merkle::Hash;
use iosv_engine::tx::{Block, OutPoint, Transaction, TxOutput};
use iosv_engine::workload::{KeyReuse, TxWorkload};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapError, Trust, bootstrap, full_replay};
use super::chain::ChainState;
use super::store::{ShardStore, StoreError};
use crate::drp::encoding::Tagged;

/// The shape of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioConfig {
    pub shard: u32,
    pub epochs: u64,
    pub blocks_per_epoch: usize,
    /// Blocks after the last MSB.
    pub tail_blocks: usize,
    pub txs_per_block: usize,
    pub roster_size: usize,
    pub seed: u64,
}

/// A finished run: the serving node's (pruned) store, an archive of every block, and what a
/// joining node trusts.
pub struct Scenario {
    pub config: ScenarioConfig,
    pub store: ShardStore,
    pub archive: Vec<Block>,
    pub genesis: Vec<(OutPoint, TxOutput)>,
    pub trust: Trust,
    /// Each epoch's roster keys (epochs `1..=epochs`).
    pub keys: BTreeMap<u64, Vec<MemberKey>>,
}

/// Why a run could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("workload: {0}")]
    Workload(String),
}

/// The shard roster keys of `epoch`.
pub fn roster_keys(seed: u64, epoch: u64, size: usize) -> Vec<MemberKey> {
    (0..size as u32)
        .map(|i| {
            let seed = Tagged::new(crate::domain::MSB_TEST_ROSTER)
                .u64(seed)
                .u64(epoch)
                .u32(i)
                .finish();
            MemberKey::from_seed(&seed)
        })
        .collect()
}

fn roster_of(keys: &[MemberKey]) -> Roster {
    let registrations: Vec<_> = keys.iter().map(MemberKey::registration).collect();
    Roster::from_registrations(&registrations).expect("derived keys register")
}

/// Runs the shard: `epochs` epochs of blocks, each closed by an MSB co-signed by the full roster,
/// then the tail blocks.
pub fn build(config: ScenarioConfig) -> Result<Scenario, ScenarioError> {
    let blocks = config.epochs as usize * config.blocks_per_epoch + config.tail_blocks;
    let workload = TxWorkload::generate(
        blocks * config.txs_per_block,
        1,
        KeyReuse::SKEWED_10K,
        config.seed,
    );
    let txs: Vec<Transaction> = workload
        .txs
        .iter()
        .map(|bytes| Transaction::decode(bytes))
        .collect::<Result<_, _>>()
        .map_err(|e| ScenarioError::Workload(e.to_string()))?;
    let genesis = ChainState::genesis(config.shard, &workload.genesis)
        .map_err(|e| ScenarioError::Workload(e.to_string()))?;
    let mut store = ShardStore::new(genesis);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut archive = Vec::with_capacity(blocks);
    let mut keys = BTreeMap::new();
    let mut rosters = BTreeMap::new();
    let mut chunks = txs.chunks(config.txs_per_block.max(1));
    let mut produce = |store: &mut ShardStore, archive: &mut Vec<Block>| {
        let txs = chunks
            .next()
            .map(<[Transaction]>::to_vec)
            .unwrap_or_default();
        let height = archive.len() as u64 + 1;
        let block = store.produce(txs, [0x11; 32], 1_700_000_000_000 + height * 1_000)?;
        archive.push(block);
        Ok::<(), StoreError>(())
    };
    for epoch in 1..=config.epochs {
        for _ in 0..config.blocks_per_epoch {
            produce(&mut store, &mut archive)?;
        }
        let epoch_keys = roster_keys(config.seed, epoch, config.roster_size.max(1));
        let roster = roster_of(&epoch_keys);
        let everyone = Mask::full(roster.len());
        store.close_epoch(epoch, &roster, &epoch_keys, &everyone, &mut rng)?;
        keys.insert(epoch, epoch_keys);
        rosters.insert(epoch, roster);
    }
    for _ in 0..config.tail_blocks {
        produce(&mut store, &mut archive)?;
    }
    let trust = Trust {
        shard: config.shard,
        latest_epoch: config.epochs,
        rosters,
    };
    Ok(Scenario {
        config,
        store,
        archive,
        genesis: workload.genesis,
        trust,
        keys,
    })
}

/// Full replay against bootstrap, timed on this machine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BootstrapReport {
    pub config: ScenarioConfig,
    pub blocks_total: usize,
    pub blocks_after_msb: usize,
    pub snapshot_entries: usize,
    pub full_replay_ms: f64,
    pub bootstrap_ms: f64,
    /// `full_replay_ms / bootstrap_ms`.
    pub speedup: f64,
    pub full_replay_root: String,
    pub bootstrap_root: String,
    pub live_root: String,
    pub roots_equal: bool,
}

/// Times a full replay of the archive and a bootstrap from the store's package (best of `runs`).
pub fn measure(scenario: &mut Scenario, runs: usize) -> Result<BootstrapReport, BootstrapError> {
    let package = scenario
        .store
        .bootstrap_package()
        .map_err(|_| BootstrapError::EpochHeaders("the scenario closed no epoch"))?;
    let mut best_full = f64::INFINITY;
    let mut best_boot = f64::INFINITY;
    let mut full_root: Hash = [0; 32];
    let mut boot_root: Hash = [0; 32];
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let mut full = full_replay(scenario.config.shard, &scenario.genesis, &scenario.archive)?;
        full_root = full.root();
        best_full = best_full.min(t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        let mut joined = bootstrap(&package, &scenario.trust)?;
        boot_root = joined.root();
        best_boot = best_boot.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let live_root = scenario.store.state().root();
    Ok(BootstrapReport {
        config: scenario.config.clone(),
        blocks_total: scenario.archive.len(),
        blocks_after_msb: package.blocks.len(),
        snapshot_entries: package.snapshot.len(),
        full_replay_ms: best_full,
        bootstrap_ms: best_boot,
        speedup: best_full / best_boot,
        full_replay_root: hex::encode(full_root),
        bootstrap_root: hex::encode(boot_root),
        live_root: hex::encode(live_root),
        roots_equal: full_root == boot_root && boot_root == live_root,
    })
}
