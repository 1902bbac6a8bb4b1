//! Batch validation against the set, block application and roll-back.
//!
//! A batch is judged by one sequential pass in batch order over a small overlay (outpoints spent by
//! earlier valid transactions of the batch, outputs they created) on top of the set. That pass is
//! what makes the verdicts deterministic and gives the winner rule for conflicting spends: the
//! earliest transaction in batch order that is otherwise valid wins, and every later spender gets
//! [`UtxoError::DoubleSpend`] naming it. The costly parts run before the pass, in parallel: the
//! txids (rayon, before the gate is taken) and every lookup in the set (`UtxoSet::lookup_many`,
//! sharded by outpoint, on scoped threads for a large batch). The pass only reads those lookups
//! and the overlay, so its verdicts are exactly those of looking each outpoint up in turn: the set
//! does not change while the gate is held, whichever thread read it.
//!
//! The overlay's maps hash with foldhash (seeded at random per map) rather than the keyed SipHash
//! of the set's shards: the pass is the one serial step of a batch's commit, and SipHash over
//! 36-byte outpoints was over a third of it (perf, pipeline commit thread). foldhash resists
//! collision flooding only minimally, so it is used where the damage is bounded: an overlay lives
//! for one batch, holds at most the batch's outpoints and gets a fresh seed each time, while the
//! long-lived shard maps, which anyone's outputs fill over time, keep SipHash.

use std::collections::HashMap;

use rayon::prelude::*;

use super::error::{AmountSide, UtxoError};
use super::set::{Entry, UtxoSet};
use crate::tx::{MAX_INPUTS, MAX_OUTPUTS, OutPoint, Transaction, TxId, TxOutput, TxStructureError};

/// Fewest transactions whose txids are hashed on the rayon pool. A txid costs a few SHA-512 blocks
/// (about 1–2 µs); below this the batch hashes in under ~100 µs and dispatching to the pool (around
/// 10 µs) is not worth it. Rough, not tuned.
const PARALLEL_TXID_MIN: usize = 64;

/// What is needed to roll a block back: the outputs it spent from the set, the outpoints it added,
/// and the roots before and after. Undo blocks newest first (see [`UtxoSet::undo_block`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockUndo {
    spent: Vec<(OutPoint, TxOutput)>,
    created: Vec<OutPoint>,
    digest_before: [u8; 32],
    digest_after: [u8; 32],
}

impl BlockUndo {
    /// Outputs the block removed from the set, in the order its transactions spent them. Outputs
    /// created and spent within the block never reached the set and are not listed.
    pub fn spent(&self) -> &[(OutPoint, TxOutput)] {
        &self.spent
    }

    /// Outpoints the block added to the set, in creation order.
    pub fn created(&self) -> &[OutPoint] {
        &self.created
    }

    pub fn digest_before(&self) -> [u8; 32] {
        self.digest_before
    }

    pub fn digest_after(&self) -> [u8; 32] {
        self.digest_after
    }
}

/// The outcome of judging a batch: a verdict per transaction and the net change of the valid ones.
struct Plan {
    verdicts: Vec<Result<(), UtxoError>>,
    /// Set entries spent by valid transactions, in spending order.
    spent: Vec<(OutPoint, TxOutput)>,
    /// Outputs created by valid transactions and not spent within the batch, in creation order.
    created: Vec<(OutPoint, TxOutput)>,
}

fn txids_of(txs: &[Transaction]) -> Vec<TxId> {
    if txs.len() < PARALLEL_TXID_MIN {
        txs.iter().map(Transaction::txid).collect()
    } else {
        txs.par_iter().map(Transaction::txid).collect()
    }
}

/// The shape rules that the UTXO rules rely on (duplicate inputs and overflow have their own,
/// more specific, verdicts).
fn check_shape(tx: &Transaction) -> Result<(), UtxoError> {
    let malformed = |e| Err(UtxoError::Malformed(e));
    match tx.inputs.len() {
        0 => return malformed(TxStructureError::NoInputs),
        n if n > MAX_INPUTS => {
            return malformed(TxStructureError::TooManyInputs {
                count: n,
                max: MAX_INPUTS,
            });
        }
        _ => {}
    }
    match tx.outputs.len() {
        0 => return malformed(TxStructureError::NoOutputs),
        n if n > MAX_OUTPUTS => {
            return malformed(TxStructureError::TooManyOutputs {
                count: n,
                max: MAX_OUTPUTS,
            });
        }
        _ => {}
    }
    if let Some(output) = tx.outputs.iter().position(|o| o.amount == 0) {
        return malformed(TxStructureError::ZeroAmount { output });
    }
    Ok(())
}

