//! Micro State Blocks (MSB): at each epoch's end a shard's roster co-signs a summary of the shard
//! (its Merkle state root and the headers since the previous MSB); older block bodies are pruned;
//! a new or restarted validator starts from the latest MSB, a state snapshot and the blocks after
//! it, instead of replaying the shard's whole history.
//!
//! - [`chain`]: the shard state (UTXO set + Merkle state tree + tip) and the one block check that
//!   production, replay and bootstrap share; [`chain::state_commitment`] is the anchored root.
//! - [`block`](mod@block): the MSB, its hash chain and collective signature (Schnorr CoSi).
//! - [`store`]: a validator's storage (pruning, snapshot) and the package it serves joiners.
//! - [`bootstrap`](mod@bootstrap): a joiner's checks (stale or wrongly signed MSBs are refused) and
//!   the full-replay baseline.
//! - [`scenario`]: a multi-epoch run and the bootstrap-vs-replay measurement.
//!
//! Invariants: a bootstrapped state has the same state root and tip as a full replay of the same
//! chain; a joiner accepts only an MSB of the latest finished epoch, signed by that epoch's roster
//! under ByzCoin's policy, whose snapshot and headers match it.
//!
//! Known limits: blocks after the MSB are checked for validity and linkage, not for finality (a
//! real joiner would also check each block's collective signature); the joiner trusts its source
//! for the latest finished epoch and the rosters (the identity chain in IOS).

pub mod block;
pub mod bootstrap;
pub mod chain;
pub mod scenario;
pub mod store;

pub use block::{MicroStateBlock, SignedMsb};
pub use bootstrap::{BootstrapError, Trust, bootstrap, full_replay};
pub use chain::{BlockError, ChainState, Tip, state_commitment};
pub use store::{BootstrapPackage, ShardStore};
