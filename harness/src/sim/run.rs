//! One simulation of the epoch protocol: validators (with the pre-DRP placeholder randomness
//! protocol), the network model, the schedule of crashes and partitions, and the shards.
//!
//! The run is a pure function of (configuration, seed, epochs): validator keys, the network's
//! random draws, the genesis assignment and the shards' transaction streams all derive from the
//! seed. [`run`] writes the trace to any writer and returns a [`SimReport`] with the guarantees
//! checked (`checks`).

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::checks::{self, Checks};
use super::config::{ConfigError, RandomnessKind, SimConfig};
use super::network::SimNetwork;
use super::shards::{ShardMetrics, ShardService, TAG_BATCH, TAG_SLOT};
use super::simulator::{Happening, Simulator};
use crate::drp::randomness::{DrpRandomness, drp_roster};
use crate::epoch::{
    Behavior, Output, RandomnessProtocol, SignedAnnouncement, Validator, ValidatorKeys, roster,
};
use crate::node::{MICROS_PER_MS, NodeId, Time};
use crate::shard::{AssignError, Assignment, LedgerError, ShardLedger, transepoch};

/// Domain of the genesis assignment's randomness.
const GENESIS_DOMAIN: &[u8] = crate::domain::SIM_GENESIS_RANDOMNESS;

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot assign shards: {0}")]
    Assign(#[from] AssignError),
    #[error("cannot build a shard ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("cannot write the trace: {0}")]
    Trace(#[from] std::io::Error),
    #[error("cannot register the DRP roster: {0}")]
    DrpRoster(crate::drp::roster::RosterError),
}

/// An output with when and where it happened.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub at: Time,
    pub node: NodeId,
    pub output: Output,
}

/// What a run did and whether the guarantees held.
#[derive(Clone, Debug, Serialize)]
pub struct SimReport {
    pub seed: u64,
    pub epochs: u64,
    pub validators: u32,
    pub shards: u32,
    pub delta_us: u64,
    pub epoch_len_us: u64,
    pub randomness_protocol: &'static str,
    pub swap_batch: u32,
    pub trace_lines: u64,
    pub trace_sha256: String,
    pub checks: Checks,
    pub shard_metrics: ShardMetrics,
    pub committed_per_shard: Vec<u64>,
    #[serde(skip)]
    pub records: Vec<Record>,
}

/// The validator type the simulation runs by default (with the pre-DRP placeholder).
pub type SimValidator = Validator<SignedAnnouncement>;

/// The placeholder protocol for a validator with `keys` behaving as `behavior`.
pub fn placeholder(_: NodeId, keys: &ValidatorKeys, behavior: Behavior) -> SignedAnnouncement {
    if behavior == Behavior::CorruptAnnouncement {
        SignedAnnouncement::corrupting(keys.sig.clone())
    } else {
        SignedAnnouncement::new(keys.sig.clone())
    }
}

/// Builds the validators of a configuration with the placeholder randomness protocol.
pub fn validators(cfg: &SimConfig, seed: u64) -> Result<Vec<SimValidator>, SimError> {
    validators_with(cfg, seed, placeholder)
}

/// Builds the validators of a configuration, each running the randomness protocol that
/// `protocol(id, keys, behavior)` makes (the integration point for the DRP).
pub fn validators_with<R: RandomnessProtocol>(
    cfg: &SimConfig,
    seed: u64,
    mut protocol: impl FnMut(NodeId, &ValidatorKeys, Behavior) -> R,
) -> Result<Vec<Validator<R>>, SimError> {
    cfg.validate()?;
    let (keys, roster) = roster::generate(seed, cfg.validators);
    let roster = Arc::new(roster);
    let params = cfg.epoch_params();
    Ok(keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let id = i as NodeId;
            let behavior = cfg.behavior_of(id);
            let p = protocol(id, &k, behavior);
            Validator::new(id, k, Arc::clone(&roster), params, behavior, p)
        })
        .collect())
}

/// Target group size of the DRP sessions a simulation runs (threshold ⌊(c − 1)/3⌋ + 1 of 4 is 2).
pub const DRP_GROUP_SIZE: u32 = 4;

