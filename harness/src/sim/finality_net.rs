//! [`FinalityNet`]: one league of finality [`Member`]s on the one deterministic simulator
//! ([`Simulator`]), with the scripted faults the scenario tests and the demo use, and a
//! record of everything finalized. It is a thin driver: the event loop, the clock and the network
//! are the simulator's (a fixed one-tick latency here, no loss); the faults are [`Scripted`]
//! wrappers that change what a member sends or silence it. A run is a function of the key and
//! nonce seeds and the calls made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use rand::CryptoRng;
use sha2::{Digest, Sha256};

use super::network::{LinkModel, SimNetwork};
use super::{Happening, Simulator};
use crate::finality::{
    Config, Finality, Member, Message, Node, NodeId, Proposal, ProposalSource, Timer,
};
use crate::node::{Dest, Effects, Node as SimNode, Time};

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

/// What the members propose: heights below `target`, with `overrides` in place of
/// [`proposal_for`], each member's own value when `distinct`.
#[derive(Default)]
struct Plan {
    target: u64,
    overrides: BTreeMap<u64, Proposal>,
    distinct: bool,
}

impl Plan {
    fn value(&self, node: NodeId, height: u64) -> Option<Proposal> {
        if height >= self.target {
            return None;
        }
        let mut proposal = self
            .overrides
            .get(&height)
            .cloned()
            .unwrap_or_else(|| proposal_for(height));
        if self.distinct {
            proposal.headers.push([node as u8; 32]);
        }
        Some(proposal)
    }
}

type Fx = Effects<Message, Timer, Finality>;

/// A member with the faults a scenario scripts for it. A silenced member is down as far as the
/// others can tell: it handles nothing and sends nothing.
pub struct Scripted {
    member: Member,
    silent: bool,
    /// Goes silent right after sending its first commitment of this height.
    silent_after_commit: Option<u64>,
    /// If it leads this height's fast path to a decision, only it learns it; then it goes silent.
    decide_alone: Option<u64>,
    /// Leading this height's fast path, it announces another value to odd-numbered members.
    equivocate_at: Option<u64>,
    /// Every message it receives goes through its JSON encoding first (as over a real wire).
    through_json: bool,
}

impl Scripted {
    fn new(member: Member) -> Scripted {
        Scripted {
            member,
            silent: false,
            silent_after_commit: None,
            decide_alone: None,
            equivocate_at: None,
            through_json: false,
        }
    }

    pub fn member(&self) -> &Member {
        &self.member
    }

    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// Applies the scripted faults to the effects of one input.
    fn script(&mut self, fx: &mut Fx) {
        let equivocate = self.equivocate_at;
        let decide_alone = self.decide_alone;
        for (dest, message) in &mut fx.sends {
            if let Message::Announce {
                height, proposal, ..
            } = message
                && equivocate == Some(*height)
                && matches!(dest, Dest::To(to) if *to % 2 == 1)
            {
                proposal.headers.push([0xee; 32]);
            }
        }
        fx.sends.retain(
            |(_, m)| !matches!(m, Message::Decided { height, .. } if decide_alone == Some(*height)),
        );
        let committed = fx.sends.iter().any(|(_, m)| {
            matches!(m, Message::Commitment { height, .. }
                if self.silent_after_commit == Some(*height))
        });
        let decided_alone = fx.outputs.iter().any(|f| decide_alone == Some(f.height));
        if committed || decided_alone {
            self.silent = true;
        }
    }
}

impl SimNode for Scripted {
    type Msg = Message;
    type Timer = Timer;
    type Output = Finality;

    fn id(&self) -> NodeId {
        self.member.id()
    }

    fn on_start(&mut self, now: Time, fx: &mut Fx) {
        if !self.silent {
            self.member.on_start(now, fx);
            self.script(fx);
        }
    }

    fn on_message(&mut self, now: Time, from: NodeId, mut message: Message, fx: &mut Fx) {
        if self.silent {
            return;
        }
        if self.through_json {
            let json = serde_json::to_string(&message).expect("messages serialize");
            message = serde_json::from_str(&json).expect("messages deserialize");
        }
        self.member.on_message(now, from, message, fx);
        self.script(fx);
    }

    fn on_timer(&mut self, now: Time, timer: Timer, fx: &mut Fx) {
        if !self.silent {
            self.member.on_timer(now, timer, fx);
            self.script(fx);
        }
    }

    fn restart(&self) -> Scripted {
        Scripted {
            member: self.member.restart(),
            silent: false,
            ..*self
        }
    }
}

/// The members of one normal league and the simulated network between them.
pub struct FinalityNet {
    sim: Simulator<Scripted, std::io::Sink>,
    plan: Arc<Mutex<Plan>>,
    started: bool,
    finalized: Vec<(NodeId, u64, Finality)>,
}

impl FinalityNet {
    /// `n` members with key and nonce seeds from `rng`, registered (with proofs of possession)
    /// in one roster.
    pub fn new<R: CryptoRng + ?Sized>(n: usize, config: Config, rng: &mut R) -> FinalityNet {
        let seeds: Vec<[u8; 32]> = (0..n)
            .map(|_| {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                seed
            })
            .collect();
        FinalityNet::with_seeds(&seeds, config, rng)
    }

