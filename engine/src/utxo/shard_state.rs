//! A shard's state: the UTXO set and its Merkle state tree, changed together.
//!
//! The [`UtxoSet`] judges transactions and holds locks; the [`StateTree`] is what headers, fraud
//! proofs and Micro State Blocks anchor. Block production, replay, bootstrap, Atomix and the
//! demo's fraud handling all change both, so [`ShardState`] is the one place that does it: every
//! change (apply, undo, lock, unlock, commit, insert, seize) goes through a method that changes
//! the set first and then the tree by the same net change, and takes `&mut self` so no one can
//! read the pair half-changed.
//!
//! Invariant: after every method returns, the tree holds exactly the set's entries, lock states
//! included ([`ShardState::is_consistent`] rebuilds the tree to check it; the property test
//! `shard_state_props` does so after every step of random histories). A method that refuses a
//! change (an invalid block, an unknown lock) changes neither.
//!
//! [`UtxoSet::consistency_digest`] stays available through [`ShardState::utxo`]: it is a cheap
//! check between honest replicas, never a commitment; [`ShardState::root`] is the commitment.

use crate::fraud::{self, BuildError, FraudProof, SignedHeader};
use crate::merkle::Hash;
use crate::tx::{OutPoint, Transaction, TxId, TxOutput};

use super::{BlockUndo, Entry, LockId, StateTree, UtxoError, UtxoSet};

/// The UTXO set and its Merkle state tree, kept equal by construction (see the module doc).
pub struct ShardState {
    set: UtxoSet,
    tree: StateTree,
}

impl std::fmt::Debug for ShardState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardState")
            .field("entries", &self.set.len())
            .field("locks", &self.set.lock_count())
            .finish_non_exhaustive()
    }
}

impl Default for ShardState {
    fn default() -> Self {
        ShardState::new(UtxoSet::new())
    }
}

impl ShardState {
    /// The state of `set` as it is now (its shard and thread configuration kept); the tree is
    /// built from its entries.
    pub fn new(set: UtxoSet) -> ShardState {
        let tree = StateTree::from_set(&set);
        ShardState { set, tree }
    }

    /// `outputs`, unlocked, in a set with the default configuration.
    pub fn genesis(outputs: &[(OutPoint, TxOutput)]) -> Result<ShardState, UtxoError> {
        let mut state = ShardState::default();
        for (outpoint, output) in outputs {
            state.insert(*outpoint, *output)?;
        }
        Ok(state)
    }

    /// A state from a snapshot's entries, locks included (each lock's outpoints grouped by its
    /// id). A repeated outpoint or a zero amount is refused.
    pub fn from_entries(entries: &[(OutPoint, Entry)]) -> Result<ShardState, UtxoError> {
        let set = UtxoSet::new();
        let mut locks: std::collections::BTreeMap<LockId, Vec<OutPoint>> = Default::default();
        for (outpoint, entry) in entries {
            set.insert_genesis(*outpoint, entry.output)?;
            if let Some(lock) = entry.locked_by {
                locks.entry(lock).or_default().push(*outpoint);
            }
        }
        for (lock, outpoints) in &locks {
            set.lock(*lock, outpoints)?;
        }
        Ok(ShardState::new(set))
    }

    /// The set, for reading: validation, re-validation, snapshots, balances. Every change goes
    /// through this type's methods (a change made through the set directly would leave the tree
    /// behind, which [`ShardState::is_consistent`] reports).
    pub fn utxo(&self) -> &UtxoSet {
        &self.set
    }

    /// The state commitment: the Merkle [`StateTree`] root.
    pub fn root(&mut self) -> Hash {
        self.tree.root()
    }

    /// CPU time the state tree's rehash spent on pool threads since the last call
    /// ([`StateTree::take_task_cpu`]).
    pub fn take_tree_task_cpu(&mut self) -> std::time::Duration {
        self.tree.take_task_cpu()
    }

    pub fn get(&self, outpoint: &OutPoint) -> Option<Entry> {
        self.set.get(outpoint)
    }

