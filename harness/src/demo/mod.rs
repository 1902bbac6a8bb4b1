//! `iosv demo`: believable-first processing end to end — the IOS design's throughput claim, with
//! every signature really verified.
//!
//! Shards of validators draw their leagues by VRF-weighted Proof-of-Believability; open-loop
//! clients send real signed transactions (some cross-shard, some forged); each believable
//! validator verifies its share alone and emits small optimistic blocks; every normal validator
//! re-validates a VRF-chosen sample of each block with probability `p`; a failed sample becomes a
//! fraud proof that slashes the producer, excludes its invalid transactions, re-checks everything
//! it produced and compensates its victims; the normal league finalizes each round's blocks with
//! ByzCoin CoSi rounds (PBFT when they fail); cross-shard transactions go through Atomix with
//! real collective signatures. At the end, the invariants are checked and a report says what was
//! carried and what bounded it.
//!
//! - [`config`]: the configuration (JSON) and the faults it can inject.
//! - [`workload`]: the clients' signed transactions.
//! - [`shard`]: one shard's validators, replica, rounds, audits, fraud handling, finality.
//! - [`run`](mod@run): the real-time driver, the same shards in the deterministic simulator
//!   (`run::simulated`), and the invariants.
//! - [`sim_config`]: the network and failures of a simulated run.
//! - [`stats`], [`report`]: what is counted and how it is reported.

pub mod config;
pub mod report;
pub mod run;
pub mod shard;
pub mod sim_config;
pub mod stats;
pub mod workload;

pub use config::{ConfigError, DemoConfig, Fault};
pub use report::{DemoReport, Invariants};
pub use run::{Progress, Quiet, run};