/// Runs `epochs` epochs of `cfg` with `seed` and the configured randomness protocol
/// (`cfg.randomness`), writing the trace to `trace`.
pub fn run<W: Write>(
    cfg: &SimConfig,
    seed: u64,
    epochs: u64,
    trace: W,
) -> Result<(SimReport, W), SimError> {
    match cfg.randomness {
        RandomnessKind::Placeholder => run_with(cfg, seed, epochs, trace, placeholder),
        RandomnessKind::Drp => {
            cfg.validate()?;
            let (keys, _) = roster::generate(seed, cfg.validators);
            let drp = Arc::new(drp_roster(&keys).map_err(SimError::DrpRoster)?);
            run_with(cfg, seed, epochs, trace, |_, k, _| {
                DrpRandomness::new(k, Arc::clone(&drp), DRP_GROUP_SIZE)
            })
        }
    }
}

/// [`run`] with the randomness protocol that `protocol(id, keys, behavior)` makes.
pub fn run_with<W: Write, R: RandomnessProtocol>(
    cfg: &SimConfig,
    seed: u64,
    epochs: u64,
    trace: W,
    protocol: impl FnMut(NodeId, &ValidatorKeys, Behavior) -> R,
) -> Result<(SimReport, W), SimError> {
    let (default_link, links, partitions) = cfg.network_model()?;
    let params = cfg.epoch_params();
    let nodes = validators_with(cfg, seed, protocol)?;
    let protocol_name = nodes.first().map_or("none", |v| v.protocol_name());
    let honest: Vec<bool> = (0..cfg.validators)
        .map(|v| cfg.behavior_of(v).is_honest())
        .collect();
    let end = params.epoch_len.saturating_mul(epochs);
    let net = SimNetwork::new(default_link, links, partitions, seed);
    let mut sim = Simulator::new(nodes, net, trace);
    for c in &cfg.crashes {
        sim.schedule_crash(c.node, c.at_ms * MICROS_PER_MS);
        if let Some(r) = c.restart_ms {
            sim.schedule_restart(c.node, r * MICROS_PER_MS);
        }
    }

    let genesis_randomness: [u8; 32] = Sha256::new()
        .chain_update(GENESIS_DOMAIN)
        .chain_update(seed.to_le_bytes())
        .finalize()
        .into();
    let genesis = Assignment::new(&genesis_randomness, cfg.validators, cfg.shards)?;
    let slot = cfg.workload.slot_ms * MICROS_PER_MS;
    let slots = (end / slot + 1) as usize;
    let per_block = cfg.workload.tx_per_block as usize;
    let ledgers = (0..cfg.shards)
        .map(|s| {
            ShardLedger::new(
                slots * per_block,
                seed ^ (u64::from(s) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = cfg
        .transepoch
        .batch_size
        .unwrap_or_else(|| transepoch::default_batch(genesis.shard_size()));
    let mut shards = ShardService::new(
        genesis,
        ledgers,
        honest.clone(),
        batch,
        cfg.transepoch.sync_ms * MICROS_PER_MS,
        per_block,
        cfg.workload.slice_ms * MICROS_PER_MS,
    );
    sim.schedule_external(slot, TAG_SLOT);

    let mut records = Vec::new();
    let mut happenings = Vec::new();
    while sim.step(end, &mut happenings)? {
        for h in happenings.drain(..) {
            match h {
                Happening::Output { at, node, output } => {
                    if let Output::RandomnessAccepted { epoch, value, .. } = output {
                        let more = shards.on_randomness(at, epoch, value, node, sim.trace_mut())?;
                        for (t, tag) in more {
                            sim.schedule_external(t, tag);
                        }
                    }
                    records.push(Record { at, node, output });
                }
                Happening::External { at, tag } => {
                    let up: Vec<bool> = (0..cfg.validators).map(|v| sim.is_up(v)).collect();
                    if tag == TAG_SLOT {
                        shards.on_slot(at, &up, sim.trace_mut())?;
                        sim.schedule_external(at + slot, TAG_SLOT);
                    } else if tag == TAG_BATCH {
                        for (t, tag) in shards.on_batch(at, &up, sim.trace_mut())? {
                            sim.schedule_external(t, tag);
                        }
                    }
                }
            }
        }
    }
    sim.trace_mut().flush()?;
    let checks = checks::check(&records, &honest, cfg, epochs);
    let committed_per_shard = shards.committed();
    let report = SimReport {
        seed,
        epochs,
        validators: cfg.validators,
        shards: cfg.shards,
        delta_us: params.delta,
        epoch_len_us: params.epoch_len,
        randomness_protocol: protocol_name,
        swap_batch: batch,
        trace_lines: sim.trace().lines(),
        trace_sha256: sim.trace().digest_hex(),
        checks,
        shard_metrics: shards.finish(end),
        committed_per_shard,
        records,
    };
    Ok((report, sim.into_trace()))
}
