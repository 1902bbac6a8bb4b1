//! iosv-engine: the validation engine of the IOS blockchain.
//!
//! - [`tx`]: transactions, their canonical encoding and identifiers.
//! - [`sig`]: Ed25519 verification under ZIP-215 rules — single, batched, key cache, backends.
//! - [`workload`]: deterministic generators of signed inputs for tests, benchmarks and demos.
//! - [`jsonl`]: the JSON-lines signature format read by `iosv verify`.

pub mod jsonl;
pub mod platform;
pub mod sig;
pub mod tx;
pub mod workload;
