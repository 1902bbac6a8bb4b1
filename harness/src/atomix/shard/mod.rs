//! One shard's side of Atomix, as a sans-I/O state machine: requests in, decisions, proofs and
//! state changes out. The shard's roster members' keys sit here so the shard can run its real
//! Schnorr CoSi round in-process; a networked driver would move the same round's messages instead.
//!
//! Invariants:
//! - **one decision per txid**: the first lock request decides (accept and lock, or reject); every
//!   later request for that txid re-certifies the recorded decision (under the current roster)
//!   and changes nothing;
//! - **one outcome per txid**: a finish request for a txid already committed or aborted here is a
//!   replay and is refused before anything is checked or changed;
//! - locks move only on a verified certificate: `commit_lock` on a commit certificate (which holds
//!   this shard's own acceptance), `unlock` on an abort certificate; outputs are created only on a
//!   commit certificate, all of this shard's at once or none.
//!
//! Recovery (no lost funds whatever the client does): a lock that sees no certificate for
//! [`RECOVERY_EPOCHS`] epochs is listed by [`AtomixShard::stalled`], with its transaction. Any party
//! — the shard's own leader, the payer, a watchtower — then restarts the client protocol from the
//! transaction alone ([`AtomixClient`](super::AtomixClient)): shards that decided re-certify their
//! decision, shards never asked decide now, and the resulting certificate commits or aborts. There
//! is deliberately no unilateral timeout-abort: a shard that unlocked on its own after its
//! acceptance had been shown to an output shard would let both the outputs and the unlocked inputs
//! exist (money created). Completion is guaranteed instead, because every shard answers a lock
//! request with a decision.
//!
//! The output side: a client may also crash after the input shards committed but before an output
//! shard heard of it. The outputs are not lost: decisions are kept after the commit and are
//! re-certified on request, so the recipient (or anyone) runs a fresh client from the transaction
//! (listed by [`AtomixShard::committed_inputs`]); the input shards refuse its finish as a replay,
//! and the output shard, which has not finished the txid, creates the outputs once.

mod batch;
mod in_flight;

pub use batch::proofs_of;
pub use in_flight::{CommitsInFlight, commits_in_flight};

use std::collections::HashMap;

use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};
use iosv_engine::cosi::{Mask, Policy};
use iosv_engine::sig::{SigRef, Verifier, verify_single};
use iosv_engine::tx::{OutPoint, Transaction, TxId, verify_tx_signatures_where};
use iosv_engine::utxo::{LockId, ShardState, UtxoError};

use super::error::AtomixError;
use super::proof::{Certificate, Directory, Outcome, ShardInfo, VerifiedBatches};
use super::statement::{Decision, RejectReason, ShardId, ShardMap};

/// Epochs a lock may wait for its certificate before the shard lists it for recovery. Two: a
/// client that saw one roster change (and had to have proofs re-certified) is not yet stalled.
pub const RECOVERY_EPOCHS: u64 = 2;

/// Fan-out of the shard's CoSi aggregation tree (any fan-out gives the same signature).
const COSI_FANOUT: usize = 8;

/// What the shard decided on a transaction, and when.
#[derive(Clone, Debug)]
struct Record {
    tx: Transaction,
    decision: Decision,
    epoch: u64,
}

/// An input or output shard of cross-shard transactions.
pub struct AtomixShard {
    id: ShardId,
    map: ShardMap,
    policy: Policy,
    epoch: u64,
    keys: Vec<MemberKey>,
    info: ShardInfo,
    online: Mask,
    state: ShardState,
    decisions: HashMap<TxId, Record>,
    finished: HashMap<TxId, Outcome>,
    /// Txids whose decision goes into the next batch, in request order, without repeats.
    queue: Vec<TxId>,
    seq: u64,
    verified: VerifiedBatches,
}

fn roster_of(shard: ShardId, keys: &[MemberKey]) -> Result<Roster, AtomixError> {
    let regs: Vec<Registration> = keys.iter().map(MemberKey::registration).collect();
    Roster::from_registrations(&regs).map_err(|source| AtomixError::Roster { shard, source })
}

impl AtomixShard {
    /// Shard `id` of `map`, with roster `keys` (registered with their proofs of possession) at
    /// epoch 0, signing under `policy`, holding `state`.
    pub fn new(
        id: ShardId,
        map: ShardMap,
        policy: Policy,
        keys: Vec<MemberKey>,
        state: ShardState,
    ) -> Result<AtomixShard, AtomixError> {
        let roster = roster_of(id, &keys)?;
        let mut shard = AtomixShard::replica(id, map, policy, roster, state);
        shard.keys = keys;
        Ok(shard)
    }

