//! Atomix: cross-shard transactions committed atomically by a client-driven lock/unlock protocol
//! (Kokoris-Kogias et al., "OmniLedger", 2018), with real Schnorr CoSi proofs.
//!
//! 1. **Lock** — the client sends the transaction to every *input shard* (a shard holding one of
//!    its inputs, by [`ShardMap`]). Each validates its own inputs (structure, signatures, presence,
//!    lock state, owner) and either locks them under `LockId = txid` and accepts, stating their
//!    total value, or locks nothing and rejects. The decision goes into a [`Statement`] bound to
//!    (txid, shard, epoch, roster hash, decision); the shard's statements are batched into a
//!    Merkle tree whose [`BatchHeader`] its roster co-signs, and each statement comes back as an
//!    [`AtomixProof`] (statement, inclusion proof, header, collective signature).
//! 2. **Unlock-to-commit / unlock-to-abort** — the proofs dictate a [`Certificate`]: commit when
//!    every input shard accepted and the values cover the outputs; abort on any rejection (or
//!    acceptances that fall short). On commit, input shards spend their locked inputs
//!    (`commit_lock`) and output shards create the outputs; on abort, input shards unlock.
//!
//! Guarantees, and why they hold:
//! - **No double spend**: an outpoint is locked by at most one txid at a time, a locked outpoint
//!   cannot be locked or spent again, and a commit needs the acceptance of the outpoint's shard,
//!   so of two transactions spending one outpoint at most one commits.
//! - **No lost or created funds**: a shard decides once per txid and commit and abort
//!   certificates are mutually exclusive (see [`proof`]); every shard finishes a txid at most
//!   once (replays are refused), so outputs are created once, exactly when the inputs are spent.
//! - **Nothing stays locked** whatever the client does: a stalled lock is listed with its
//!   transaction and anyone can finish it by running a fresh client (see [`shard`]'s recovery);
//!   outputs whose finish never reached their shard are claimed the same way (decisions are
//!   re-certified after the commit, and the output shard creates them once).
//! - **Proofs are bound**: to the transaction (a proof for another txid or from a shard that is not
//!   an input shard is refused) and to the current roster (a proof from a replaced roster is
//!   refused; the shard re-certifies its recorded decision on request).
//!
//! These hold while every shard has fewer faulty members than its CoSi policy tolerates: a shard
//! whose roster is mostly faulty could sign two decisions (the shard-safety bound of harness I).
//!
//! Files: `statement` (signed bytes, shard map), `proof` (proofs, directory, certificates),
//! `shard` (the shard's state machine; `shard/batch` its batches and their proofs), `client` (the
//! client's), `node` (shards and clients as [`crate::node::Node`]s, for the simulator and the
//! runner; `client_node` the client's side, with retries, backoff and pacing), `cosigning` (a
//! leader whose batches its members co-sign over the network), `cosigner` (such a member, applying
//! every entry of its leader's journal to its own replica) and `cosign_msg` (their messages),
//! `trace` (how messages and events appear in a trace), `journal` (what a shard process stores to
//! survive a crash, and transactions on the wire), `error`. The caller-scheduled world of the
//! adversarial scenario and property tests lives with them (`harness/tests/atomix_world`).

pub mod client;
pub mod client_node;
mod cosign_msg;
pub mod cosigner;
pub mod cosigning;
pub mod error;
pub mod journal;
pub mod node;
pub mod proof;
pub mod shard;
pub mod statement;
mod trace;

pub use client::{AtomixClient, ClientAction};
pub use client_node::ClientNode;
pub use cosigner::{CosignerNode, Succession};
pub use cosigning::{CosignMsg, Cosigning};
pub use error::{AtomixError, CertificateError, ProofError};
pub use journal::{JournalEntry, ReplayError, apply_entry, replay};
pub use node::{AtomixEvent, AtomixMsg, AtomixNode, AtomixTimer, AtomixTiming, ShardNode};
pub use proof::{AtomixProof, Certificate, Directory, Outcome, ShardInfo, VerifiedBatches};
pub use shard::{AtomixShard, CommitsInFlight, RECOVERY_EPOCHS, commits_in_flight, proofs_of};
pub use statement::{
    BATCH_DOMAIN, BatchHeader, Decision, ROSTER_DOMAIN, RejectReason, STATEMENT_DOMAIN, ShardId,
    ShardMap, Statement, prove_all, roster_hash,
};