/// What the set held before the batch at every outpoint the batch names, read in one pass: per
/// transaction, its inputs' entries followed by the entries at the outpoints its outputs would
/// take. A transaction failing the shape rules names nothing (the pass rejects it first).
struct Prefetched {
    entries: Vec<Option<Entry>>,
    /// Transaction `i`'s entries are `entries[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

impl Prefetched {
    fn gather(set: &UtxoSet, txs: &[Transaction], txids: &[TxId]) -> Prefetched {
        let mut outpoints = Vec::new();
        let mut starts = Vec::with_capacity(txs.len() + 1);
        for (tx, &txid) in txs.iter().zip(txids) {
            starts.push(outpoints.len());
            if check_shape(tx).is_ok() {
                outpoints.extend(tx.inputs.iter().map(|input| input.prev));
                outpoints.extend((0..tx.outputs.len()).map(|k| created_outpoint(txid, k)));
            }
        }
        starts.push(outpoints.len());
        Prefetched {
            entries: set.lookup_many(&outpoints),
            starts,
        }
    }

    /// Transaction `index`'s input entries and output-outpoint entries; it has `inputs` inputs
    /// and passed the shape rules.
    fn of(&self, index: usize, inputs: usize) -> (&[Option<Entry>], &[Option<Entry>]) {
        self.entries[self.starts[index]..self.starts[index + 1]].split_at(inputs)
    }
}

/// The batch overlay on top of the set (hashing: see the module documentation).
struct Overlay {
    /// Outpoint → index of the valid transaction of the batch that spent it.
    spent_by: HashMap<OutPoint, usize, foldhash::fast::RandomState>,
    /// Outputs created by valid transactions of the batch and not yet spent in it: outpoint →
    /// the output and its place in `created_order`.
    created: HashMap<OutPoint, (TxOutput, usize), foldhash::fast::RandomState>,
    /// Every output created by a valid transaction of the batch, in creation order, and whether it
    /// is still unspent (the net change keeps those, in this order, without a second lookup).
    created_order: Vec<(OutPoint, TxOutput, bool)>,
}

impl Overlay {
    /// An empty overlay sized for `txs` (no rehash or regrowth while the pass fills it).
    fn for_batch(txs: &[Transaction]) -> Overlay {
        let (inputs, outputs) = txs.iter().fold((0, 0), |(i, o), tx| {
            (i + tx.inputs.len(), o + tx.outputs.len())
        });
        Overlay {
            spent_by: HashMap::with_capacity_and_hasher(inputs, Default::default()),
            created: HashMap::with_capacity_and_hasher(outputs, Default::default()),
            created_order: Vec::with_capacity(outputs),
        }
    }

    /// Records that valid transaction `index` spent `outpoint`; true when the output was created
    /// earlier in the batch (so it never reached the set).
    fn spend(&mut self, outpoint: OutPoint, index: usize) -> bool {
        self.spent_by.insert(outpoint, index);
        match self.created.remove(&outpoint) {
            Some((_, place)) => {
                self.created_order[place].2 = false;
                true
            }
            None => false,
        }
    }

    fn create(&mut self, outpoint: OutPoint, output: TxOutput) {
        self.created
            .insert(outpoint, (output, self.created_order.len()));
        self.created_order.push((outpoint, output, true));
    }

