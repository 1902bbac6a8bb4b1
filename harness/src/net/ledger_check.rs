//! The invariants of a stopped ledger network, from its shards' stores: each shard is rebuilt
//! from the load's genesis and its journal, exactly as a restart rebuilds it, and the shards are
//! then checked together.
//!
//! - **atomicity**: every shard that ended a transaction ended it the same way;
//! - **no double spend**: no outpoint is an input of two committed transactions;
//! - **no forgery**: no forged transaction (signed by a thief) committed anywhere;
//! - **each shard's books**: the value a shard holds is its genesis value, less the inputs it
//!   spent, plus the outputs it created, for the commits it recorded — at any moment, drained or
//!   not;
//! - **supply**: when the load drained, the value all shards hold equals the genesis value (the
//!   load pays no fees: every transaction's outputs sum to its inputs);
//! - **nothing locked, nothing left**: when the load drained, no lock is left and every
//!   transaction of the load ended at every shard concerned.
//!
//! A journal that does not replay (it diverges from its genesis, or a certificate no longer
//! verifies) is itself a failure: this is how a fraudulent leader's journal shows (it accepted
//! what the shard's rules refuse).
//!
//! With co-signers (every validator a process), each member's store holds the entries it
//! applied (and, once it led, the ones it made). A shard's history is the longest journal among
//! its members not convicted of fraud; every other such member's must be a prefix of it (every
//! honest node's history agrees with the shard's), and a member that holds all of it must hold
//! the same state root. A convicted leader's journal is reported, not counted: it holds the
//! fraud its members refused.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use iosv_engine::tx::{OutPoint, TxId};
use serde::Serialize;

use super::config::{LoadedNode, Role};
use super::journal_store::read_journal;
use super::ledger::{Place, forged};
use crate::atomix::{JournalEntry, Outcome, ShardMap, replay};

/// What the check found.
#[derive(Debug, Default, Serialize)]
pub struct LedgerCheck {
    pub shards: usize,
    /// Transactions in the load.
    pub transactions: usize,
    /// Journal entries per shard.
    pub journal_entries: Vec<usize>,
    /// Distinct transactions ended anywhere, and how.
    pub committed: usize,
    pub aborted: usize,
    pub genesis_value: String,
    pub final_value: String,
    pub locks_left: usize,
    /// Each shard's state root after replaying its journal (hex; empty if it did not replay).
    pub state_roots: Vec<String>,
    /// Transactions of the load that some shard concerned (an input's; for a commit, an
    /// output's too) has not ended.
    pub unfinished: usize,
    /// Each co-signer's history, against its shard's.
    pub cosigners: Vec<CosignerCheck>,
    /// The node whose journal is each shard's history.
    pub history_of: Vec<u32>,
    /// Convicted leaders: node, entries, and why their journal does not replay (if it does not).
    pub convicted: Vec<(u32, usize, Option<String>)>,
    /// Each a failed invariant, described.
    pub violations: Vec<String>,
}

/// A co-signer's history.
#[derive(Debug, Default, Serialize)]
pub struct CosignerCheck {
    pub node: u32,
    pub shard: u32,
    /// Entries it applied (and stored).
    pub applied: usize,
    /// Its state root after replaying them (hex; empty if they do not replay).
    pub state_root: String,
}

