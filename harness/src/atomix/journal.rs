//! What an Atomix shard must remember across a crash, as a journal of the inputs that changed it,
//! and the wire form of transactions inside Atomix messages.
//!
//! A shard's durable state (ledger with its locks, decisions, outcomes) is a deterministic
//! function of the lock requests that recorded a new decision and the finishes that ended a
//! txid, in the order the shard took them: a decision depends only on the transaction and the
//! ledger at that moment, and a finish only on the certificate and the ledger. So a shard
//! process writes each such input to its store ([`JournalEntry`]) before the input's effects
//! leave, and a restart replays the journal onto the genesis ledger ([`replay`]). Requests that
//! changed nothing (repeats, replays, refusals) are not journaled: replaying them would change
//! nothing either.
//!
//! Replay checks as it goes: every journaled lock must decide again exactly as journaled and
//! every finish must end the txid again with the journaled outcome, or the journal does not
//! belong to this genesis and the shard refuses to start.
//!
//! Transactions travel as their canonical encoding in hex ([`tx_hex`]), decoded with
//! [`Transaction::decode`] (structure checked, allocation bounded by the bytes present).

use iosv_engine::tx::{Transaction, TxId};
use serde::{Deserialize, Serialize};

use super::error::AtomixError;
use super::proof::{Certificate, Directory, Outcome};
use super::shard::AtomixShard;
use super::statement::Decision;

/// Serde for a [`Transaction`] as the hex of its canonical encoding.
pub mod tx_hex {
    use iosv_engine::tx::Transaction;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tx: &Transaction, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(tx.encode()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Transaction, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex::decode(text.as_bytes()).map_err(serde::de::Error::custom)?;
        Transaction::decode(&bytes).map_err(serde::de::Error::custom)
    }
}

/// One input that changed a shard's durable state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case", deny_unknown_fields)]
pub enum JournalEntry {
    /// A lock request that recorded the shard's decision on `tx`.
    Decided {
        #[serde(with = "tx_hex")]
        tx: Transaction,
        decision: Decision,
    },
    /// A finish that ended `tx` here with `outcome`.
    Ended {
        #[serde(with = "tx_hex")]
        tx: Transaction,
        certificate: Box<Certificate>,
        outcome: Outcome,
    },
}

/// A journal that does not replay onto the shard it was given.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("journal entry {index}: {source}")]
    Refused { index: usize, source: AtomixError },
    #[error("journal entry {index}: tx {txid} replays to {found}, the journal says {recorded}")]
    Diverged {
        index: usize,
        txid: TxId,
        found: String,
        recorded: String,
    },
}

/// Applies one entry (number `index` of its journal) to `shard`, checking that the shard's own
/// rules reach the recorded decision or outcome. A co-signer applies its leader's entries with
/// it; a disagreement is the leader's fraud (or a corrupt journal), never applied.
pub fn apply_entry(
    shard: &mut AtomixShard,
    index: usize,
    entry: &JournalEntry,
    dir: &Directory,
) -> Result<(), ReplayError> {
    let refused = |source| ReplayError::Refused { index, source };
    match entry {
        JournalEntry::Decided { tx, decision } => {
            let found = shard.request_lock(tx).map_err(refused)?;
            if found != *decision {
                return Err(ReplayError::Diverged {
                    index,
                    txid: tx.txid(),
                    found: format!("{found:?}"),
                    recorded: format!("{decision:?}"),
                });
            }
        }
        JournalEntry::Ended {
            tx,
            certificate,
            outcome,
        } => {
            let found = shard.finish(tx, certificate, dir).map_err(refused)?;
            if found != *outcome {
                return Err(ReplayError::Diverged {
                    index,
                    txid: tx.txid(),
                    found: found.as_str().to_string(),
                    recorded: outcome.as_str().to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Replays `entries` onto `shard` (its genesis ledger) and returns it as a restart finds it:
/// the volatile queue of unsigned decisions dropped ([`AtomixShard::restarted`]).
pub fn replay(
    mut shard: AtomixShard,
    entries: &[JournalEntry],
    dir: &Directory,
) -> Result<AtomixShard, ReplayError> {
    for (index, entry) in entries.iter().enumerate() {
        apply_entry(&mut shard, index, entry, dir)?;
    }
    shard.restarted().map_err(|source| ReplayError::Refused {
        index: entries.len(),
        source,
    })
}