    /// A replica of shard `id` for a validator that holds none of the roster's secret keys (or
    /// only its own, elsewhere): it decides, finishes and records exactly as a shard built by
    /// [`AtomixShard::new`], but cannot [`seal`](AtomixShard::seal); its batches are co-signed
    /// by the roster over the network instead ([`crate::atomix::cosigning`]).
    pub fn replica(
        id: ShardId,
        map: ShardMap,
        policy: Policy,
        roster: Roster,
        state: ShardState,
    ) -> AtomixShard {
        AtomixShard {
            id,
            map,
            policy,
            epoch: 0,
            keys: Vec::new(),
            online: Mask::full(roster.len()),
            info: ShardInfo::new(id, 0, roster, policy),
            state,
            decisions: HashMap::new(),
            finished: HashMap::new(),
            queue: Vec::new(),
            seq: 0,
            verified: VerifiedBatches::new(),
        }
    }

    /// The shard as it comes back after a restart. Durable: the ledger (UTXO entries with their
    /// locks, rebuilt with its state tree), the recorded decisions and outcomes, the roster and
    /// epoch. Volatile, lost: the queue of decisions not yet signed (a client that asks again
    /// gets its recorded decision re-certified, never a new one) and the cache of verified
    /// batches.
    pub fn restarted(&self) -> Result<AtomixShard, AtomixError> {
        Ok(AtomixShard {
            id: self.id,
            map: self.map,
            policy: self.policy,
            epoch: self.epoch,
            keys: self.keys.clone(),
            info: self.info.clone(),
            online: self.online.clone(),
            state: ShardState::from_entries(&self.state.entries())?,
            decisions: self.decisions.clone(),
            finished: self.finished.clone(),
            queue: Vec::new(),
            seq: self.seq,
            verified: VerifiedBatches::new(),
        })
    }

