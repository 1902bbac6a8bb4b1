//! The deterministic discrete-event simulator (FoundationDB / TigerBeetle style).
//!
//! A run is a pure function of its configuration and seed: one virtual clock, one event queue
//! ordered by (time, insertion sequence), one ChaCha8 stream for the network's random draws, nodes
//! that are sans-I/O state machines, and no wall clock, thread, global RNG or hash-map iteration
//! anywhere an event depends on. So the same seed and configuration give a byte-identical trace
//! (tested), and a failing run can be replayed exactly from its seed.
//!
//! - [`queue`]: the event queue and its tie-break;
//! - [`network`]: per-link latency, jitter, loss and duplication, scheduled partitions, behind
//!   [`crate::node::Transport`];
//! - [`simulator`]: the event loop (delivery, timers, crash and restart);
//! - [`trace`]: the JSON-lines trace of every event (send, deliver, drop, timer, crash, restart,
//!   outputs, shard blocks, TransEpoch);
//! - [`config`]: the JSON configuration of `iosv simulate`;
//! - [`shards`]: shard rosters through TransEpoch and their real transaction processing;
//! - [`run`](mod@run): one simulation of the epoch protocol; [`checks`]: its guarantees;
//! - [`finality_net`]: a finality league on the simulator with scripted faults (scenario tests,
//!   the demo's finality rounds);
//! - [`drp_net`]: one DRP session (a leader and its servers) on the simulator, with a hook on
//!   every message in flight (scenario tests, the fuzz corpus, `iosv drp`).

pub mod checks;
pub mod config;
pub mod drp_net;
pub mod finality_net;
pub mod network;
pub mod queue;
pub mod run;
pub mod shards;
pub mod simulator;
pub mod trace;

pub use checks::Checks;
pub use config::{RandomnessKind, SimConfig};
pub use finality_net::FinalityNet;
pub use run::{Record, SimError, SimReport, run, run_with};
pub use simulator::{Happening, Simulator};
