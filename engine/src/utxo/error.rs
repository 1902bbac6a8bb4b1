//! Errors of the UTXO set: why a transaction, block, lock or undo is refused ([`UtxoError`]), and
//! why a snapshot file is refused ([`SnapshotError`]).

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::LockId;
use crate::tx::{OutPoint, TxStructureError};

/// Which sum overflowed in [`UtxoError::AmountOverflow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AmountSide {
    Inputs,
    Outputs,
}

/// A rule of the UTXO set broken by a transaction, a block or a lock operation.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum UtxoError {
    /// The transaction's shape is invalid: no inputs or outputs, too many, or a zero amount.
    #[error("malformed transaction: {0}")]
    Malformed(TxStructureError),
    /// The outpoint is not in the set: it never existed, was already spent, or is created only by a
    /// later transaction of the batch.
    #[error("outpoint {outpoint} is not in the UTXO set")]
    UnknownOutpoint { outpoint: OutPoint },
    /// The outpoint is held by a cross-shard lock.
    #[error("outpoint {outpoint} is locked by {lock_id}")]
    Locked { outpoint: OutPoint, lock_id: LockId },
    /// The input names an owner other than the spent output's.
    #[error(
        "input spending {outpoint} names owner {}, but the output belongs to {}",
        hex::encode(.found),
        hex::encode(.expected)
    )]
    WrongOwner {
        outpoint: OutPoint,
        /// The spent output's owner.
        expected: [u8; 32],
        /// The owner the input names.
        found: [u8; 32],
    },
    /// Transaction `first_tx_index` of the batch already spends the outpoint. When it equals the
    /// failing transaction's own index, the transaction spends the outpoint twice.
    #[error("outpoint {outpoint} is already spent by transaction {first_tx_index} of the batch")]
    DoubleSpend {
        outpoint: OutPoint,
        first_tx_index: usize,
    },
    #[error("sum of the transaction's {side:?} amounts overflows u64")]
    AmountOverflow { side: AmountSide },
    #[error("inputs total {inputs}, less than the outputs' {outputs}")]
    InsufficientFunds { inputs: u64, outputs: u64 },
    /// The output would overwrite an existing entry (a txid collision or a repeated genesis).
    #[error("outpoint {outpoint} already exists in the UTXO set")]
    OutputExists { outpoint: OutPoint },
    /// [`UtxoSet::apply_block`](super::UtxoSet::apply_block) refused the block: this is the first
    /// invalid transaction's verdict. Nothing was applied.
    #[error("transaction {tx_index} of the block is invalid: {reason}")]
    InvalidBlock {
        tx_index: usize,
        reason: Box<UtxoError>,
    },
    #[error("lock {lock_id} names no outpoints")]
    EmptyLock { lock_id: LockId },
    #[error("lock {lock_id} is already held")]
    LockInUse { lock_id: LockId },
    #[error("no lock {lock_id} is held")]
    UnknownLock { lock_id: LockId },
    /// The undo record does not belong to the current state: blocks must be undone newest first,
    /// with no lock taken or other change made since the block was applied.
    #[error(
        "undo record expects consistency digest {}, but the set's digest is {}",
        hex::encode(.expected_digest),
        hex::encode(.found_digest)
    )]
    UndoMismatch {
        expected_digest: [u8; 32],
        found_digest: [u8; 32],
    },
}

/// Why a snapshot could not be written or was refused on restore.
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshot {}: {op} failed: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("snapshot is {len} bytes, shorter than the minimum of {min}")]
    TooShort { len: u64, min: u64 },
    #[error("not a UTXO snapshot: magic bytes are {}", hex::encode(.found))]
    BadMagic { found: [u8; 8] },
    #[error("unsupported snapshot version {found} (expected {expected})")]
    UnsupportedVersion { found: u32, expected: u32 },
    /// The file length does not match the declared entry count (truncated, extended or a damaged
    /// count). `expected` is `None` when the count is so large that the length overflows.
    #[error(
        "snapshot declares {count} entries, needing {expected:?} bytes, but the file has {actual}"
    )]
    LengthMismatch {
        count: u64,
        expected: Option<u64>,
        actual: u64,
    },
    #[error("snapshot checksum mismatch: the file is damaged")]
    ChecksumMismatch,
    /// Entries must be in strictly increasing outpoint order (which also rules out duplicates).
    #[error("snapshot entry {index} is not after the previous entry (unsorted or duplicate)")]
    Unsorted { index: u64 },
    #[error("snapshot entry {index} has invalid lock tag {tag}")]
    BadLockTag { index: u64, tag: u8 },
    #[error("snapshot entry {index} is unlocked but carries a non-zero lock id")]
    NonCanonicalLock { index: u64 },
    #[error("snapshot entry {index} has amount zero")]
    ZeroAmount { index: u64 },
    #[error(
        "snapshot root {} does not match the root {} recomputed from its entries",
        hex::encode(.stored),
        hex::encode(.computed)
    )]
    RootMismatch {
        stored: [u8; 32],
        computed: [u8; 32],
    },
}
