//! ByzCoin-style finality for the normal league, as sans-I/O state machines, with a PBFT fallback.
//!
//! Each height finalizes one [`Proposal`]: the header hashes of the optimistic blocks the normal
//! league merged. View 0 is ByzCoin's fast path (`fastpath`): the leader runs a prepare and a
//! commit round of real Schnorr CoSi over an aggregation tree, falling back to a star when a
//! sub-leader fails; finality is the pair of collective signatures, each by at least 2f + 1 of the
//! 3f + 1 members. When view 0 does not finish in time (silent leader, too many failures), the
//! nodes change view and run PBFT (`pbft`) with real Ed25519 votes.
//!
//! Invariants (with at most f faulty members):
//! - **agreement**: no two different values are finalized at one height, by any mix of fast path
//!   and PBFT (a member co-signs or votes to prepare at most one value per view; a view change
//!   carries the highest prepared value, which the next primary must re-propose);
//! - **validity of certificates**: every finality carries a certificate anyone can check with the
//!   roster alone (two collective signatures, or 2f + 1 signed commit votes);
//! - **liveness under faults** (tested): a crashed sub-leader, a member that commits then goes
//!   silent, and a crashed leader all still end in finality.
//!
//! - **catch-up** (tested under partitions and loss): a node that fell behind adopts the heights
//!   it missed from a peer's log, each checked by its certificate (`catchup`).
//!
//! Files: `messages` (wire messages, signed bytes), `tree` (aggregation tree), `node` (state,
//! heights, views, restart), `fastpath` (CoSi rounds), `pbft` (view change and PBFT), `catchup`,
//! `member` (a member as a [`crate::node::Node`], for the simulator and the runner). A league on
//! the simulator with scripted faults, for scenario tests and the demo, is
//! `crate::sim::FinalityNet` (protocol code never imports the simulator).

mod catchup;
mod fastpath;
pub mod member;
pub mod messages;
pub mod node;
mod pbft;
pub mod tree;

pub use catchup::MAX_CATCHUP;
pub use member::{Member, ProposalSource};

pub use messages::{
    Message, NewView, NodeId, Phase, Prepared, PreparedProof, Proposal, ViewChange, Vote, VoteKind,
};
pub use node::{Certificate, Config, Durable, Finality, Input, Node, Output, Timer};

pub(crate) use iosv_engine::hex_serde::bytes32_list as hex_list;
