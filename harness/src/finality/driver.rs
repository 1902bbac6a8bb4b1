//! A seeded discrete-event driver for finality nodes: a virtual clock, a fixed per-message
//! latency, timers, crashes (from the start or right after a node sends its first commitment of a
//! height), and a record of everything finalized. Events at the same instant run in the order
//! they were scheduled, so a run is a function of the seed and the configuration.

use std::collections::{BTreeMap, BTreeSet};

use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};
use rand::CryptoRng;
use sha2::{Digest, Sha256};

use super::messages::{Message, NodeId, Proposal};
use super::node::{Config, Finality, Input, Node, Output};

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        to: NodeId,
        from: NodeId,
        message: Message,
    },
    Timer {
        node: NodeId,
        timer: super::node::Timer,
    },
    Propose {
        node: NodeId,
        proposal: Proposal,
    },
}

/// The nodes of one normal league and the network between them.
pub struct FinalityNet {
    nodes: Vec<Node>,
    crashed: BTreeSet<NodeId>,
    /// Nodes that crash right after sending their first commitment of the given height.
    silent_after_commit: BTreeMap<NodeId, u64>,
    /// Leaders whose fast-path decision at the given height reaches only themselves, after which
    /// they crash (they finalize; nobody else hears of it).
    decide_alone: BTreeMap<NodeId, u64>,
    /// Each node proposes its own value (salted with its id) rather than a common one.
    distinct_candidates: bool,
    /// Every message goes through its JSON encoding on the way (as over a real wire).
    through_json: bool,
    /// Leaders that equivocate at the given height: their fast-path announcements carry a
    /// different value to odd-numbered nodes.
    equivocators: BTreeMap<NodeId, u64>,
    queue: BTreeMap<(u64, u64), Event>,
    now: u64,
    seq: u64,
    latency: u64,
    proposed: BTreeSet<u64>,
    /// Values to propose at given heights instead of [`proposal_for`]'s.
    proposals: BTreeMap<u64, Proposal>,
    target: u64,
    finalized: Vec<(NodeId, u64, Finality)>,
    messages: u64,
}

/// The value proposed at `height`: two made-up optimistic block header hashes.
pub fn proposal_for(height: u64) -> Proposal {
    let header = |i: u64| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"optimistic block");
        h.update(height.to_le_bytes());
        h.update(i.to_le_bytes());
        h.finalize().into()
    };
    Proposal {
        height,
        headers: vec![header(0), header(1)],
    }
}

impl FinalityNet {
    /// `n` nodes with keys from `rng`, registered (with proofs of possession) in one roster.
    pub fn new<R: CryptoRng + ?Sized>(n: usize, config: Config, rng: &mut R) -> FinalityNet {
        let seeds: Vec<[u8; 32]> = (0..n)
            .map(|_| {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                seed
            })
            .collect();
        FinalityNet::with_seeds(&seeds, config)
    }

    /// One node per key seed (RFC 8032 seeds: the members' own keys), registered in one roster.
    pub fn with_seeds(seeds: &[[u8; 32]], config: Config) -> FinalityNet {
        let regs: Vec<Registration> = seeds
            .iter()
            .map(|s| MemberKey::from_seed(s).registration())
            .collect();
        let roster = Roster::from_registrations(&regs).expect("fresh keys register");
        let nodes = seeds
            .iter()
            .enumerate()
            .map(|(i, seed)| Node::new(i as NodeId, roster.clone(), seed, config))
            .collect();
        FinalityNet {
            nodes,
            crashed: BTreeSet::new(),
            silent_after_commit: BTreeMap::new(),
            decide_alone: BTreeMap::new(),
            distinct_candidates: false,
            equivocators: BTreeMap::new(),
            through_json: false,
            queue: BTreeMap::new(),
            now: 0,
            seq: 0,
            latency: 1,
            proposed: BTreeSet::new(),
            proposals: BTreeMap::new(),
            target: 0,
            finalized: Vec::new(),
            messages: 0,
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// Messages that reached their destination's inbox so far (a crashed node's inbox included).
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Node `node` is down from now on: it receives nothing and sends nothing.
    pub fn crash(&mut self, node: NodeId) {
        self.crashed.insert(node);
    }

    /// Node `node` sends its first commitment at `height`, then goes silent.
    pub fn crash_after_commitment(&mut self, node: NodeId, height: u64) {
        self.silent_after_commit.insert(node, height);
    }

    /// If node `node` leads the fast path at `height` to a decision, only it learns the decision,
    /// then it crashes.
    pub fn decide_alone_then_crash(&mut self, node: NodeId, height: u64) {
        self.decide_alone.insert(node, height);
    }

    /// Every node proposes a value of its own at each height, so a primary that ignored a
    /// prepared value would finalize a different one.
    pub fn distinct_candidates(&mut self) {
        self.distinct_candidates = true;
    }

    /// Node `node`, if it leads the fast path at `height`, announces one value to even-numbered
    /// nodes and another to odd-numbered ones.
    pub fn equivocate(&mut self, node: NodeId, height: u64) {
        self.equivocators.insert(node, height);
    }

    /// Sends every message through `serde_json` (encode, decode) before delivering it.
    pub fn through_json(&mut self) {
        self.through_json = true;
    }

    /// Every `(node, height, finality)` recorded so far.
    pub fn finalized(&self) -> &[(NodeId, u64, Finality)] {
        &self.finalized
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.queue.insert((at, self.seq), event);
        self.seq += 1;
    }

    fn apply(&mut self, node: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { to, mut message } => {
                    if let Message::Announce {
                        height, proposal, ..
                    } = &mut message
                        && self.equivocators.get(&node) == Some(height)
                        && to % 2 == 1
                    {
                        proposal.headers.push([0xee; 32]);
                    }
                    let commitment_height = match &message {
                        Message::Commitment { height, .. } => Some(*height),
                        _ => None,
                    };
                    if let Message::Decided { height, .. } = &message
                        && self.decide_alone.get(&node) == Some(height)
                        && to != node
                    {
                        continue;
                    }
                    self.schedule(
                        self.now + self.latency,
                        Event::Deliver {
                            to,
                            from: node,
                            message,
                        },
                    );
                    if commitment_height.is_some()
                        && self.silent_after_commit.get(&node).copied() == commitment_height
                    {
                        self.crashed.insert(node);
                    }
                }
                Output::SetTimer { after, timer } => {
                    self.schedule(self.now + after.max(1), Event::Timer { node, timer })
                }
                Output::Finalized(f) => {
                    let height = f.height;
                    self.finalized.push((node, height, f));
                    if self.decide_alone.get(&node) == Some(&height) {
                        self.crashed.insert(node);
                    }
                    self.propose(height + 1);
                }
            }
        }
    }