    /// The outputs created in the batch and not spent in it, in creation order.
    fn unspent_created(self) -> Vec<(OutPoint, TxOutput)> {
        self.created_order
            .into_iter()
            .filter_map(|(o, out, live)| live.then_some((o, out)))
            .collect()
    }
}

impl UtxoSet {
    /// Judges transaction `index` against the set (as `before` read it) and the overlay. On
    /// success, the outputs it spends are left in `resolved`, in input order.
    fn check_tx(
        index: usize,
        tx: &Transaction,
        txid: TxId,
        before: &Prefetched,
        overlay: &Overlay,
        resolved: &mut Vec<TxOutput>,
    ) -> Result<(), UtxoError> {
        resolved.clear();
        check_shape(tx)?;
        let (input_entries, output_entries) = before.of(index, tx.inputs.len());
        let mut inputs_total: Option<u64> = Some(0);
        for (j, input) in tx.inputs.iter().enumerate() {
            let outpoint = input.prev;
            if let Some(&first_tx_index) = overlay.spent_by.get(&outpoint) {
                return Err(UtxoError::DoubleSpend {
                    outpoint,
                    first_tx_index,
                });
            }
            if tx.inputs[..j]
                .iter()
                .any(|earlier| earlier.prev == outpoint)
            {
                return Err(UtxoError::DoubleSpend {
                    outpoint,
                    first_tx_index: index,
                });
            }
            let output = match input_entries[j] {
                Some(Entry {
                    locked_by: Some(lock_id),
                    ..
                }) => return Err(UtxoError::Locked { outpoint, lock_id }),
                Some(entry) => entry.output,
                None => {
                    overlay
                        .created
                        .get(&outpoint)
                        .ok_or(UtxoError::UnknownOutpoint { outpoint })?
                        .0
                }
            };
            if input.owner != output.owner {
                return Err(UtxoError::WrongOwner {
                    outpoint,
                    expected: output.owner,
                    found: input.owner,
                });
            }
            inputs_total = inputs_total.and_then(|t| t.checked_add(output.amount));
            resolved.push(output);
        }
        let inputs = inputs_total.ok_or(UtxoError::AmountOverflow {
            side: AmountSide::Inputs,
        })?;
        let outputs = tx
            .outputs
            .iter()
            .try_fold(0u64, |t, o| t.checked_add(o.amount))
            .ok_or(UtxoError::AmountOverflow {
                side: AmountSide::Outputs,
            })?;
        for (index, entry_before) in output_entries.iter().enumerate() {
            let outpoint = created_outpoint(txid, index);
            // (The spent-by lookup only when the set held the outpoint: rare, and the pass's
            // hashing is its main cost.)
            let in_set = entry_before.is_some() && !overlay.spent_by.contains_key(&outpoint);
            if in_set || overlay.created.contains_key(&outpoint) {
                return Err(UtxoError::OutputExists { outpoint });
            }
        }
        if inputs < outputs {
            return Err(UtxoError::InsufficientFunds { inputs, outputs });
        }
        Ok(())
    }

    /// Judges the whole batch (see the module documentation). The caller holds the gate.
    fn plan(&self, txs: &[Transaction], txids: &[TxId]) -> Plan {
        let before = Prefetched::gather(self, txs, txids);
        let mut overlay = Overlay::for_batch(txs);
        let mut verdicts = Vec::with_capacity(txs.len());
        let mut spent = Vec::with_capacity(txs.iter().map(|tx| tx.inputs.len()).sum());
        let mut resolved = Vec::new();
        for (index, (tx, &txid)) in txs.iter().zip(txids).enumerate() {
            let verdict = Self::check_tx(index, tx, txid, &before, &overlay, &mut resolved);
            if verdict.is_ok() {
                for (input, output) in tx.inputs.iter().zip(&resolved) {
                    if !overlay.spend(input.prev, index) {
                        spent.push((input.prev, *output));
                    }
                }
                for (k, output) in tx.outputs.iter().enumerate() {
                    overlay.create(created_outpoint(txid, k), *output);
                }
            }
            verdicts.push(verdict);
        }
        let created = overlay.unspent_created();
        Plan {
            verdicts,
            spent,
            created,
        }
    }

    /// One verdict per transaction, in order, as if the batch were applied one transaction at a
    /// time skipping invalid ones (the set itself is not changed). Among transactions spending the
    /// same outpoint, the earliest otherwise-valid one wins; later ones get
    /// [`UtxoError::DoubleSpend`] with its index. A transaction may spend outputs of earlier
    /// transactions of the batch. Signatures are not checked.
    ///
    /// Many threads may validate at once (the set is only read); a concurrent mutation is seen
    /// either entirely or not at all.
    pub fn validate_batch(&self, txs: &[Transaction]) -> Vec<Result<(), UtxoError>> {
        let txids = txids_of(txs);
        let _gate = self.read_gate();
        self.plan(txs, &txids).verdicts
    }

