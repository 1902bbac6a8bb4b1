//! Validators as sans-I/O state machines, and the network behind a trait.
//!
//! A [`Node`] is driven from outside: a driver hands it a message, a timer or the start signal
//! together with the current time, and the node answers with [`Effects`]: messages to send,
//! timers to set and outputs (protocol events) to report. A node performs no I/O, reads no clock
//! and draws no randomness of its own, so the same inputs in the same order always give the same
//! effects. That is what lets one state machine run unchanged under the deterministic simulator
//! (`crate::sim`), the real-time runner (`crate::runtime`) and, later, a real network.
//!
//! The roles that are nodes today: the epoch validators (`epoch::Validator`, with the DRP inside
//! as their randomness protocol), a DRP session's dedicated leader and servers (`drp::DrpNode`),
//! the finality members (`finality::Member`), the Atomix shards and clients
//! (`atomix::AtomixNode`), and the believable-first demo's shards and clients and, inside each
//! shard, its believable and normal validators (in `demo`, which drives them). One id type,
//! [`NodeId`], names a node in every one of them.
//!
//! Invariants a driver keeps:
//! - inputs reach a node one at a time, in the driver's order; `now` never decreases;
//! - a message sent with [`Dest::AllOthers`] goes to every other node of the roster (never to the
//!   sender), in ascending id order;
//! - after a crash a node is replaced by [`Node::restart`], which keeps durable state only (keys,
//!   configuration, the durable log) and loses everything volatile; then it gets `on_start` again.

mod transport;

pub use transport::{Transport, dispatch};

/// A validator's index in the roster.
pub type NodeId = u32;

/// Time in microseconds: virtual in the simulator, since the run's start in the real-time runner.
pub type Time = u64;

/// Microseconds in a millisecond.
pub const MICROS_PER_MS: u64 = 1_000;

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    To(NodeId),
    /// Every other node of the roster, in ascending id order.
    AllOthers,
}

/// What a node asks its driver to do after one input.
#[derive(Debug)]
pub struct Effects<M, T, O> {
    /// Messages to send, in order.
    pub sends: Vec<(Dest, M)>,
    /// Timers to set: (delay in microseconds from `now`, timer).
    pub timers: Vec<(u64, T)>,
    /// Protocol outputs, for the trace and for checks.
    pub outputs: Vec<O>,
}

impl<M, T, O> Default for Effects<M, T, O> {
    fn default() -> Self {
        Self {
            sends: Vec::new(),
            timers: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

impl<M, T, O> Effects<M, T, O> {
    pub fn send(&mut self, dest: Dest, msg: M) {
        self.sends.push((dest, msg));
    }

    pub fn timer(&mut self, delay: u64, timer: T) {
        self.timers.push((delay, timer));
    }

    pub fn output(&mut self, out: O) {
        self.outputs.push(out);
    }

    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.timers.is_empty() && self.outputs.is_empty()
    }
}

/// The random stream of one incarnation of a node: ChaCha20 seeded by
/// `SHA-256(domain ‖ rng seed ‖ incarnation)`. A restart moves to the next incarnation's stream,
/// so a restarted node never replays the draws (nonces) of an earlier life; in the simulator the
/// rng seed derives from the run's seed, so runs stay reproducible.
pub fn incarnation_rng(
    domain: &[u8],
    rng_seed: &[u8; 32],
    incarnation: u64,
) -> rand_chacha::ChaCha20Rng {
    use rand_chacha::rand_core::SeedableRng;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(domain);
    h.update(rng_seed);
    h.update(incarnation.to_le_bytes());
    rand_chacha::ChaCha20Rng::from_seed(h.finalize().into())
}

/// A value that can describe itself as one JSON object in a trace. Implementations must be
/// deterministic (`serde_json::Value` maps are sorted), so traces compare byte for byte.
pub trait Traceable {
    fn trace(&self) -> serde_json::Value;
}

/// A sans-I/O state machine: message or timer in, [`Effects`] out.
pub trait Node {
    type Msg: Clone + Send + Traceable + 'static;
    type Timer: Clone + Send + Traceable + 'static;
    type Output: Clone + Send + Traceable + 'static;

    fn id(&self) -> NodeId;

    /// The node (re)starts at `now`.
    fn on_start(&mut self, now: Time, fx: &mut Effects<Self::Msg, Self::Timer, Self::Output>);

    fn on_message(
        &mut self,
        now: Time,
        from: NodeId,
        msg: Self::Msg,
        fx: &mut Effects<Self::Msg, Self::Timer, Self::Output>,
    );

    fn on_timer(
        &mut self,
        now: Time,
        timer: Self::Timer,
        fx: &mut Effects<Self::Msg, Self::Timer, Self::Output>,
    );

    /// The node as it comes back after a crash: durable state only.
    fn restart(&self) -> Self
    where
        Self: Sized;
}
