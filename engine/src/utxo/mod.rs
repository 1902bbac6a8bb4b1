//! The UTXO set: sharded, concurrent, in memory, keyed by outpoint.
//!
//! [`UtxoSet`] holds every unspent output with its lock state ([`Entry`]). It validates batches of
//! transactions ([`UtxoSet::validate_batch`]), applies blocks atomically and rolls them back
//! ([`UtxoSet::apply_block`], [`UtxoSet::apply_valid`], [`UtxoSet::undo_block`]), locks
//! outpoints for cross-shard (Atomix) commits ([`UtxoSet::lock`], [`UtxoSet::unlock`],
//! [`UtxoSet::commit_lock`]), maintains an order-independent consistency digest ([`UtxoSet::consistency_digest`]) and
//! snapshots to a file ([`UtxoSet::snapshot_to`], [`UtxoSet::restore_from`]). [`ShardState`] owns a
//! set together with its Merkle [`StateTree`] and changes both in step: what a shard's block
//! production, replay, Atomix side and fraud handling use.
//!
//! Rules a transaction must pass against the set (checked in this order; the first failure is the
//! verdict, see `validate`):
//! 1. shape: at least one input and one output, counts within the maxima, no zero amount;
//! 2. per input, in input order: no earlier transaction of the batch spent the outpoint (else
//!    [`UtxoError::DoubleSpend`] naming that transaction) and no earlier input of this one did (a
//!    `DoubleSpend` naming the transaction itself); the outpoint exists
//!    ([`UtxoError::UnknownOutpoint`]), is not locked ([`UtxoError::Locked`]), and the input's
//!    `owner` is the output's owner ([`UtxoError::WrongOwner`]);
//! 3. sums of inputs and of outputs fit in a `u64` ([`UtxoError::AmountOverflow`]);
//! 4. no created outpoint already exists ([`UtxoError::OutputExists`]);
//! 5. inputs cover outputs ([`UtxoError::InsufficientFunds`]); any surplus is a fee, which the set
//!    does not credit to anyone.
//!
//! Signatures are not checked here: the pipeline verifies them before UTXO validation.
//!
//! Invariants:
//! - A batch is judged as if its transactions were applied one by one in batch order, skipping the
//!   invalid ones. Hence the winner rule for conflicting spends: **the earliest otherwise-valid
//!   transaction in batch order wins**; a transaction that fails for another reason claims nothing.
//!   Transactions may spend outputs created by earlier transactions of the same batch (chained
//!   spends), never by later ones. Verdicts depend only on the set and the batch, never on thread
//!   timing or shard count.
//! - Every mutation is atomic with respect to every reader: one writer at a time, behind a
//!   set-wide reader/writer gate; validation, root and snapshot take it shared. Shards (each an
//!   `RwLock<HashMap>`) let a writer apply a large block on several threads and keep maps small.
//! - An entry is locked by at most one lock, and the lock table lists exactly the locked entries
//!   (no lock is empty).
//! - The root is a function of the set of `(outpoint, output, lock state)` only: independent of
//!   insertion order, history and shard count (see `commitment` for the construction and its
//!   security limits). It is a cheap consistency check between honest replicas; what headers,
//!   fraud proofs and Micro State Blocks anchor is the Merkle [`StateTree`] root, which is binding
//!   against chosen entries and gives membership and non-membership proofs.
//!
//! Concurrency note: no lock of the set is ever held while waiting on rayon, so calling the set
//! from rayon tasks cannot deadlock through work stealing; the parallel apply under the write gate
//! uses scoped threads of its own.
//!
//! Files: `set` (shards, entries, genesis), `shard_state` (set and tree together), `validate` (batch rules, apply, undo), `lock` (Atomix
//! locks), `commitment` (additive state root), `state_tree` (Merkle state commitment and its
//! proofs), `snapshot` (file format), `error`.

mod commitment;
mod error;
mod lock;
mod set;
mod shard_state;
mod snapshot;
mod state_tree;
mod validate;

pub use commitment::{LEAF_DOMAIN, ROOT_DOMAIN, leaf_hash, state_root_of};
pub use error::{AmountSide, SnapshotError, UtxoError};
pub use set::{DEFAULT_SHARDS, Entry, MAX_SHARDS, UtxoSet};
pub use shard_state::ShardState;
pub use snapshot::{
    SNAPSHOT_ENTRY_LEN, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, encode_entry as encode_snapshot_entry,
};
pub use state_tree::{
    BUCKET_BITS, BUCKET_LEAF_DOMAIN, BUCKETS, BucketProof, StateProofError, StateTree,
    StateTreeError, bucket_hash, bucket_of,
};
pub use validate::BlockUndo;

use std::fmt;

use crate::tx::TxId;

/// Names a cross-shard commit that holds locks on outpoints; normally the cross-shard
/// transaction's txid (see `From<TxId>`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LockId(pub [u8; 32]);

impl From<TxId> for LockId {
    fn from(txid: TxId) -> Self {
        LockId(txid.0)
    }
}

impl fmt::Display for LockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// As a hex string (in proofs and reports).
impl serde::Serialize for LockId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        hex::serde::serialize(self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for LockId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        hex::serde::deserialize(d).map(LockId)
    }
}

impl fmt::Debug for LockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockId({self})")
    }
}