    /// Gives every live node its value for `height` (once), if `height` is below the target.
    fn propose(&mut self, height: u64) {
        if height >= self.target || !self.proposed.insert(height) {
            return;
        }
        for node in 0..self.nodes.len() as NodeId {
            let mut proposal = self
                .proposals
                .get(&height)
                .cloned()
                .unwrap_or_else(|| proposal_for(height));
            if self.distinct_candidates {
                proposal.headers.push([node as u8; 32]);
            }
            self.schedule(self.now, Event::Propose { node, proposal });
        }
    }

    /// Starts every node and runs until `heights` heights are finalized by every live node, the
    /// queue empties, or the clock passes `deadline`; returns whether every live node finalized
    /// every height.
    pub fn run<R: CryptoRng + ?Sized>(&mut self, heights: u64, deadline: u64, rng: &mut R) -> bool {
        self.target = heights;
        if self.now == 0 && self.seq == 0 {
            for node in 0..self.nodes.len() as NodeId {
                if !self.crashed.contains(&node) {
                    let outputs = self.nodes[node as usize].start(rng);
                    self.apply(node, outputs);
                }
            }
        }
        self.propose(0);
        while !self.done() {
            let Some(((at, _), event)) = self.queue.pop_first() else {
                break;
            };
            if at > deadline {
                self.queue.insert((at, 0), event);
                break;
            }
            self.now = at;
            let (node, input) = match event {
                Event::Deliver {
                    to,
                    from,
                    mut message,
                } => {
                    self.messages += 1;
                    if self.through_json {
                        let json = serde_json::to_string(&message).expect("messages serialize");
                        message = serde_json::from_str(&json).expect("messages deserialize");
                    }
                    (to, Input::Message { from, message })
                }
                Event::Timer { node, timer } => (node, Input::Timer(timer)),
                Event::Propose { node, proposal } => (node, Input::Propose(proposal)),
            };
            if self.crashed.contains(&node) {
                continue;
            }
            let outputs = self.nodes[node as usize].handle(input, rng);
            self.apply(node, outputs);
        }
        self.done()
    }

    /// Finalizes `proposal` (its height must be the next one: the number of heights finalized so
    /// far) and returns whether every live node finalized it before `deadline` (virtual ticks
    /// after the call), with the virtual ticks it took. Heights are driven one at a time, so a
    /// caller can decide each value from what it has seen (the demo's audited blocks).
    pub fn finalize_next<R: CryptoRng + ?Sized>(
        &mut self,
        proposal: Proposal,
        deadline: u64,
        rng: &mut R,
    ) -> (bool, u64) {
        let height = self.target;
        assert_eq!(proposal.height, height, "heights are finalized in order");
        self.proposals.insert(height, proposal);
        let start = self.now;
        let first = self.now == 0 && self.seq == 0;
        self.target = height + 1;
        if !first {
            self.propose(height);
        }
        let ok = self.run(height + 1, start + deadline, rng);
        self.proposals.remove(&height);
        (ok, self.now - start)
    }

    /// Whether every live node finalized every target height.
    fn done(&self) -> bool {
        (0..self.nodes.len() as NodeId)
            .filter(|n| !self.crashed.contains(n))
            .all(|n| self.nodes[n as usize].finalized().len() as u64 >= self.target)
    }

    /// The value each height was finalized with, or the first height at which two nodes finalized
    /// different values.
    pub fn agreement(&self) -> Result<BTreeMap<u64, [u8; 32]>, u64> {
        let mut decided = BTreeMap::new();
        for (_, height, f) in &self.finalized {
            let digest = f.proposal.digest();
            if *decided.entry(*height).or_insert(digest) != digest {
                return Err(*height);
            }
        }
        Ok(decided)
    }
}
