//! A normal-league node's finality state machine: inputs (a message, a timer, a proposal) in,
//! outputs (messages, timers, a finalized value) out. The fast path is in `fastpath`, the PBFT
//! fallback in `pbft`; this file holds the state, heights and views.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use super::fastpath::{LeaderState, MemberRound};
use super::messages::{Message, NodeId, Prepared, Proposal, ViewChange, Vote, VoteKind};

/// Messages for the next height kept while this node finishes the current one (a bound, so that
/// a faulty peer cannot fill memory; honest traffic for one height is a few messages per peer).
const MAX_BUFFERED: usize = 4096;

/// Timing and shape of the protocol, in ticks of the driver's virtual clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Children per node of the fast path's aggregation tree.
    pub fanout: usize,
    /// How long a node waits per tree level below it for its children's commitments (and the
    /// leader, twice that per level, for the responses).
    pub level_timeout: u64,
    /// How long a view may run before nodes ask for the next one; view `v` waits
    /// `view_timeout · (v + 1)`.
    pub view_timeout: u64,
    /// Whether view 0 runs ByzCoin's CoSi fast path. Off: every height goes straight to view 1
    /// and PBFT (a single-league shard's consensus).
    #[serde(default = "fast_path_on")]
    pub fast_path: bool,
}

fn fast_path_on() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fanout: 2,
            level_timeout: 3,
            view_timeout: 120,
            fast_path: true,
        }
    }
}

/// A timer a node asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum Timer {
    /// Stop waiting for children's commitments in round `round` and send up what arrived.
    Commitments { height: u64, round: u64 },
    /// The leader stops waiting for the responses of round `round`.
    Responses { height: u64, round: u64 },
    /// View `view` of `height` has run too long.
    View { height: u64, view: u64 },
}

/// What finalized a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Certificate {
    /// Fast path: prepare and commit collective signatures, each by at least 2f + 1 members.
    Cosi {
        #[serde(with = "hex::serde")]
        prepare: Vec<u8>,
        #[serde(with = "hex::serde")]
        commit: Vec<u8>,
    },
    /// PBFT: 2f + 1 signed commit votes.
    Pbft { commits: Vec<Vote> },
}

/// A finalized value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finality {
    pub height: u64,
    pub view: u64,
    pub proposal: Proposal,
    pub certificate: Certificate,
}

/// The part of a node's state a restart keeps, besides its finalized log (see
/// [`Node::durable`]); what a node process writes to its store before it speaks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durable {
    pub height: u64,
    pub view: u64,
    pub prepared_for: BTreeMap<u64, [u8; 32]>,
    pub prepared: Option<Prepared>,
    pub next_round: u64,
    pub requested: u64,
    pub new_view_sent: BTreeSet<u64>,
}

/// What a node asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send { to: NodeId, message: Message },
    SetTimer { after: u64, timer: Timer },
    Finalized(Finality),
}

/// What a node is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Message {
        from: NodeId,
        message: Message,
    },
    Timer(Timer),
    /// The value this node would propose at `proposal.height` (the merged optimistic blocks).
    Propose(Proposal),
}

/// PBFT state of the current view.
#[derive(Debug)]
pub(super) struct PbftView {
    pub view: u64,
    pub proposal: Proposal,
    pub digest: [u8; 32],
    pub sent_commit: bool,
}

/// A member of the normal league running finality.
pub struct Node {
    pub(super) id: NodeId,
    pub(super) roster: Roster,
    pub(super) keys: Vec<[u8; 32]>,
    pub(super) cosi_key: MemberKey,
    pub(super) ed_key: SigningKey,
    pub(super) config: Config,
    pub(super) height: u64,
    pub(super) view: u64,
    pub(super) candidates: BTreeMap<u64, Proposal>,
    /// The digest this node co-signed or voted to prepare, per view of the current height.
    pub(super) prepared_for: BTreeMap<u64, [u8; 32]>,
    pub(super) prepared: Option<Prepared>,
    pub(super) member: Option<MemberRound>,
    pub(super) leader: Option<LeaderState>,
    pub(super) next_round: u64,
    /// The highest view this node asked for.
    pub(super) requested: u64,
    pub(super) view_changes: BTreeMap<u64, BTreeMap<NodeId, ViewChange>>,
    pub(super) new_view_sent: BTreeSet<u64>,
    pub(super) pbft: Option<PbftView>,
    pub(super) votes: BTreeMap<(u64, VoteKind), BTreeMap<NodeId, Vote>>,
    pub(super) finalized: Vec<Finality>,
    /// Messages for later heights, replayed on reaching them.
    pub(super) future: Vec<(NodeId, Message)>,
}