impl LedgerCheck {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks the shards among `nodes` (their processes stopped); `drained` says whether every
/// gateway saw its whole share settled (then nothing may be locked or unfinished); `convicted`
/// are the leaders their members convicted of fraud.
pub fn check_ledger(
    nodes: &[LoadedNode],
    drained: bool,
    convicted: &BTreeSet<u32>,
) -> Result<LedgerCheck, String> {
    let shards: Vec<&LoadedNode> = nodes
        .iter()
        .filter(|n| n.config.role == Role::Shard)
        .collect();
    let spec = shards
        .first()
        .and_then(|n| n.config.ledger.as_ref())
        .ok_or("no shard in the network")?;
    let by_id: HashMap<u32, &LoadedNode> = nodes.iter().map(|n| (n.config.id, n)).collect();
    let params = &spec.params;
    let load = params.workload();
    let dir = spec.directory()?;
    let map = ShardMap::new(params.shards);
    let mut check = LedgerCheck {
        shards: shards.len(),
        transactions: load.arrivals.len(),
        ..LedgerCheck::default()
    };
    let genesis_value: u128 = load
        .genesis
        .iter()
        .flatten()
        .map(|(_, o)| u128::from(o.amount))
        .sum();
    let mut final_value = 0u128;
    // txid -> (shard, outcome) for every end recorded.
    let mut ends: BTreeMap<TxId, Vec<(u32, Outcome)>> = BTreeMap::new();
    let mut spent: BTreeMap<OutPoint, TxId> = BTreeMap::new();
    let mut journals: Vec<Vec<JournalEntry>> = Vec::with_capacity(shards.len());
    // Every member's stored entries, by node.
    let mut stored: HashMap<u32, Vec<JournalEntry>> = HashMap::new();
    for shard in 0..params.shards {
        let mut history: Option<(u32, usize)> = None;
        for id in params.member_nodes(shard) {
            if stored.contains_key(&id) {
                continue;
            }
            let node = by_id
                .get(&id)
                .ok_or(format!("node {id} is not in the network"))?;
            let journal = read_journal(&node.store).map_err(|e| format!("node {id}: {e}"))?;
            if !convicted.contains(&id) && history.is_none_or(|(_, len)| journal.len() > len) {
                history = Some((id, journal.len()));
            }
            stored.insert(id, journal);
        }
        let (id, _) = history.ok_or(format!("every member of shard {shard} is convicted"))?;
        check.history_of.push(id);
        // The history's own node is checked as the history, never against it: moved, not copied.
        let journal = stored.remove(&id).expect("read above");
        check.journal_entries.push(journal.len());
        journals.push(journal);
    }
    // The value of every output that exists or existed: genesis and committed outputs.
    let mut values: HashMap<OutPoint, u64> = load
        .genesis
        .iter()
        .flatten()
        .map(|(p, o)| (*p, o.amount))
        .collect();
    for entry in journals.iter().flatten() {
        if let JournalEntry::Ended {
            tx,
            outcome: Outcome::Committed,
            ..
        } = entry
        {
            let txid = tx.txid();
            for (index, output) in tx.outputs.iter().enumerate() {
                values.insert(
                    OutPoint {
                        txid,
                        index: index as u32,
                    },
                    output.amount,
                );
            }
        }
    }
    for (id, journal) in (0..params.shards).zip(&journals) {
        let mut books: i128 = load.genesis[id as usize]
            .iter()
            .map(|(_, o)| i128::from(o.amount))
            .sum();
        for entry in journal {
            let JournalEntry::Ended { tx, outcome, .. } = entry else {
                continue;
            };
            let txid = tx.txid();
            ends.entry(txid).or_default().push((id, *outcome));
            if *outcome != Outcome::Committed {
                continue;
            }
            for (index, output) in tx.outputs.iter().enumerate() {
                if map.shard_of(&OutPoint {
                    txid,
                    index: index as u32,
                }) == id
                {
                    books += i128::from(output.amount);
                }
            }
            for input in tx.inputs.iter().filter(|i| map.shard_of(&i.prev) == id) {
                match values.get(&input.prev) {
                    Some(v) => books -= i128::from(*v),
                    None => check.violations.push(format!(
                        "shard {id} spent {}, which no genesis or commit created",
                        input.prev
                    )),
                }
                if let Some(other) = spent.insert(input.prev, txid)
                    && other != txid
                {
                    check.violations.push(format!(
                        "double spend: {} is an input of committed {other} and {txid}",
                        input.prev
                    ));
                }
            }
        }
        let genesis = spec.genesis_replica(id, &load)?;
        match replay(genesis, journal, &dir) {
            Ok(mut shard) => {
                check
                    .state_roots
                    .push(hex::encode(shard.state_mut().root()));
                let held = shard.state().total_value();
                if i128::try_from(held).ok() != Some(books) {
                    check.violations.push(format!(
                        "shard {id}'s books: it holds {held}, its genesis and commits say {books}"
                    ));
                }
                final_value += held;
                check.locks_left += shard.state().lock_count();
            }
            Err(e) => {
                check.state_roots.push(String::new());
                check
                    .violations
                    .push(format!("shard {id}'s history does not replay: {e}"));
            }
        }
    }
    for &id in convicted {
        let Some(Place::Shard(shard)) = params.place(id) else {
            continue;
        };
        let journal = &stored[&id];
        let replays = replay(spec.genesis_replica(shard, &load)?, journal, &dir).err();
        check
            .convicted
            .push((id, journal.len(), replays.map(|e| e.to_string())));
    }
    for node in nodes.iter().filter(|n| n.config.role != Role::Gateway) {
        let id = node.config.id;
        let shard = match params.place(id) {
            Some(Place::Cosigner { shard, .. }) => shard,
            Some(Place::Shard(shard)) if params.cosigned => shard,
            _ => continue,
        };
        if convicted.contains(&id) || check.history_of[shard as usize] == id {
            continue;
        }
        let applied = &stored[&id];
        let leader = &journals[shard as usize];
        if applied.len() > leader.len() || applied[..] != leader[..applied.len()] {
            check.violations.push(format!(
                "node {id}'s {} entries are not a prefix of shard {shard}'s history",
                applied.len()
            ));
        }
        let state_root = match replay(spec.genesis_replica(shard, &load)?, applied, &dir) {
            Ok(mut replica) => hex::encode(replica.state_mut().root()),
            Err(e) => {
                check
                    .violations
                    .push(format!("co-signer {id}'s entries do not replay: {e}"));
                String::new()
            }
        };
        let leader_root = &check.state_roots[shard as usize];
        if applied.len() == leader.len() && !leader_root.is_empty() && state_root != *leader_root {
            check.violations.push(format!(
                "node {id} holds shard {shard}'s whole history but state root {state_root}, the shard {leader_root}"
            ));
        }
        check.cosigners.push(CosignerCheck {
            node: id,
            shard,
            applied: applied.len(),
            state_root,
        });
    }
    let forged = forged(&load);
    for (txid, by) in &ends {
        let first = by[0].1;
        if by.iter().any(|(_, o)| *o != first) {
            check
                .violations
                .push(format!("atomicity: {txid} ended differently: {by:?}"));
        }
        match first {
            Outcome::Committed => check.committed += 1,
            Outcome::Aborted => check.aborted += 1,
        }
        if forged.contains(txid) && by.iter().any(|(_, o)| *o == Outcome::Committed) {
            check
                .violations
                .push(format!("forged transaction {txid} committed"));
        }
    }
    for arrival in &load.arrivals {
        // An abort ends at the input shards only; a commit at the output shards too.
        let committed = ends
            .get(&arrival.txid)
            .is_some_and(|by| by.iter().any(|(_, o)| *o == Outcome::Committed));
        let outputs_len = if committed {
            arrival.tx.outputs.len()
        } else {
            0
        };
        let outputs = (0..outputs_len).map(|index| OutPoint {
            txid: arrival.txid,
            index: index as u32,
        });
        let concerned: BTreeSet<u32> = arrival
            .tx
            .inputs
            .iter()
            .map(|i| i.prev)
            .chain(outputs)
            .map(|p| map.shard_of(&p))
            .collect();
        let ended: BTreeSet<u32> = ends
            .get(&arrival.txid)
            .map(|by| by.iter().map(|(s, _)| *s).collect())
            .unwrap_or_default();
        if !concerned.is_subset(&ended) {
            check.unfinished += 1;
        }
    }
    check.genesis_value = genesis_value.to_string();
    check.final_value = final_value.to_string();
    if drained {
        if final_value != genesis_value {
            check.violations.push(format!(
                "supply: the shards hold {final_value}, genesis was {genesis_value}"
            ));
        }
        if check.locks_left > 0 {
            check.violations.push(format!(
                "{} locks left after the load drained",
                check.locks_left
            ));
        }
        if check.unfinished > 0 {
            check.violations.push(format!(
                "{} transactions not ended at every input shard after the load drained",
                check.unfinished
            ));
        }
    }
    Ok(check)
}