    /// One member per key seed (RFC 8032 seeds: the members' own keys), registered in one
    /// roster; nonce seeds from `rng`; a reliable one-tick network.
    pub fn with_seeds<R: CryptoRng + ?Sized>(
        seeds: &[[u8; 32]],
        config: Config,
        rng: &mut R,
    ) -> FinalityNet {
        let link = LinkModel {
            latency: 1,
            jitter: 0,
            loss: 0.0,
            duplicate: 0.0,
        };
        FinalityNet::with_network(seeds, config, rng, link, 0)
    }

    /// [`FinalityNet::with_seeds`] over links with `link`'s latency, jitter, loss and
    /// duplication (in ticks), its random draws seeded by `net_seed`.
    pub fn with_network<R: CryptoRng + ?Sized>(
        seeds: &[[u8; 32]],
        config: Config,
        rng: &mut R,
        link: LinkModel,
        net_seed: u64,
    ) -> FinalityNet {
        let nonce_seeds: Vec<[u8; 32]> = seeds
            .iter()
            .map(|_| {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                seed
            })
            .collect();
        let plan = Arc::new(Mutex::new(Plan::default()));
        let source_plan = Arc::clone(&plan);
        let source: ProposalSource = Arc::new(move |node, height| {
            source_plan
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .value(node, height)
        });
        let members = Member::league(seeds, &nonce_seeds, config, source)
            .into_iter()
            .map(Scripted::new)
            .collect();
        let net = SimNetwork::new(link, BTreeMap::new(), Vec::new(), net_seed);
        FinalityNet {
            sim: Simulator::untraced(members, net),
            plan,
            started: false,
            finalized: Vec::new(),
        }
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The members' finality state machines, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        (0..self.sim.nodes()).filter_map(|i| self.sim.node(i).map(|s| s.member().state()))
    }