impl Node {
    /// Node `id` of the league whose roster is `roster`; `seed` is its RFC 8032 key seed (the
    /// same key signs CoSi rounds and PBFT messages, under different domains).
    pub fn new(id: NodeId, roster: Roster, seed: &[u8; 32], config: Config) -> Node {
        Node {
            id,
            keys: roster.public_keys().to_vec(),
            roster,
            cosi_key: MemberKey::from_seed(seed),
            ed_key: SigningKey::from_bytes(seed),
            config,
            height: 0,
            view: 0,
            candidates: BTreeMap::new(),
            prepared_for: BTreeMap::new(),
            prepared: None,
            member: None,
            leader: None,
            next_round: 0,
            requested: 0,
            view_changes: BTreeMap::new(),
            new_view_sent: BTreeSet::new(),
            pbft: None,
            votes: BTreeMap::new(),
            finalized: Vec::new(),
            future: Vec::new(),
        }
    }

    /// The node as it comes back after a crash: [`Node::recover`] from its [`Durable`] state and
    /// finalized log, which is all a restart keeps (the simulator's restarts and a process
    /// reopening its store go through the same definition).
    pub fn restarted(&self) -> Node {
        Node::recover(
            self.id,
            self.roster.clone(),
            self.cosi_key.clone(),
            self.ed_key.clone(),
            self.config,
            self.durable(),
            self.finalized.clone(),
        )
    }

    /// What this node must keep across a crash besides its keys, roster, configuration and
    /// finalized log: the height and view it reached, what it prepared, signed or asked for at
    /// this height (so a restart never makes it co-sign or vote for a second value in a view it
    /// already took part in) and its CoSi round counter (so its rounds stay numbered upwards).
    /// Volatile, lost: candidates, running CoSi rounds (their nonces die with them), the votes
    /// and view changes heard from others, the PBFT view's value and buffered messages.
    pub fn durable(&self) -> Durable {
        Durable {
            height: self.height,
            view: self.view,
            prepared_for: self.prepared_for.clone(),
            prepared: self.prepared.clone(),
            next_round: self.next_round,
            requested: self.requested,
            new_view_sent: self.new_view_sent.clone(),
        }
    }

    /// Node `id` back from its durable state and finalized log (`finalized[i]` at height `i`).
    pub fn recover(
        id: NodeId,
        roster: Roster,
        cosi_key: MemberKey,
        ed_key: SigningKey,
        config: Config,
        durable: Durable,
        finalized: Vec<Finality>,
    ) -> Node {
        Node {
            id,
            keys: roster.public_keys().to_vec(),
            roster,
            cosi_key,
            ed_key,
            config,
            height: durable.height,
            view: durable.view,
            candidates: BTreeMap::new(),
            prepared_for: durable.prepared_for,
            prepared: durable.prepared,
            member: None,
            leader: None,
            next_round: durable.next_round,
            requested: durable.requested,
            view_changes: BTreeMap::new(),
            new_view_sent: durable.new_view_sent,
            pbft: None,
            votes: BTreeMap::new(),
            finalized,
            future: Vec::new(),
        }
    }

    /// Node `id` of the league `roster`, from its key seed, back from its durable state.
    pub fn recover_from_seed(
        id: NodeId,
        roster: Roster,
        seed: &[u8; 32],
        config: Config,
        durable: Durable,
        finalized: Vec<Finality>,
    ) -> Node {
        let cosi_key = MemberKey::from_seed(seed);
        let ed_key = SigningKey::from_bytes(seed);
        Node::recover(id, roster, cosi_key, ed_key, config, durable, finalized)
    }