    pub fn id(&self) -> ShardId {
        self.id
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The current roster, to install in every verifier's [`Directory`].
    pub fn info(&self) -> &ShardInfo {
        &self.info
    }

    /// The shard's UTXO set and state tree.
    pub fn state(&self) -> &ShardState {
        &self.state
    }

    /// The shard's state, for the block production that shares it with Atomix (blocks applied,
    /// undone, tokens seized, compensation inserted): every change keeps set and tree in step.
    pub fn state_mut(&mut self) -> &mut ShardState {
        &mut self.state
    }

    /// The decision recorded for `txid`, if any.
    pub fn decision(&self, txid: &TxId) -> Option<Decision> {
        self.decisions.get(txid).map(|r| r.decision)
    }

    /// How `txid` ended here, if it did.
    pub fn outcome(&self, txid: &TxId) -> Option<Outcome> {
        self.finished.get(txid).copied()
    }

    /// Marks roster member `index` as reachable or not (crashed members do not co-sign).
    pub fn set_online(&mut self, index: usize, online: bool) {
        if index < self.online.members() {
            self.online.set(index, online);
        }
    }

    /// Next epoch with a new roster (all members online). Decisions, locks and outcomes stay;
    /// proofs signed by the old roster stop verifying, and requests re-certify under the new one.
    pub fn rotate(&mut self, keys: Vec<MemberKey>) -> Result<&ShardInfo, AtomixError> {
        let roster = roster_of(self.id, &keys)?;
        self.epoch += 1;
        self.online = Mask::full(roster.len());
        self.info = ShardInfo::new(self.id, self.epoch, roster, self.policy);
        self.keys = keys;
        Ok(&self.info)
    }

    /// Phase 1: decides on `tx` (or re-certifies the recorded decision) and queues the statement
    /// for the next batch. Refuses a transaction with no input here.
    pub fn request_lock(&mut self, tx: &Transaction) -> Result<Decision, AtomixError> {
        let txid = tx.txid();
        self.decide(tx, &|i: usize| {
            let input = &tx.inputs[i];
            verify_single(SigRef {
                pk: &input.owner,
                msg: txid.as_bytes(),
                sig: &input.signature,
            })
        })
    }

    /// [`AtomixShard::request_lock`] for many requests, in order, with the signatures of this
    /// shard's inputs checked in one batch verification first (same verdicts, far less work).
    pub fn request_locks(
        &mut self,
        txs: &[Transaction],
        verifier: &Verifier,
    ) -> Vec<Result<Decision, AtomixError>> {
        let txids: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
        // Only transactions not decided yet are checked, and of those only this shard's inputs.
        // Each copy of a transaction gets its own verdicts: a copy with forged signatures is
        // judged by them even when an honest copy with the same txid is in the same call.
        let pending: Vec<usize> = (0..txs.len())
            .filter(|&k| !self.decisions.contains_key(&txids[k]))
            .collect();
        let (map, id) = (&self.map, self.id);
        let verdicts = verify_tx_signatures_where(
            pending.iter().map(|&k| (&txs[k], &txids[k])),
            |input| map.shard_of(&input.prev) == id,
            |refs| verifier.verify_batch(refs),
        );
        // Transaction k's place among the checked ones, if it was checked.
        let mut checked_at: Vec<Option<usize>> = vec![None; txs.len()];
        for (at, &k) in pending.iter().enumerate() {
            checked_at[k] = Some(at);
        }
        txs.iter()
            .zip(checked_at)
            .map(|(tx, checked)| {
                // A transaction decided before this call returns its decision without asking.
                self.decide(tx, &|input: usize| {
                    checked.is_some_and(|at| verdicts.inputs(at)[input])
                })
            })
            .collect()
    }

    /// What a fraudulent believable validator does: [`AtomixShard::request_lock`] without
    /// checking a single signature (fault injection for the harness; a forged transaction is
    /// accepted and its inputs locked). Co-signers that apply the decision themselves find it.
    pub fn request_lock_unverified(&mut self, tx: &Transaction) -> Result<Decision, AtomixError> {
        self.decide(tx, &|_| true)
    }

    fn decide(
        &mut self,
        tx: &Transaction,
        signed: &dyn Fn(usize) -> bool,
    ) -> Result<Decision, AtomixError> {
        let txid = tx.txid();
        if let Some(record) = self.decisions.get(&txid) {
            let decision = record.decision;
            self.enqueue(txid);
            return Ok(decision);
        }
        let own: Vec<usize> = (0..tx.inputs.len())
            .filter(|&i| self.map.shard_of(&tx.inputs[i].prev) == self.id)
            .collect();
        if own.is_empty() {
            return Err(AtomixError::NotAnInputShard {
                shard: self.id,
                txid,
            });
        }
        let decision = match self.judge(tx, &own, signed) {
            Ok(value) => {
                let outpoints: Vec<OutPoint> = own.iter().map(|&i| tx.inputs[i].prev).collect();
                match self.state.lock(LockId::from(txid), &outpoints) {
                    Ok(()) => Decision::Accept { value },
                    Err(e) => Decision::Reject {
                        reason: reason_of(&e),
                    },
                }
            }
            Err(reason) => Decision::Reject { reason },
        };
        self.decisions.insert(
            txid,
            Record {
                tx: tx.clone(),
                decision,
                epoch: self.epoch,
            },
        );
        self.enqueue(txid);
        Ok(decision)
    }

    /// The total value of this shard's inputs of `tx` if they may be locked, else why not.
    fn judge(
        &self,
        tx: &Transaction,
        own: &[usize],
        signed: &dyn Fn(usize) -> bool,
    ) -> Result<u64, RejectReason> {
        if tx.validate_structure().is_err() {
            return Err(RejectReason::Malformed);
        }
        let mut value = 0u64;
        for &i in own {
            let input = &tx.inputs[i];
            if !signed(i) {
                return Err(RejectReason::BadSignature);
            }
            let entry = self
                .state
                .get(&input.prev)
                .ok_or(RejectReason::UnknownOutpoint)?;
            if entry.locked_by.is_some() {
                return Err(RejectReason::Locked);
            }
            if entry.output.owner != input.owner {
                return Err(RejectReason::WrongOwner);
            }
            value = value
                .checked_add(entry.output.amount)
                .ok_or(RejectReason::Malformed)?;
        }
        Ok(value)
    }

    fn enqueue(&mut self, txid: TxId) {
        if !self.queue.contains(&txid) {
            self.queue.push(txid);
        }
    }

    /// Phase 2: ends `tx` here on a verified certificate — commits (spends this shard's locked
    /// inputs, creates this shard's outputs) or aborts (releases the locks). A second finish for
    /// the same txid is a replay and is refused.
    pub fn finish(
        &mut self,
        tx: &Transaction,
        certificate: &Certificate,
        dir: &Directory,
    ) -> Result<Outcome, AtomixError> {
        let txid = tx.txid();
        if let Some(done) = self.finished.get(&txid) {
            return Err(AtomixError::Replay {
                shard: self.id,
                txid,
                outcome: done.as_str(),
            });
        }
        let has_inputs = self.map.input_shards(tx).contains(&self.id);
        let has_outputs = self.map.output_shards(tx).contains(&self.id);
        if !has_inputs && !has_outputs {
            return Err(AtomixError::NotInvolved {
                shard: self.id,
                txid,
            });
        }
        let outcome = certificate.verify_cached(tx, &self.map, dir, &mut self.verified)?;
        let recorded = self.decisions.get(&txid).map(|r| r.decision);
        match outcome {
            Outcome::Committed => {
                if has_inputs && !matches!(recorded, Some(Decision::Accept { .. })) {
                    return Err(self.conflict(txid, recorded));
                }
                let created = if has_outputs {
                    self.own_outputs(tx, &txid)?
                } else {
                    Vec::new()
                };
                if has_inputs {
                    self.state.commit_lock(LockId::from(txid))?;
                }
                for (outpoint, output) in created {
                    self.state.insert(outpoint, output)?;
                }
            }
            Outcome::Aborted => {
                if has_inputs {
                    match recorded {
                        Some(Decision::Accept { .. }) => self.state.unlock(LockId::from(txid))?,
                        Some(Decision::Reject { .. }) => {}
                        None => {
                            self.decisions.insert(
                                txid,
                                Record {
                                    tx: tx.clone(),
                                    decision: Decision::Reject {
                                        reason: RejectReason::AbortedElsewhere,
                                    },
                                    epoch: self.epoch,
                                },
                            );
                        }
                    }
                }
            }
        }
        self.finished.insert(txid, outcome);
        Ok(outcome)
    }

    /// This shard's outputs of `tx`, checked absent from the set before anything changes.
    fn own_outputs(
        &self,
        tx: &Transaction,
        txid: &TxId,
    ) -> Result<Vec<(OutPoint, iosv_engine::tx::TxOutput)>, AtomixError> {
        let mut created = Vec::new();
        for (index, output) in tx.outputs.iter().enumerate() {
            let outpoint = OutPoint {
                txid: *txid,
                index: index as u32,
            };
            if self.map.shard_of(&outpoint) != self.id {
                continue;
            }
            if self.state.contains(&outpoint) {
                return Err(UtxoError::OutputExists { outpoint }.into());
            }
            created.push((outpoint, *output));
        }
        Ok(created)
    }

    fn conflict(&self, txid: TxId, recorded: Option<Decision>) -> AtomixError {
        AtomixError::ConflictingDecision {
            shard: self.id,
            txid,
            decided: match recorded {
                Some(Decision::Accept { .. }) => "accept",
                Some(Decision::Reject { .. }) => "reject",
                None => "nothing",
            },
        }
    }

    /// Transactions this shard committed as an input shard, in txid order: the public record from
    /// which a recipient claims outputs that no finish delivered (the Atomix scenario tests'
    /// `AtomixWorld::claim_outputs` does).
    pub fn committed_inputs(&self) -> Vec<Transaction> {
        let mut done: Vec<(&TxId, &Record)> = self
            .decisions
            .iter()
            .filter(|(txid, _)| self.finished.get(*txid) == Some(&Outcome::Committed))
            .collect();
        done.sort_unstable_by_key(|(txid, _)| **txid);
        done.into_iter().map(|(_, r)| r.tx.clone()).collect()
    }

    /// Transactions whose inputs this shard has held locked for at least `min_epochs` epochs
    /// without a certificate: candidates for recovery (see the module documentation).
    pub fn stalled(&self, min_epochs: u64) -> Vec<Transaction> {
        let mut stalled: Vec<(&TxId, &Record)> = self
            .decisions
            .iter()
            .filter(|(txid, r)| {
                r.decision.is_accept()
                    && !self.finished.contains_key(*txid)
                    && self.epoch.saturating_sub(r.epoch) >= min_epochs
            })
            .collect();
        stalled.sort_unstable_by_key(|(txid, _)| **txid);
        stalled.into_iter().map(|(_, r)| r.tx.clone()).collect()
    }
}

fn reason_of(e: &UtxoError) -> RejectReason {
    match e {
        UtxoError::Locked { .. } | UtxoError::LockInUse { .. } => RejectReason::Locked,
        UtxoError::UnknownOutpoint { .. } => RejectReason::UnknownOutpoint,
        _ => RejectReason::Malformed,
    }
}
