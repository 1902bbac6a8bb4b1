//! Validators as separate processes on a real network: the TCP transport between roster members
//! and the node process around one sans-I/O node.
//!
//! - [`channel`]: the authenticated, encrypted channel (a signed X25519 handshake binding each
//!   connection to a roster member's Ed25519 key, then ChaCha20-Poly1305 frames with bounded
//!   lengths).
//! - [`transport`]: [`transport::TcpTransport`], the [`crate::node::Transport`] over those
//!   channels, with every queue and connection count bounded.
//! - [`faults`]: link delay, jitter, loss and partitions, emulated at the sender.
//! - [`config`]: a node process's configuration file (and a local network's files).
//! - [`store`]: a node's durable state in redb, written before the node speaks.
//! - [`process`]: one node process (`iosv node`): a finality member over TCP, with its store.
//! - [`ledger`]: a ledger network (Atomix shards and client gateways as processes): its
//!   specification and what every process derives from it; [`ledger_process`] runs one of its
//!   nodes, [`journal_store`] keeps a shard's journal and a gateway's load clock,
//!   [`ledger_launch`] runs one on this host under load (`iosv net load`) and [`ledger_check`]
//!   checks its shards' stores together.
//! - [`launch`]: a network of node processes on this host (`iosv net up`), with faults.
//! - [`metrics`]: a node's Prometheus endpoint.
//! - [`check`]: the invariants across the nodes of a network, from their stores.
//!
//! The nodes themselves are the protocol's state machines, unchanged: a process runs one of them
//! with the real-time runner's event loop (`crate::runtime::Drive`), the TCP transport in place
//! of the in-process channels.

pub mod channel;
pub mod check;
pub mod config;
pub mod faults;
pub mod hosts;
pub mod journal_store;
pub mod launch;
pub mod ledger;
pub mod ledger_check;
pub mod ledger_launch;
pub mod ledger_process;
pub mod ledger_report;
pub mod metrics;
pub mod process;
pub mod procs;
pub mod store;
pub mod transport;
