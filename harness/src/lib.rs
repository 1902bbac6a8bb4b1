//! iosv-harness: the IOS protocol around the engine, and the `iosv` command line.
//!
//! - [`cli`]: argument definitions and dispatch for the `iosv` binary.
//! - [`commands`]: one module per subcommand.
//! - [`drp`]: the Distributed Randomness Protocol (leader and server state machines, transcripts).
//! - [`msb`]: Micro State Blocks, pruning, and bootstrap from the latest MSB.
//! - [`bench`](mod@bench): in-process measurements behind `iosv bench`, peers measured in the same run.
//! - [`node`]: validators as sans-I/O state machines, and the [`node::Transport`] trait.
//! - [`epoch`]: epoch start (VRF leader election) and the randomness-protocol integration point.
//! - [`shard`]: shard assignment, TransEpoch swap plans, shard ledgers, shard-safety analysis.
//! - [`sim`]: the deterministic discrete-event simulator and `iosv simulate`'s run.
//! - [`runtime`]: the real-time runner (threads and channels) for the same state machines.
//! - [`atomix`]: cross-shard transactions (lock, proofs of acceptance or rejection, commit/abort).
//! - [`finality`]: ByzCoin-style CoSi finality with a PBFT fallback (sans-I/O nodes, seeded driver).
//! - [`pob`]: Proof-of-Believability (policy file, score, Servi, slashing, league draw).
//! - [`demo`]: believable-first processing end to end (`iosv demo`).
//! - [`input`]: reading untrusted files with a size cap; [`config_kind`]: which kind of
//!   configuration a file declares.
//! - [`domain`]: every domain-separation tag of the protocols, checked against collisions.
//! - [`backend_spec`]: where signatures are verified, as a flag or a configuration names it.

pub mod atomix;
pub mod backend_spec;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config_kind;
pub mod demo;
pub mod domain;
pub mod drp;
pub mod epoch;
pub mod finality;
pub mod input;
pub mod msb;
pub mod net;
pub mod node;
pub mod pob;
pub mod report;
pub mod runtime;
pub mod shard;
pub mod sim;