    /// Member `id`'s finality state machine.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.sim.node(id).map(|s| s.member().state())
    }

    pub fn now(&self) -> u64 {
        self.sim.now()
    }

    /// Messages delivered so far (to silenced members too: they are down only to themselves).
    pub fn messages(&self) -> u64 {
        self.sim.delivered()
    }

    fn script(&mut self, node: NodeId, f: impl FnOnce(&mut Scripted)) {
        if let Some(s) = self.sim.node_mut(node) {
            f(s);
        }
    }

    /// Member `node` is down from now on: it receives nothing and sends nothing.
    pub fn crash(&mut self, node: NodeId) {
        self.script(node, |s| s.silent = true);
    }

    /// Member `node` crashes now (the simulator's crash: its volatile state and timers are lost).
    pub fn crash_member(&mut self, node: NodeId) {
        let now = self.sim.now();
        self.sim.schedule_crash(node, now);
    }

    /// Member `node` comes back now from its durable state (`finality::Node::restarted`) and
    /// catches up on the heights it missed.
    pub fn restart_member(&mut self, node: NodeId) {
        let now = self.sim.now();
        self.sim.schedule_restart(node, now);
    }

    /// Whether member `node` is up (not crashed by [`FinalityNet::crash_member`]).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.sim.is_up(node)
    }

    /// Member `node` sends its first commitment at `height`, then goes silent.
    pub fn crash_after_commitment(&mut self, node: NodeId, height: u64) {
        self.script(node, |s| s.silent_after_commit = Some(height));
    }

    /// If member `node` leads the fast path at `height` to a decision, only it learns the
    /// decision, then it crashes.
    pub fn decide_alone_then_crash(&mut self, node: NodeId, height: u64) {
        self.script(node, |s| s.decide_alone = Some(height));
    }

    /// Every member proposes a value of its own at each height, so a primary that ignored a
    /// prepared value would finalize a different one.
    pub fn distinct_candidates(&mut self) {
        self.plan().distinct = true;
    }

    /// Member `node`, if it leads the fast path at `height`, announces one value to
    /// even-numbered members and another to odd-numbered ones.
    pub fn equivocate(&mut self, node: NodeId, height: u64) {
        self.script(node, |s| s.equivocate_at = Some(height));
    }

    /// Every member decodes every message from its JSON encoding before handling it.
    pub fn through_json(&mut self) {
        for node in 0..self.sim.nodes() {
            self.script(node, |s| s.through_json = true);
        }
    }

    /// Every `(member, height, finality)` recorded so far.
    pub fn finalized(&self) -> &[(NodeId, u64, Finality)] {
        &self.finalized
    }

    /// Runs until every live member finalized every height below `heights`, nothing is left to
    /// happen, or the clock passes `deadline`; returns whether every live member finalized every
    /// height.
    pub fn run(&mut self, heights: u64, deadline: u64) -> bool {
        self.plan().target = heights;
        self.run_until(deadline, |net| net.done(heights))
    }

    /// Runs the members toward the plan's target until `enough`, nothing is left to happen, or
    /// the clock passes `deadline`; returns whether `enough` held.
    fn run_until(&mut self, deadline: u64, enough: impl Fn(&Self) -> bool) -> bool {
        let mut out = Vec::new();
        if self.started {
            // Members already at a height they had no value for get it now.
            for node in 0..self.sim.nodes() {
                let height = self.node(node).map_or(u64::MAX, Node::height);
                let value = self.plan().value(node, height);
                if let Some(value) = value {
                    self.sim
                        .drive_node(node, "propose", &mut out, |s, _, fx| {
                            if !s.silent {
                                s.member.propose(value, fx);
                                s.script(fx);
                            }
                        })
                        .expect("an untraced run writes nothing");
                }
            }
        }
        self.started = true;
        loop {
            self.record(&mut out);
            if enough(self) {
                return true;
            }
            if !self
                .sim
                .step(deadline, &mut out)
                .expect("an untraced run writes nothing")
            {
                return enough(self);
            }
        }
    }

    fn record(&mut self, out: &mut Vec<Happening<Finality>>) {
        for happening in out.drain(..) {
            if let Happening::Output { node, output, .. } = happening {
                self.finalized.push((node, output.height, output));
            }
        }
    }

    /// Finalizes `proposal` (its height must be the next one: the number of heights proposed so
    /// far) and returns whether the league finalized it before `deadline` (virtual ticks after
    /// the call), with the virtual ticks it took. Heights are driven one at a time, so a caller
    /// can decide each value from what it has seen (the demo's audited blocks).
    ///
    /// The league has finalized a height once a quorum of members (2f + 1) finalized it, or
    /// every live member did: members cut off or behind learn it later by catch-up. A height
    /// that missed its deadline stays proposed with the same value: [`FinalityNet::resume`]
    /// goes on with it, and no new height may be proposed before it is finalized.
    pub fn finalize_next(&mut self, proposal: Proposal, deadline: u64) -> (bool, u64) {
        let height = self.plan().target;
        assert_eq!(proposal.height, height, "heights are finalized in order");
        assert!(
            height == 0 || self.league_finalized(height - 1),
            "height {} is not finalized yet: resume it first",
            height.saturating_sub(1)
        );
        self.plan().overrides.insert(height, proposal);
        self.plan().target = height + 1;
        self.resume(deadline)
    }

    /// Goes on with the newest proposed height (after [`FinalityNet::finalize_next`] missed its
    /// deadline): runs until the league finalized it or `deadline` ticks pass; returns whether
    /// it did and the ticks this call took.
    pub fn resume(&mut self, deadline: u64) -> (bool, u64) {
        let target = self.plan().target;
        let start = self.sim.now();
        let ok =
            target == 0 || self.run_until(start + deadline, |net| net.league_finalized(target - 1));
        if ok {
            self.forget_settled_overrides();
        }
        (ok, self.sim.now() - start)
    }

    /// Runs until every live member finalized every proposed height (those that were cut off
    /// or behind catch up) or `deadline` ticks pass; returns whether they all did.
    pub fn settle(&mut self, deadline: u64) -> bool {
        let target = self.plan().target;
        let start = self.sim.now();
        let done = self.run_until(start + deadline, |net| net.done(target));
        if done {
            self.forget_settled_overrides();
        }
        done
    }

    /// Cuts the league's links into `groups` of members until the next call (`None`: no cut);
    /// see [`SimNetwork::set_cut`].
    pub fn cut(&mut self, groups: Option<Vec<Vec<NodeId>>>) {
        self.sim
            .set_cut(groups)
            .expect("an untraced run writes nothing");
    }

    /// Whether a quorum of members, or every live member, finalized `height`.
    fn league_finalized(&self, height: u64) -> bool {
        let Some(quorum) = self.node(0).map(Node::quorum) else {
            return true;
        };
        let finalized = (0..self.sim.nodes())
            .filter(|&i| {
                self.node(i)
                    .is_some_and(|n| n.finalized().len() as u64 > height)
            })
            .count();
        finalized >= quorum || self.done(height + 1)
    }

    /// Drops the values of heights every live member finalized: no member asks for them again.
    fn forget_settled_overrides(&mut self) {
        let settled = (0..self.sim.nodes())
            .filter(|&i| self.sim.is_up(i) && self.sim.node(i).is_some_and(|s| !s.is_silent()))
            .filter_map(|i| self.node(i).map(|n| n.finalized().len() as u64))
            .min()
            .unwrap_or(u64::MAX);
        self.plan().overrides.retain(|&h, _| h >= settled);
    }

    /// Whether every live member finalized every height below `heights`.
    fn done(&self, heights: u64) -> bool {
        (0..self.sim.nodes()).all(|i| {
            !self.sim.is_up(i)
                || self
                    .sim
                    .node(i)
                    .is_none_or(|s| s.is_silent() || s.member().finalized().len() as u64 >= heights)
        })
    }

    /// The value each height was finalized with, or the first height at which two members
    /// finalized different values.
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
