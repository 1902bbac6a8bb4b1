//! ByzCoin's fast path: the leader of view 0 runs a prepare and a commit CoSi round over the
//! proposal's digest, each over an aggregation tree; members co-sign a prepare for at most one
//! digest per view and a commit only with a valid prepare signature.
//!
//! Message flow of a round: the announcement goes from the leader straight to every participant
//! (it carries the tree, so each node knows its parent and children); commitments are aggregated
//! up the tree, the challenge goes down it, responses are aggregated up it, each node checking
//! its children's partial responses against their commitments.
//!
//! Failure handling: a node waits for its children's commitments for a bounded time per level and
//! sends up what arrived, so a crashed node only removes itself (or, for a sub-leader, its
//! subtree). When fewer than 2f + 1 commitments reach the leader, or the responses do not all
//! arrive (a node committed then went silent), the leader restarts the round as a star (everyone
//! talks to it directly), leaving out the members it saw commit without responding. If the star
//! fails too, the view times out and the nodes fall back to PBFT (see `pbft`).

use std::collections::{BTreeMap, BTreeSet};

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{
    self, Challenge, Commitment, Nonce, Response, aggregate_commitments, aggregate_responses,
    check_partial,
};
use rand::CryptoRng;

use super::messages::{Message, NodeId, Phase, Prepared, PreparedProof, Proposal, cosi_message};
use super::node::{Certificate, Finality, Node, Output, Timer};
use super::tree::Tree;

/// Rounds a leader may start per phase (the tree, then stars) before leaving it to a view change.
const MAX_ATTEMPTS: u32 = 3;

/// A node's part in one CoSi round.
pub(super) struct MemberRound {
    round: u64,
    msg: Vec<u8>,
    tree: Tree,
    nonce: Option<Nonce>,
    own: Commitment,
    child_commitments: BTreeMap<NodeId, Commitment>,
    sent_up: bool,
    challenge: Option<Challenge>,
    own_response: Option<Response>,
    child_responses: BTreeMap<NodeId, Response>,
    responded: bool,
}

/// The fast-path leader's state for the current height.
pub(super) struct LeaderState {
    phase: Phase,
    proposal: Proposal,
    digest: [u8; 32],
    prepare_signature: Vec<u8>,
    round: u64,
    star: bool,
    excluded: BTreeSet<NodeId>,
    attempts: u32,
    msg: Vec<u8>,
}