    /// Applies a block whose transactions must all be valid (in order, as for
    /// [`UtxoSet::validate_batch`]); otherwise applies nothing and returns
    /// [`UtxoError::InvalidBlock`] with the first invalid transaction's verdict. Atomic: no reader
    /// sees part of the block.
    pub fn apply_block(&self, txs: &[Transaction]) -> Result<BlockUndo, UtxoError> {
        let txids = txids_of(txs);
        let _gate = self.write_gate();
        let plan = self.plan(txs, &txids);
        if let Some((tx_index, Err(reason))) =
            plan.verdicts.iter().enumerate().find(|(_, v)| v.is_err())
        {
            return Err(UtxoError::InvalidBlock {
                tx_index,
                reason: Box::new(reason.clone()),
            });
        }
        Ok(self.commit_plan(plan).1)
    }

    /// Applies the valid transactions of `txs`, in order, and reports a verdict for each (what a
    /// block producer does with a batch of candidates). The verdicts are exactly those
    /// [`UtxoSet::validate_batch`] gives on the same state; the undo record covers the applied
    /// ones.
    pub fn apply_valid(&self, txs: &[Transaction]) -> (Vec<Result<(), UtxoError>>, BlockUndo) {
        self.apply_valid_with_txids(txs, &txids_of(txs))
    }

    /// [`UtxoSet::apply_valid`] for a caller that already computed every transaction's txid (the
    /// pipeline hashes each transaction once, at ingest). `txids[i]` must be `txs[i].txid()`: the
    /// created outputs are keyed by it (checked in debug builds).
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn apply_valid_with_txids(
        &self,
        txs: &[Transaction],
        txids: &[TxId],
    ) -> (Vec<Result<(), UtxoError>>, BlockUndo) {
        assert_eq!(txs.len(), txids.len(), "one txid per transaction");
        debug_assert!(
            txs.iter().zip(txids).all(|(tx, id)| tx.txid() == *id),
            "txids must be the transactions' own"
        );
        let _gate = self.write_gate();
        let plan = self.plan(txs, txids);
        self.commit_plan(plan)
    }

    /// Applies a plan's net change; the caller holds the gate exclusively.
    fn commit_plan(&self, plan: Plan) -> (Vec<Result<(), UtxoError>>, BlockUndo) {
        let digest_before = self.digest_locked();
        let remove: Vec<OutPoint> = plan.spent.iter().map(|(o, _)| *o).collect();
        let insert: Vec<(OutPoint, Entry)> = plan
            .created
            .iter()
            .map(|(o, out)| (*o, Entry::unlocked(*out)))
            .collect();
        self.apply_changes(&remove, &insert);
        let undo = BlockUndo {
            spent: plan.spent,
            created: plan.created.into_iter().map(|(o, _)| o).collect(),
            digest_before,
            digest_after: self.digest_locked(),
        };
        (plan.verdicts, undo)
    }

    /// Rolls back the block `undo` came from, restoring exactly the previous entries and root.
    /// Blocks must be undone newest first, with no other change since (a lock taken, a genesis
    /// insert): the set's root must equal `undo.digest_after()`, else [`UtxoError::UndoMismatch`]
    /// and nothing changes.
    pub fn undo_block(&self, undo: &BlockUndo) -> Result<(), UtxoError> {
        let _gate = self.write_gate();
        let found_digest = self.digest_locked();
        let mismatch = UtxoError::UndoMismatch {
            expected_digest: undo.digest_after,
            found_digest,
        };
        if found_digest != undo.digest_after {
            return Err(mismatch);
        }
        // The root matching makes these hold except with negligible probability; checking them
        // keeps the set consistent even then.
        let created_present = undo
            .created
            .iter()
            .all(|o| self.lookup(o).is_some_and(|e| e.locked_by.is_none()));
        let spent_absent = undo.spent.iter().all(|(o, _)| self.lookup(o).is_none());
        if !created_present || !spent_absent {
            return Err(mismatch);
        }
        let insert: Vec<(OutPoint, Entry)> = undo
            .spent
            .iter()
            .map(|(o, out)| (*o, Entry::unlocked(*out)))
            .collect();
        self.apply_changes(&undo.created, &insert);
        debug_assert_eq!(self.digest_locked(), undo.digest_before);
        Ok(())
    }
}

fn created_outpoint(txid: TxId, index: usize) -> OutPoint {
    OutPoint {
        txid,
        // Output counts are checked against MAX_OUTPUTS (<= u16::MAX) before outputs are named.
        index: u32::try_from(index).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
