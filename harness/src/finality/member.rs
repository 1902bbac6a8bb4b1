//! A finality member as a [`crate::node::Node`], so the normal league's consensus runs under the
//! one deterministic simulator (`crate::sim::Simulator`: latency, jitter, loss, partitions,
//! crash and restart, the trace) and the real-time runner, like every other protocol role.
//!
//! [`Member`] wraps the state machine of `node.rs` and adds what the node trait leaves to the
//! node: the randomness of its CoSi nonces and where its proposals come from.
//! - **Nonces**: a ChaCha20 stream per incarnation, seeded by
//!   `SHA-256(FINALITY_NONCE_RNG ‖ rng seed ‖ incarnation)`; the engine also hedges every nonce
//!   with the key and the message, and a restart moves to the next incarnation's stream, so a
//!   restarted member never replays a nonce. In the simulator the rng seed derives from the run's
//!   seed, so runs are reproducible; a deployment gives it fresh OS randomness.
//! - **Proposals**: on (re)start and after each finalized height the member asks its
//!   [`ProposalSource`] for its value at the new height (`None`: it proposes nothing there).
//! - **Messages to itself** (the state machine broadcasts to the whole roster, itself included)
//!   are handled at once, inside the same input, and never touch the network: a node cannot lose
//!   its own vote to a partition or to loss.

use std::collections::VecDeque;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::messages::{Message, NodeId, Proposal};
use super::node::{Certificate, Config, Finality, Input, Node as FinalityNode, Output, Timer};
use crate::node::{Dest, Effects, Node, Time, Traceable};
use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};

/// What a member proposes at a height: `(member, height) -> value`, or `None` for no proposal.
pub type ProposalSource = Arc<dyn Fn(NodeId, u64) -> Option<Proposal> + Send + Sync>;

/// One member of the normal league running finality, as a sans-I/O node.
pub struct Member {
    inner: FinalityNode,
    rng_seed: [u8; 32],
    incarnation: u64,
    rng: ChaCha20Rng,
    proposals: ProposalSource,
}

fn incarnation_rng(rng_seed: &[u8; 32], incarnation: u64) -> ChaCha20Rng {
    crate::node::incarnation_rng(crate::domain::FINALITY_NONCE_RNG, rng_seed, incarnation)
}

impl Member {
    /// Wraps `inner`; `rng_seed` seeds its nonce streams, `proposals` gives its values.
    pub fn new(inner: FinalityNode, rng_seed: [u8; 32], proposals: ProposalSource) -> Member {
        Member::incarnation_of(inner, rng_seed, 0, proposals)
    }

    /// Wraps `inner` as its `incarnation`-th start (a process restarting from its store counts
    /// its starts, so that each one draws its nonces from a stream of its own).
    pub fn incarnation_of(
        inner: FinalityNode,
        rng_seed: [u8; 32],
        incarnation: u64,
        proposals: ProposalSource,
    ) -> Member {
        Member {
            inner,
            rng: incarnation_rng(&rng_seed, incarnation),
            rng_seed,
            incarnation,
            proposals,
        }
    }

    /// A league: one member per key seed (RFC 8032 seeds, registered in one roster with their
    /// proofs of possession), member `i` with nonce seed `rng_seeds[i]`.
    pub fn league(
        key_seeds: &[[u8; 32]],
        rng_seeds: &[[u8; 32]],
        config: Config,
        proposals: ProposalSource,
    ) -> Vec<Member> {
        assert_eq!(
            key_seeds.len(),
            rng_seeds.len(),
            "one nonce seed per member"
        );
        let registrations: Vec<Registration> = key_seeds
            .iter()
            .map(|s| MemberKey::from_seed(s).registration())
            .collect();
        let roster = Roster::from_registrations(&registrations).expect("fresh keys register");
        key_seeds
            .iter()
            .zip(rng_seeds)
            .enumerate()
            .map(|(i, (key, rng))| {
                let node = FinalityNode::new(i as NodeId, roster.clone(), key, config);
                Member::new(node, *rng, Arc::clone(&proposals))
            })
            .collect()
    }

    /// The finality state machine inside.
    pub fn state(&self) -> &FinalityNode {
        &self.inner
    }

    /// Every value this member finalized, in height order.
    pub fn finalized(&self) -> &[Finality] {
        self.inner.finalized()
    }