impl Node {
    /// Starts the fast path if this node leads view 0 of the current height and has a value.
    pub(super) fn maybe_lead<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<Output>) {
        if self.view != 0
            || self.requested != 0
            || self.leader.is_some()
            || self.leader_of(self.height, 0) != self.id
        {
            return;
        }
        let Some(proposal) = self.candidates.get(&self.height).cloned() else {
            return;
        };
        let digest = proposal.digest();
        self.leader = Some(LeaderState {
            phase: Phase::Prepare,
            proposal,
            digest,
            prepare_signature: Vec::new(),
            round: 0,
            star: false,
            excluded: BTreeSet::new(),
            attempts: 0,
            msg: Vec::new(),
        });
        self.start_round(rng, out);
    }

    /// Opens a new round of the leader's current phase.
    fn start_round<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<Output>) {
        let round = ((self.id as u64) << 40) | self.next_round;
        self.next_round += 1;
        let (height, n, id) = (self.height, self.n(), self.id);
        let Some(leader) = self.leader.as_mut() else {
            return;
        };
        leader.round = round;
        leader.attempts += 1;
        leader.msg = cosi_message(leader.phase, height, 0, &leader.digest);
        let nodes: Vec<NodeId> = (0..n)
            .map(|k| ((id as usize + k) % n) as NodeId)
            .filter(|m| !leader.excluded.contains(m))
            .collect();
        let fanout = if leader.star {
            nodes.len().saturating_sub(1)
        } else {
            self.config.fanout
        };
        let announce = Message::Announce {
            height,
            view: 0,
            round,
            phase: leader.phase,
            proposal: leader.proposal.clone(),
            prepare_signature: leader.prepare_signature.clone(),
            tree: nodes.clone(),
            fanout,
        };
        for &to in nodes.iter().filter(|&&m| m != id) {
            out.push(Output::Send {
                to,
                message: announce.clone(),
            });
        }
        let msg = leader.msg.clone();
        self.join_round(round, msg, Tree::new(nodes, fanout), rng, out);
    }

    pub(super) fn on_announce<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        message: Message,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let Message::Announce {
            height,
            view,
            round,
            phase,
            proposal,
            prepare_signature,
            tree,
            fanout,
        } = message
        else {
            return;
        };
        if view != 0
            || self.view != 0
            || self.requested != 0
            || from != self.leader_of(height, 0)
            || proposal.height != height
            || tree.first() != Some(&from)
            || !tree.contains(&self.id)
            || tree.iter().any(|&m| m as usize >= self.n())
        {
            return;
        }
        if self.member.as_ref().is_some_and(|m| m.round >= round) {
            return;
        }
        let digest = proposal.digest();
        match phase {
            Phase::Prepare => {
                if self.prepared_for.get(&0).is_some_and(|d| *d != digest) {
                    return;
                }
                self.prepared_for.insert(0, digest);
            }
            Phase::Commit => {
                let prepare_msg = cosi_message(Phase::Prepare, height, 0, &digest);
                if schnorr::verify(
                    &self.roster,
                    Policy::ByzCoin,
                    &prepare_msg,
                    &prepare_signature,
                )
                .is_err()
                {
                    return;
                }
                self.prepared = Some(Prepared {
                    view: 0,
                    proposal,
                    proof: PreparedProof::Cosi {
                        signature: prepare_signature,
                    },
                });
            }
        }
        let msg = cosi_message(phase, height, 0, &digest);
        self.join_round(round, msg, Tree::new(tree, fanout), rng, out);
    }

    /// Commits to round `round` and, as a leaf, sends the commitment up at once.
    fn join_round<R: CryptoRng + ?Sized>(
        &mut self,
        round: u64,
        msg: Vec<u8>,
        tree: Tree,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let Ok((nonce, own)) =
            schnorr::commit(&self.roster, self.id as usize, &self.cosi_key, &msg, rng)
        else {
            return;
        };
        let leaf = tree.children(self.id).is_empty();
        let levels = tree.levels_below(self.id);
        self.member = Some(MemberRound {
            round,
            msg,
            tree,
            nonce: Some(nonce),
            own,
            child_commitments: BTreeMap::new(),
            sent_up: false,
            challenge: None,
            own_response: None,
            child_responses: BTreeMap::new(),
            responded: false,
        });
        if leaf {
            self.send_commitment_up(rng, out);
        } else {
            out.push(Output::SetTimer {
                after: self.config.level_timeout * levels,
                timer: Timer::Commitments {
                    height: self.height,
                    round,
                },
            });
        }
    }

    /// Sends this subtree's aggregate commitment to the parent (the leader hands it to itself).
    fn send_commitment_up<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<Output>) {
        let (id, height) = (self.id, self.height);
        let Some(m) = self.member.as_mut() else {
            return;
        };
        if m.sent_up {
            return;
        }
        m.sent_up = true;
        let Ok(aggregate) = aggregate_commitments(
            &self.roster,
            std::iter::once(&m.own).chain(m.child_commitments.values()),
        ) else {
            return;
        };
        match m.tree.parent(id) {
            Some(parent) => out.push(Output::Send {
                to: parent,
                message: Message::Commitment {
                    height,
                    round: m.round,
                    bytes: aggregate.to_bytes(),
                },
            }),
            None => self.leader_on_commitment(aggregate, rng, out),
        }
    }

    pub(super) fn on_commitment<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        round: u64,
        bytes: &[u8],
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let Some(m) = self.member.as_mut() else {
            return;
        };
        if m.round != round || m.sent_up || m.child_commitments.contains_key(&from) {
            return;
        }
        if !m.tree.children(self.id).contains(&from) {
            return;
        }
        let Ok(commitment) = Commitment::decode(&self.roster, bytes) else {
            return;
        };
        let subtree = m.tree.subtree(from);
        if commitment
            .mask()
            .participants()
            .any(|p| !subtree.contains(&(p as NodeId)))
        {
            return;
        }
        m.child_commitments.insert(from, commitment);
        if m.child_commitments.len() == m.tree.children(self.id).len() {
            self.send_commitment_up(rng, out);
        }
    }

    pub(super) fn on_commitments_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        round: u64,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        if self.member.as_ref().is_some_and(|m| m.round == round) {
            self.send_commitment_up(rng, out);
        }
    }

    /// The leader has the root's aggregate commitment: challenge if 2f + 1 committed, else retry
    /// as a star.
    fn leader_on_commitment<R: CryptoRng + ?Sized>(
        &mut self,
        aggregate: Commitment,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let quorum = self.quorum();
        let Some(leader) = self.leader.as_ref() else {
            return;
        };
        if aggregate.mask().count() < quorum {
            self.retry_as_star(BTreeSet::new(), rng, out);
            return;
        }
        let Ok(challenge) = schnorr::challenge(&self.roster, &aggregate, &leader.msg) else {
            return;
        };
        let round = leader.round;
        let levels = self
            .member
            .as_ref()
            .map_or(1, |m| m.tree.levels_below(self.id));
        out.push(Output::SetTimer {
            after: self.config.level_timeout * 2 * levels.max(1),
            timer: Timer::Responses {
                height: self.height,
                round,
            },
        });
        let bytes = challenge.to_bytes();
        self.on_challenge(self.id, round, &bytes, rng, out);
    }

    pub(super) fn on_challenge<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        round: u64,
        bytes: &[u8],
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let (id, height) = (self.id, self.height);
        let Some(m) = self.member.as_mut() else {
            return;
        };
        let expected_from = m.tree.parent(id).unwrap_or(id);
        if m.round != round || from != expected_from || m.challenge.is_some() {
            return;
        }
        let Ok(challenge) = Challenge::decode(&self.roster, bytes) else {
            return;
        };
        for &child in m.child_commitments.keys() {
            out.push(Output::Send {
                to: child,
                message: Message::Challenge {
                    height,
                    round,
                    bytes: bytes.to_vec(),
                },
            });
        }
        if challenge.mask().get(id as usize)
            && let Some(nonce) = m.nonce.take()
            && let Ok(response) =
                schnorr::respond(&self.roster, &self.cosi_key, nonce, &challenge, &m.msg)
        {
            m.own_response = Some(response);
        }
        m.challenge = Some(challenge);
        self.maybe_respond_up(rng, out);
    }

    pub(super) fn on_response<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        round: u64,
        bytes: &[u8],
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let Some(m) = self.member.as_mut() else {
            return;
        };
        if m.round != round || m.responded || m.child_responses.contains_key(&from) {
            return;
        }
        let (Some(challenge), Some(commitment)) = (&m.challenge, m.child_commitments.get(&from))
        else {
            return;
        };
        let Ok(response) = Response::decode(&self.roster, bytes) else {
            return;
        };
        if check_partial(&self.roster, challenge, commitment, &response).is_err() {
            return;
        }
        m.child_responses.insert(from, response);
        self.maybe_respond_up(rng, out);
    }

    /// Once this node's own response and every included child's are in, sends the sum up (the
    /// leader assembles the collective signature).
    fn maybe_respond_up<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<Output>) {
        let (id, height) = (self.id, self.height);
        let Some(m) = self.member.as_mut() else {
            return;
        };
        if m.responded
            || m.own_response.is_none()
            || m.child_responses.len() != m.child_commitments.len()
        {
            return;
        }
        m.responded = true;
        let Ok(total) = aggregate_responses(
            &self.roster,
            m.own_response.iter().chain(m.child_responses.values()),
        ) else {
            return;
        };
        match m.tree.parent(id) {
            Some(parent) => out.push(Output::Send {
                to: parent,
                message: Message::Response {
                    height,
                    round: m.round,
                    bytes: total.to_bytes(),
                },
            }),
            None => self.leader_on_response(total, rng, out),
        }
    }

    /// The leader has every response: the round's collective signature. After the prepare
    /// round, the commit round starts; after the commit round, the decision goes to everyone.
    fn leader_on_response<R: CryptoRng + ?Sized>(
        &mut self,
        total: Response,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let height = self.height;
        let Some(challenge) = self.member.as_ref().and_then(|m| m.challenge.clone()) else {
            return;
        };
        let Some(leader) = self.leader.as_mut() else {
            return;
        };
        let Ok(signature) = schnorr::finalize(&challenge, &total) else {
            return;
        };
        let signature = signature.to_bytes();
        if schnorr::verify(&self.roster, Policy::ByzCoin, &leader.msg, &signature).is_err() {
            return;
        }
        match leader.phase {
            Phase::Prepare => {
                leader.phase = Phase::Commit;
                leader.prepare_signature = signature;
                leader.attempts = 0;
                self.start_round(rng, out);
            }
            Phase::Commit => {
                let decided = Message::Decided {
                    height,
                    view: 0,
                    proposal: leader.proposal.clone(),
                    prepare_signature: leader.prepare_signature.clone(),
                    commit_signature: signature,
                };
                self.leader = None;
                self.send_all(&decided, out);
            }
        }
    }

    pub(super) fn on_responses_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        round: u64,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        if self.leader.as_ref().is_none_or(|l| l.round != round) {
            return;
        }
        // Members of the challenge that the leader heard from directly but got no response from.
        let silent: BTreeSet<NodeId> = self
            .member
            .as_ref()
            .map(|m| {
                m.child_commitments
                    .keys()
                    .filter(|c| !m.child_responses.contains_key(c))
                    .filter(|&&c| m.tree.children(c).is_empty())
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        self.retry_as_star(silent, rng, out);
    }

    fn retry_as_star<R: CryptoRng + ?Sized>(
        &mut self,
        exclude: BTreeSet<NodeId>,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let Some(leader) = self.leader.as_mut() else {
            return;
        };
        if leader.attempts >= MAX_ATTEMPTS {
            self.leader = None;
            return;
        }
        leader.star = true;
        leader.excluded.extend(exclude);
        self.start_round(rng, out);
    }

    pub(super) fn on_decided<R: CryptoRng + ?Sized>(
        &mut self,
        view: u64,
        proposal: Proposal,
        prepare: Vec<u8>,
        commit: Vec<u8>,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let finality = Finality {
            height: self.height,
            view,
            proposal,
            certificate: Certificate::Cosi { prepare, commit },
        };
        if self.finality_is_valid(&finality) {
            self.finalize(finality, rng, out);
        }
    }
}