    /// (Re)starts the node where its durable state left it: a fresh node enters height 0; a
    /// restarted one re-arms the timer of the view it is in (or asked for), so that it asks for
    /// the next view, and hears the height's outcome by catch-up, if the others finished
    /// without it.
    pub fn resume<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Vec<Output> {
        if self.height == 0 && self.view == 0 && self.requested == 0 && self.finalized.is_empty() {
            return self.start(rng);
        }
        let mut out = Vec::new();
        let view = self.view.max(self.requested);
        out.push(Output::SetTimer {
            after: self.config.view_timeout * (view + 1),
            timer: Timer::View {
                height: self.height,
                view,
            },
        });
        if !self.config.fast_path && self.requested == 0 {
            self.request_view(1, &mut out);
        }
        out
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn view(&self) -> u64 {
        self.view
    }

    /// Every value this node finalized, in height order.
    pub fn finalized(&self) -> &[Finality] {
        &self.finalized
    }

    pub(super) fn n(&self) -> usize {
        self.keys.len()
    }

    /// Signers or votes needed: 2f + 1 of 3f + 1.
    pub fn quorum(&self) -> usize {
        Policy::ByzCoin.required(self.n())
    }

    /// The leader of `(height, view)`: round-robin from the height (the epoch's VRF leader order
    /// would replace it).
    pub fn leader_of(&self, height: u64, view: u64) -> NodeId {
        (height.wrapping_add(view) % self.n() as u64) as NodeId
    }

    pub(super) fn send_all(&self, message: &Message, out: &mut Vec<Output>) {
        for to in 0..self.n() as NodeId {
            out.push(Output::Send {
                to,
                message: message.clone(),
            });
        }
    }

    /// Starts the node at height 0 (arms the first view timer).
    pub fn start<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Vec<Output> {
        let mut out = Vec::new();
        self.enter_height(0, rng, &mut out);
        out
    }

    /// Handles one input.
    pub fn handle<R: CryptoRng + ?Sized>(&mut self, input: Input, rng: &mut R) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Propose(proposal) => {
                let height = proposal.height;
                if height >= self.height {
                    self.candidates.insert(height, proposal);
                }
                if height == self.height {
                    self.maybe_lead(rng, &mut out);
                    self.maybe_new_view(self.requested, &mut out);
                }
            }
            Input::Timer(timer) => self.on_timer(timer, rng, &mut out),
            Input::Message { from, message } => self.on_message(from, message, rng, &mut out),
        }
        out
    }

    fn on_message<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        message: Message,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        if from as usize >= self.n() {
            return;
        }
        let message = match message {
            Message::Catchup { finalities } => return self.on_catchup(finalities, rng, out),
            other => other,
        };
        let height = message_height(&message);
        if height > self.height {
            if height == self.height + 1 && self.future.len() < MAX_BUFFERED {
                self.future.push((from, message));
            }
            return;
        }
        if height < self.height {
            if let Message::ViewChange(_) = message {
                self.help_lagging_peer(from, height, out);
            }
            return;
        }
        match message {
            Message::Announce { .. } => self.on_announce(from, message, rng, out),
            Message::Commitment { round, bytes, .. } => {
                self.on_commitment(from, round, &bytes, rng, out)
            }
            Message::Challenge { round, bytes, .. } => {
                self.on_challenge(from, round, &bytes, rng, out)
            }
            Message::Response { round, bytes, .. } => {
                self.on_response(from, round, &bytes, rng, out)
            }
            Message::Decided {
                view,
                proposal,
                prepare_signature,
                commit_signature,
                ..
            } => self.on_decided(
                view,
                proposal,
                prepare_signature,
                commit_signature,
                rng,
                out,
            ),
            Message::ViewChange(vc) => self.on_view_change(vc, out),
            Message::NewView(nv) => self.on_new_view(from, nv, rng, out),
            Message::Vote(vote) => self.on_vote(vote, rng, out),
            Message::Catchup { .. } => {}
        }
    }

    fn on_timer<R: CryptoRng + ?Sized>(
        &mut self,
        timer: Timer,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        match timer {
            Timer::Commitments { height, round } if height == self.height => {
                self.on_commitments_timeout(round, rng, out)
            }
            Timer::Responses { height, round } if height == self.height => {
                self.on_responses_timeout(round, rng, out)
            }
            Timer::View { height, view } if height == self.height && view >= self.requested => {
                self.request_view(view + 1, out)
            }
            _ => {}
        }
    }

    /// Enters `height` at view 0: clears the previous height's state, arms the view timer, leads
    /// if it is this node's turn, and replays buffered messages.
    pub(super) fn enter_height<R: CryptoRng + ?Sized>(
        &mut self,
        height: u64,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        self.height = height;
        self.view = 0;
        self.requested = 0;
        self.prepared_for.clear();
        self.prepared = None;
        self.member = None;
        self.leader = None;
        self.view_changes.clear();
        self.new_view_sent.clear();
        self.pbft = None;
        self.votes.clear();
        self.candidates.retain(|&h, _| h >= height);
        out.push(Output::SetTimer {
            after: self.config.view_timeout,
            timer: Timer::View { height, view: 0 },
        });
        if !self.config.fast_path {
            self.request_view(1, out);
        }
        self.maybe_lead(rng, out);
        let buffered = std::mem::take(&mut self.future);
        for (from, message) in buffered {
            self.on_message(from, message, rng, out);
        }
    }

    /// Records a finalized value (once per height) and moves to the next height.
    pub(super) fn finalize<R: CryptoRng + ?Sized>(
        &mut self,
        finality: Finality,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        if finality.height != self.height {
            return;
        }
        let next = self.height + 1;
        self.finalized.push(finality.clone());
        out.push(Output::Finalized(finality));
        self.enter_height(next, rng, out);
    }
}

fn message_height(message: &Message) -> u64 {
    match message {
        Message::Announce { height, .. }
        | Message::Commitment { height, .. }
        | Message::Challenge { height, .. }
        | Message::Response { height, .. }
        | Message::Decided { height, .. } => *height,
        Message::ViewChange(vc) => vc.height,
        Message::NewView(nv) => nv.height,
        Message::Vote(v) => v.height,
        Message::Catchup { finalities } => finalities.first().map_or(0, |f| f.height),
    }
}
