//! Sharding: assignment of validators to shards from the epoch randomness, TransEpoch swap plans,
//! shard ledgers for simulation, and the shard-safety analysis.
//!
//! - [`assign`]: the deterministic permutation (Fisher–Yates over a hash-seeded ChaCha20 stream)
//!   cut into equal buckets;
//! - [`transepoch`]: batches of moves, each under a third of a shard (a third or more is refused);
//! - [`ledger`]: a shard's real signed transaction stream, engine verifier and UTXO set;
//! - [`safety`]: hypergeometric probability of a bad shard and its measurement;
//!   [`safety_report`]: its table as Markdown.

pub mod assign;
pub mod ledger;
pub mod safety;
pub mod safety_report;
pub mod transepoch;

pub use assign::{AssignError, Assignment};
pub use ledger::{BlockResult, LedgerError, ShardLedger};
pub use transepoch::{Move, TransEpochError};
