//! iosv-engine: the validation engine of the IOS blockchain.
//!
//! - [`tx`]: transactions, their canonical encoding and identifiers.
//! - [`sig`]: Ed25519 verification under ZIP-215 rules — single, batched, key cache, backends.
//! - [`workload`]: deterministic generators of signed inputs for tests, benchmarks and demos.
//! - [`cosi`]: collective signatures (Schnorr CoSi over Ed25519, BLS with blst).
//! - [`vrf`]: ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381).
//! - [`pvss`]: publicly verifiable secret sharing with DLEQ proofs.
//! - [`pipeline`]: the staged validation pipeline (decode → dedup → verify → UTXO → commit).
//! - [`utxo`]: the sharded UTXO set: batch validation, apply/undo, Atomix locks, state root,
//!   snapshots.
//! - [`sampling`]: the normal league's sampling re-validation (VRF seed, selection, re-check).
//! - [`fraud`]: signed optimistic headers and fraud proofs anyone can check without the chain.
//! - [`hex_serde`]: serde `with` modules for hex fields (the one implementation).
//! - [`domain`]: every domain-separation tag of the engine, and the check that none can collide.
//! - [`merkle`]: RFC 6962-shaped Merkle trees with inclusion proofs (block transaction roots).
//! - [`jsonl`]: the JSON-lines signature format read by `iosv verify`.

pub mod cosi;
pub mod domain;
pub mod fraud;
pub mod hex_serde;
pub mod jsonl;
pub mod merkle;
pub mod pipeline;
pub mod platform;
pub mod pvss;
pub mod sampling;
pub mod sig;
pub mod tx;
pub mod utxo;
pub mod vrf;
pub mod workload;