    /// A value for this member to propose, from its application (the driver), outside the
    /// [`ProposalSource`]: a candidate for `proposal.height`, led with if it is this member's
    /// turn.
    pub fn propose(&mut self, proposal: Proposal, fx: &mut Effects<Message, Timer, Finality>) {
        self.drive(Some(Input::Propose(proposal)), fx, false);
    }

    /// Runs `first` on the state machine, then every message it sent itself and every proposal
    /// its progress calls for, turning the rest of its outputs into `fx`.
    fn drive(
        &mut self,
        first: Option<Input>,
        fx: &mut Effects<Message, Timer, Finality>,
        propose_current: bool,
    ) {
        let me = self.inner.id();
        let mut work: VecDeque<Input> = VecDeque::new();
        let mut outputs = match first {
            Some(input) => self.inner.handle(input, &mut self.rng),
            None => self.inner.resume(&mut self.rng),
        };
        if propose_current && let Some(p) = (self.proposals)(me, self.inner.height()) {
            work.push_back(Input::Propose(p));
        }
        loop {
            for output in outputs.drain(..) {
                match output {
                    Output::Send { to, message } if to == me => {
                        work.push_back(Input::Message { from: me, message })
                    }
                    Output::Send { to, message } => fx.send(Dest::To(to), message),
                    Output::SetTimer { after, timer } => fx.timer(after.max(1), timer),
                    Output::Finalized(f) => {
                        if let Some(p) = (self.proposals)(me, f.height + 1) {
                            work.push_back(Input::Propose(p));
                        }
                        fx.output(f);
                    }
                }
            }
            match work.pop_front() {
                Some(input) => outputs = self.inner.handle(input, &mut self.rng),
                None => break,
            }
        }
    }
}

impl Node for Member {
    type Msg = Message;
    type Timer = Timer;
    type Output = Finality;

    fn id(&self) -> NodeId {
        self.inner.id()
    }

    fn on_start(&mut self, _now: Time, fx: &mut Effects<Message, Timer, Finality>) {
        self.drive(None, fx, true);
    }

    fn on_message(
        &mut self,
        _now: Time,
        from: NodeId,
        message: Message,
        fx: &mut Effects<Message, Timer, Finality>,
    ) {
        self.drive(Some(Input::Message { from, message }), fx, false);
    }

    fn on_timer(&mut self, _now: Time, timer: Timer, fx: &mut Effects<Message, Timer, Finality>) {
        self.drive(Some(Input::Timer(timer)), fx, false);
    }

    fn restart(&self) -> Member {
        let incarnation = self.incarnation + 1;
        Member {
            inner: self.inner.restarted(),
            rng: incarnation_rng(&self.rng_seed, incarnation),
            rng_seed: self.rng_seed,
            incarnation,
            proposals: Arc::clone(&self.proposals),
        }
    }
}

/// First 8 bytes of SHA-256, in hex: enough to tell messages apart in a trace.
fn short_digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

impl Traceable for Message {
    /// The message's type and height and a digest of its JSON encoding (the whole message,
    /// signatures included, without writing kilobytes of hex per line).
    fn trace(&self) -> serde_json::Value {
        let encoded = serde_json::to_vec(self).unwrap_or_default();
        let (kind, height) = match self {
            Message::Announce { height, .. } => ("announce", *height),
            Message::Commitment { height, .. } => ("commitment", *height),
            Message::Challenge { height, .. } => ("challenge", *height),
            Message::Response { height, .. } => ("response", *height),
            Message::Decided { height, .. } => ("decided", *height),
            Message::ViewChange(vc) => ("view_change", vc.height),
            Message::NewView(nv) => ("new_view", nv.height),
            Message::Vote(v) => ("vote", v.height),
            Message::Catchup { finalities } => {
                ("catchup", finalities.first().map_or(0, |f| f.height))
            }
        };
        json!({"type": kind, "height": height, "sha": short_digest(&encoded)})
    }
}

impl Traceable for Timer {
    fn trace(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Traceable for Finality {
    fn trace(&self) -> serde_json::Value {
        let certificate = match self.certificate {
            Certificate::Cosi { .. } => "cosi",
            Certificate::Pbft { .. } => "pbft",
        };
        json!({
            "finalized": self.height,
            "view": self.view,
            "value": hex::encode(self.proposal.digest()),
            "certificate": certificate,
        })
    }
}
