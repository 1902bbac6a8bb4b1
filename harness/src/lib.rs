//! iosv-harness: the IOS protocol around the engine, and the `iosv` command line.
//!
//! - [`cli`]: argument definitions and dispatch for the `iosv` binary.
//! - [`commands`]: one module per subcommand.
//! - [`bench`]: in-process measurements behind `iosv bench`, peers measured in the same run.
//! - [`atomix`]: cross-shard transactions (lock, proofs of acceptance or rejection, commit/abort).
//! - [`finality`]: ByzCoin-style CoSi finality with a PBFT fallback (sans-I/O nodes, seeded driver).
//! - [`pob`]: Proof-of-Believability (policy file, score, Servi, slashing, league draw).

pub mod atomix;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod finality;
pub mod pob;
pub mod report;