    pub fn contains(&self, outpoint: &OutPoint) -> bool {
        self.set.contains(outpoint)
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Every entry, sorted by outpoint.
    pub fn entries(&self) -> Vec<(OutPoint, Entry)> {
        self.set.entries()
    }

    /// Number of locks held.
    pub fn lock_count(&self) -> usize {
        self.set.lock_count()
    }

    /// Total value held (locked outputs included).
    pub fn total_value(&self) -> u128 {
        self.set
            .entries()
            .iter()
            .map(|(_, e)| u128::from(e.output.amount))
            .sum()
    }

    /// Adds an output no transaction created (genesis, compensation, a cross-shard transaction's
    /// output credited here). Refuses an existing outpoint and a zero amount.
    pub fn insert(&mut self, outpoint: OutPoint, output: TxOutput) -> Result<(), UtxoError> {
        self.set.insert_genesis(outpoint, output)?;
        self.tree
            .insert(outpoint, Entry::unlocked(output))
            .expect("the set refused an outpoint the tree holds, so the two agree");
        Ok(())
    }

    /// Applies a block whose transactions must all be valid ([`UtxoSet::apply_block`]); a refused
    /// block changes nothing.
    pub fn apply_block(&mut self, txs: &[Transaction]) -> Result<BlockUndo, UtxoError> {
        let undo = self.set.apply_block(txs)?;
        for tx in txs {
            self.tree_apply(tx, tx.txid());
        }
        Ok(undo)
    }

    /// Applies the valid transactions of `txs` in order and gives a verdict for each
    /// ([`UtxoSet::apply_valid_with_txids`]; `txids[i]` is `txs[i].txid()`).
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn apply_valid_with_txids(
        &mut self,
        txs: &[Transaction],
        txids: &[TxId],
    ) -> (Vec<Result<(), UtxoError>>, BlockUndo) {
        let (verdicts, undo) = self.set.apply_valid_with_txids(txs, txids);
        for ((tx, txid), verdict) in txs.iter().zip(txids).zip(&verdicts) {
            if verdict.is_ok() {
                self.tree_apply(tx, *txid);
            }
        }
        (verdicts, undo)
    }

    /// [`ShardState::apply_valid_with_txids`] hashing each transaction here.
    pub fn apply_valid(&mut self, txs: &[Transaction]) -> (Vec<Result<(), UtxoError>>, BlockUndo) {
        let txids: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
        self.apply_valid_with_txids(txs, &txids)
    }

    /// In order, the transactions the set just accepted: their chained spends are valid, so the
    /// tree (holding what the set held) takes each.
    fn tree_apply(&mut self, tx: &Transaction, txid: TxId) {
        self.tree
            .apply_transaction_with_txid(tx, txid)
            .expect("the set accepted the transaction, so the tree holds its inputs");
    }

    /// Rolls back the newest block ([`UtxoSet::undo_block`]); refuses, changing nothing, if
    /// anything changed since it was applied.
    pub fn undo_block(&mut self, undo: &BlockUndo) -> Result<(), UtxoError> {
        self.set.undo_block(undo)?;
        for point in undo.created() {
            self.tree.remove(point);
        }
        for (point, output) in undo.spent() {
            self.tree
                .insert(*point, Entry::unlocked(*output))
                .expect("the set restored the output, so the tree lacked it");
        }
        Ok(())
    }

    /// Locks `outpoints` under `lock` ([`UtxoSet::lock`]).
    pub fn lock(&mut self, lock: LockId, outpoints: &[OutPoint]) -> Result<(), UtxoError> {
        self.set.lock(lock, outpoints)?;
        self.set_tree_locks(outpoints, Some(lock));
        Ok(())
    }

    /// Releases `lock` ([`UtxoSet::unlock`]): an aborted cross-shard transaction.
    pub fn unlock(&mut self, lock: LockId) -> Result<(), UtxoError> {
        let held = self
            .set
            .locked_by(lock)
            .ok_or(UtxoError::UnknownLock { lock_id: lock })?;
        self.set.unlock(lock)?;
        self.set_tree_locks(&held, None);
        Ok(())
    }

    fn set_tree_locks(&mut self, outpoints: &[OutPoint], lock: Option<LockId>) {
        for point in outpoints {
            self.tree
                .set_lock(point, lock)
                .expect("the set holds the outpoint, so the tree does");
        }
    }

    /// Spends what `lock` holds ([`UtxoSet::commit_lock`]): a committed cross-shard transaction's
    /// inputs. Returns the spent outputs, sorted by outpoint.
    pub fn commit_lock(&mut self, lock: LockId) -> Result<Vec<(OutPoint, TxOutput)>, UtxoError> {
        let spent = self.set.commit_lock(lock)?;
        for (point, _) in &spent {
            self.tree.remove(point);
        }
        Ok(spent)
    }

    /// Takes every unlocked output `owner` holds, under `lock` (locked then committed, so the
    /// lock id names the seizure), and returns them sorted by outpoint; outputs held by another
    /// lock are left to their commit or abort.
    pub fn seize(
        &mut self,
        owner: &[u8; 32],
        lock: LockId,
    ) -> Result<Vec<(OutPoint, TxOutput)>, UtxoError> {
        let outpoints: Vec<OutPoint> = self
            .set
            .entries()
            .into_iter()
            .filter(|(_, e)| &e.output.owner == owner && e.locked_by.is_none())
            .map(|(o, _)| o)
            .collect();
        if outpoints.is_empty() {
            return Ok(Vec::new());
        }
        self.lock(lock, &outpoints)?;
        self.commit_lock(lock)
    }

    /// A fraud proof that transaction `index` of `txs` (the block `header` names) is invalid
    /// against this state, which must be the block's pre-state ([`fraud::build`]).
    pub fn prove_fraud(
        &mut self,
        header: &SignedHeader,
        txs: &[Transaction],
        index: usize,
    ) -> Result<FraudProof, BuildError> {
        fraud::build(header, txs, &self.set, &mut self.tree, index)
    }

    /// Whether the tree equals one rebuilt from the set (the module's invariant; an audit that
    /// costs a hash per entry).
    pub fn is_consistent(&mut self) -> bool {
        self.tree.root() == StateTree::from_set(&self.set).root()
    }
}
