//! The messages between a co-signed shard's leader and its other members
//! ([`super::cosigning`], [`super::cosigner`]), with the bounds a receiver holds them to.

use iosv_engine::tx::TxId;
use serde::{Deserialize, Serialize};

use super::journal::JournalEntry;
use super::statement::BatchHeader;

/// Most journal entries in one [`CosignMsg::Entries`] (a frame stays far below the transport's
/// limit: an entry with its certificate is a few kilobytes in JSON).
pub const MAX_ENTRIES_PER_MSG: usize = 64;

/// Most txids a batch announcement may carry (a batch is one seal interval's decisions).
pub const MAX_BATCH_TXIDS: usize = 65_536;

/// A message of a shard's co-signing (leader ↔ members); CoSi values in their wire encoding.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CosignMsg {
    /// Leader → member: journal entries `from..from + entries.len()`, of `leader_len` the
    /// leader holds (a member that ends up short asks for the rest).
    Entries {
        from: u64,
        entries: Vec<JournalEntry>,
        leader_len: u64,
    },
    /// Member → leader: it holds entries `..applied`; send what follows.
    Behind { applied: u64 },
    /// Member → leader: it applied entries `..applied` (the leader acknowledges a client's
    /// finish only once enough members hold its entry).
    Applied { applied: u64 },
    /// Leader → members: co-sign `header`, the batch of `txids`, whose decisions are among the
    /// first `journal_len` entries.
    Announce {
        round: u64,
        header: BatchHeader,
        txids: Vec<TxId>,
        journal_len: u64,
    },
    /// Member → leader: its commitment for `round`.
    Commit {
        round: u64,
        #[serde(with = "hex::serde")]
        commitment: Vec<u8>,
    },
    /// Leader → participants: the round's challenge.
    Challenge {
        round: u64,
        #[serde(with = "hex::serde")]
        challenge: Vec<u8>,
    },
    /// Member → leader: its response.
    Respond {
        round: u64,
        #[serde(with = "hex::serde")]
        response: Vec<u8>,
    },
}

impl CosignMsg {
    /// The message in a trace.
    pub fn trace(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            CosignMsg::Entries { from, entries, .. } => {
                json!({"type": "entries", "from": from, "count": entries.len()})
            }
            CosignMsg::Behind { applied } => json!({"type": "behind", "applied": applied}),
            CosignMsg::Applied { applied } => json!({"type": "applied", "applied": applied}),
            CosignMsg::Announce {
                round,
                header,
                journal_len,
                ..
            } => json!({
                "type": "announce",
                "round": round,
                "seq": header.seq,
                "count": header.count,
                "journal_len": journal_len,
            }),
            CosignMsg::Commit { round, .. } => json!({"type": "commit", "round": round}),
            CosignMsg::Challenge { round, .. } => json!({"type": "challenge", "round": round}),
            CosignMsg::Respond { round, .. } => json!({"type": "respond", "round": round}),
        }
    }
}
