//! The integration point for the protocol the elected leader runs to deliver the epoch's randomness.
//!
//! The epoch flow (`validator`) elects candidates; for each candidate's turn (a [`Round`]) every node
//! runs its instance of a [`RandomnessProtocol`]: `begin` when the candidate becomes active, then
//! the protocol's own messages (carried as `Message::Randomness`, tagged with the round) and timers.
//! When a node's instance has *verified* the epoch's randomness it reports it in
//! [`RandomnessEffects::output`]; the validator accepts it if the round is still the active one and
//! its window of Δ has not closed, else it excludes the candidate and moves on.
//!
//! Contract for an implementation (the Distributed Randomness Protocol is one, in `crate::drp`):
//! - sans-I/O like [`crate::node::Node`]: no clock, no I/O, no RNG of its own (derive any
//!   randomness from keys and the round, deterministically);
//! - `begin` resets per-round state: a round is (epoch, view, rank, leader), and a later round may
//!   reuse nothing of an earlier one but keys;
//! - only messages of the active round reach it; messages from other rounds are rejected by the
//!   validator before it sees them;
//! - an output is final for this node: report it once, only after checking it (a node never
//!   accepts a value it could not verify);
//! - `restart` keeps keys only.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::lottery::ValidLottery;
use super::roster::Roster;
use crate::node::{Dest, NodeId, Time, Traceable};

/// One candidate's turn to deliver the randomness of an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Round {
    pub epoch: u64,
    pub view: u32,
    /// 0 for the leader, 1 and 2 for the backups.
    pub rank: u8,
    pub leader: NodeId,
}

/// What a protocol instance may look at when it is called.
#[derive(Clone, Copy, Debug)]
pub struct RoundContext<'a> {
    pub round: Round,
    pub me: NodeId,
    pub now: Time,
    /// The round's window closes at this time; an output after it is not accepted.
    pub deadline: Time,
    pub roster: &'a Roster,
    /// Every lottery this node accepted in the view, the leader's included.
    pub lotteries: &'a BTreeMap<NodeId, ValidLottery>,
    /// The latest randomness this node accepted for an earlier epoch, with that epoch (`None`
    /// before the first): what the DRP's session chains from. Honest nodes that were up agree on
    /// it; a node that missed epochs has a stale one and cannot take part until it catches up.
    pub previous: Option<(u64, [u8; 32])>,
}

/// The epoch's random output as one node verified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRandomness {
    pub value: [u8; 32],
}

/// What a protocol instance asks for after one input.
#[derive(Debug)]
pub struct RandomnessEffects<M> {
    pub sends: Vec<(Dest, M)>,
    /// (delay in microseconds, the protocol's own timer tag).
    pub timers: Vec<(u64, u64)>,
    /// The verified randomness, at most once per round.
    pub output: Option<EpochRandomness>,
    /// Rejected inputs and detected misbehaviour, for the trace (a short stable reason each).
    pub rejects: Vec<String>,
}

impl<M> Default for RandomnessEffects<M> {
    fn default() -> Self {
        Self {
            sends: Vec::new(),
            timers: Vec::new(),
            output: None,
            rejects: Vec::new(),
        }
    }
}

/// A sub-protocol that turns an elected candidate into the epoch's verified randomness.
pub trait RandomnessProtocol {
    type Msg: Clone + fmt::Debug + Send + Traceable + 'static;

    /// A short name for traces and summaries.
    fn name(&self) -> &'static str;

    /// `ctx.round` became the active round at this node (called on every node, the leader's own
    /// included; a withholding leader is simply never asked).
    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<Self::Msg>);

    /// A message of the active round from `from`.
    fn on_message(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        msg: Self::Msg,
        fx: &mut RandomnessEffects<Self::Msg>,
    );

    /// A timer this instance set in the active round.
    fn on_timer(&mut self, ctx: &RoundContext<'_>, tag: u64, fx: &mut RandomnessEffects<Self::Msg>);

    /// The instance after a crash: keys only.
    fn restart(&self) -> Self
    where
        Self: Sized;
}
