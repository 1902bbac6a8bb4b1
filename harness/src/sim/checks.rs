//! The protocol's guarantees, checked on a run's outputs.
//!
//! - Agreement: for every epoch, the honest validators that accepted randomness accepted the same
//!   value.
//! - Timeliness: every acceptance came at most 3Δ after its view's gossip close (a leader, or one
//!   of its two backups, is elected within 3Δ per view).
//! - Liveness, reported rather than asserted here (crashes and partitions legitimately stop some
//!   nodes): how many honest validators accepted each epoch's randomness.
//!
//! Rejected lotteries are counted by reason, so fault tests can see each fault detected.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::config::SimConfig;
use super::run::Record;
use crate::epoch::Output;
use crate::node::NodeId;

/// One epoch's outcome.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EpochOutcome {
    pub epoch: u64,
    /// The value the honest validators accepted (hex), if any did.
    pub value: Option<String>,
    pub view: Option<u32>,
    pub leader: Option<NodeId>,
    pub rank: Option<u8>,
    /// Distinct values among honest acceptances (agreement: at most 1).
    pub distinct_honest_values: u32,
    pub honest_accepted: u32,
    pub excluded: Vec<NodeId>,
    pub failed_views: u32,
    pub failed: bool,
}

/// The checked guarantees and the counts behind them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Checks {
    pub agreement: bool,
    pub within_3_delta: bool,
    pub max_elapsed_us: u64,
    pub epochs_with_randomness: u64,
    pub failed_epochs: u64,
    pub exclusions: u64,
    pub failed_views: u64,
    /// Rejected lotteries by reason (`LotteryError::code`).
    pub lottery_rejects: BTreeMap<String, u64>,
    /// Rejections reported by the randomness protocol, by reason.
    pub randomness_rejects: BTreeMap<String, u64>,
    pub epochs: Vec<EpochOutcome>,
}

/// Checks the guarantees over `records` of a run of `epochs` epochs.
pub fn check(records: &[Record], honest: &[bool], cfg: &SimConfig, epochs: u64) -> Checks {
    let delta = cfg.epoch_params().delta;
    let is_honest = |n: NodeId| honest.get(n as usize).copied().unwrap_or(false);
    let mut out = Checks {
        agreement: true,
        within_3_delta: true,
        ..Checks::default()
    };
    let mut per_epoch: BTreeMap<u64, EpochOutcome> = (0..epochs)
        .map(|e| {
            (
                e,
                EpochOutcome {
                    epoch: e,
                    ..EpochOutcome::default()
                },
            )
        })
        .collect();
    let mut values: BTreeMap<u64, BTreeSet<[u8; 32]>> = BTreeMap::new();
    let mut excluded: BTreeMap<u64, BTreeSet<NodeId>> = BTreeMap::new();
    let mut failed_views: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
    let mut failed: BTreeSet<u64> = BTreeSet::new();
    for r in records {
        match &r.output {
            Output::LotteryRejected { reason, .. } => {
                *out.lottery_rejects
                    .entry((*reason).to_string())
                    .or_default() += 1;
            }
            Output::RandomnessRejected { reason, .. } => {
                *out.randomness_rejects.entry(reason.clone()).or_default() += 1;
            }
            Output::LeaderExcluded { epoch, leader, .. } if is_honest(r.node) => {
                excluded.entry(*epoch).or_default().insert(*leader);
            }
            Output::ViewFailed { epoch, view } if is_honest(r.node) => {
                failed_views.entry(*epoch).or_default().insert(*view);
            }
            Output::EpochFailed { epoch } if is_honest(r.node) => {
                failed.insert(*epoch);
            }
            Output::RandomnessAccepted {
                epoch,
                view,
                rank,
                leader,
                value,
                elapsed,
                ..
            } => {
                out.max_elapsed_us = out.max_elapsed_us.max(*elapsed);
                if *elapsed > 3 * delta {
                    out.within_3_delta = false;
                }
                if is_honest(r.node) {
                    values.entry(*epoch).or_default().insert(*value);
                    let e = per_epoch.entry(*epoch).or_default();
                    e.epoch = *epoch;
                    e.honest_accepted += 1;
                    e.value.get_or_insert_with(|| hex::encode(value));
                    e.view.get_or_insert(*view);
                    e.leader.get_or_insert(*leader);
                    e.rank.get_or_insert(*rank);
                }
            }
            _ => {}
        }
    }
    for (epoch, e) in &mut per_epoch {
        e.distinct_honest_values = values.get(epoch).map_or(0, |v| v.len() as u32);
        if e.distinct_honest_values > 1 {
            out.agreement = false;
        }
        e.excluded = excluded
            .get(epoch)
            .map_or_else(Vec::new, |s| s.iter().copied().collect());
        e.failed_views = failed_views.get(epoch).map_or(0, |s| s.len() as u32);
        e.failed = failed.contains(epoch);
        out.exclusions += e.excluded.len() as u64;
        out.failed_views += u64::from(e.failed_views);
        if e.failed {
            out.failed_epochs += 1;
        }
        if e.honest_accepted > 0 {
            out.epochs_with_randomness += 1;
        }
    }
    out.epochs = per_epoch.into_values().collect();
    out
}
