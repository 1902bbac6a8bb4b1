//! Commits on their way: what the value summed over every shard still has to change by while a
//! committed cross-shard transaction's finishes have reached some of its shards and not others.
//!
//! A commit changes value in two places: each input shard removes the inputs it held locked,
//! each output shard creates the outputs that map to it. Until a shard applies the commit, its
//! part is owed: locked inputs are still counted (they leave later), outputs are not yet (they
//! appear later). An abort changes no value (it only unlocks), and a commit no shard has applied
//! yet has changed nothing, so only commits applied somewhere are owed anything. Hence, at any
//! moment, `summed value − to_remove + to_create` is the value once every finish has arrived,
//! and a check of supply conservation holds for a run stopped with finishes in flight.

use std::collections::HashSet;

use iosv_engine::tx::OutPoint;
use serde::Serialize;

use super::AtomixShard;
use crate::atomix::proof::Outcome;
use crate::atomix::statement::Decision;

/// What committed transactions still owe the shards' summed value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommitsInFlight {
    /// Committed transactions some shard has not applied yet.
    pub transactions: u64,
    /// Their inputs still held locked by input shards that have not applied the commit.
    pub to_remove: u128,
    /// Their outputs not yet created by output shards that have not applied the commit.
    pub to_create: u128,
}

/// The commits in flight among `shards` (every shard of the map: a commit's shards must all
/// be there for what they owe to be counted).
pub fn commits_in_flight(shards: &[&AtomixShard]) -> CommitsInFlight {
    let mut seen = HashSet::new();
    let mut owed = CommitsInFlight::default();
    for shard in shards {
        for (txid, record) in &shard.decisions {
            if !seen.insert(*txid) {
                continue;
            }
            let committed = shards
                .iter()
                .any(|s| s.outcome(txid) == Some(Outcome::Committed));
            if !committed {
                continue;
            }
            let mut owes = false;
            for s in shards.iter().filter(|s| s.outcome(txid).is_none()) {
                if let Some(Decision::Accept { value }) = s.decision(txid) {
                    owed.to_remove += u128::from(value);
                    owes = true;
                }
                let created: u128 = record
                    .tx
                    .outputs
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| {
                        let point = OutPoint {
                            txid: *txid,
                            index: *index as u32,
                        };
                        s.map.shard_of(&point) == s.id
                    })
                    .map(|(_, output)| u128::from(output.amount))
                    .sum();
                if created > 0 {
                    owed.to_create += created;
                    owes = true;
                }
            }
            if owes {
                owed.transactions += 1;
            }
        }
    }
    owed
}
