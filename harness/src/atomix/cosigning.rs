//! A shard whose validators are separate nodes: the leader (the believable validator that
//! decides) streams its journal to the roster's other members, and every batch of decisions is
//! co-signed in a real CoSi round over the network, each member signing with its own key only
//! what it has applied and checked itself ([`super::cosigner`]).
//!
//! The leader's side, [`Cosigning`], inside a [`ShardNode`](super::ShardNode):
//! - every journal entry (a decision or an outcome) goes, in order, to every co-signer
//!   ([`CosignMsg::Entries`]); a co-signer that finds a gap says how far it got
//!   ([`CosignMsg::Behind`]) and is sent what follows, at most [`MAX_ENTRIES_PER_MSG`] at a time;
//! - every `seal_every`, with no round in flight, the queued decisions become a batch
//!   ([`AtomixShard::take_batch`]) and one round runs: announcement (the header, the batch's txids
//!   and how much of the journal they need), commitments, challenge, responses
//!   ([`iosv_engine::cosi::schnorr::protocol`]). The round goes on to its challenge once every
//!   member committed, or at its deadline if enough did for the policy; a round that misses its
//!   deadline otherwise starts again with a fresh nonce (same header: the decisions are fixed).
//!   A member's response is checked against its commitment before it counts, and the collective
//!   signature is verified before any proof leaves.
//!
//! Why a co-signer's signature means something: it signs a header only after rebuilding it from
//! its own replica, which applied every entry the batch needs under the shard's own rules —
//! signatures verified, UTXO rules checked. A leader that accepted a forged transaction cannot
//! reach the policy's threshold while fewer members than the policy tolerates are faulty, so
//! the forged transaction never gets a proof and never commits anywhere.
//!
//! A client's finish is acknowledged only once its entry is replicated: applied by as many
//! members as the policy needs to sign, the leader counted ([`CosignMsg::Applied`]). So every
//! effect a client or another shard ever sees — a proof (co-signed) or an acknowledged end —
//! sits in the journal prefix a threshold of members hold, and a successor leader chosen among
//! the honest members ([`super::cosigner`]) continues from a history that contains it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::protocol::{
    Challenge, Commitment, Nonce, Response, aggregate_commitments, aggregate_responses, challenge,
    check_partial, commit, finalize, respond,
};
use iosv_engine::cosi::schnorr::{MemberKey, Roster, verify};
use iosv_engine::tx::TxId;

pub use super::cosign_msg::{CosignMsg, MAX_BATCH_TXIDS, MAX_ENTRIES_PER_MSG};
use super::journal::JournalEntry;
use super::proof::{AtomixProof, Outcome};
use super::shard::{AtomixShard, proofs_of};
use super::statement::{BatchHeader, Statement};
use crate::node::{NodeId, Time};

/// How many times in a row a round's deadline doubles.
const MAX_TIMEOUT_DOUBLINGS: u32 = 5;

/// Where a round stands.
enum Phase {
    /// Waiting for commitments (the leader's own is in).
    Committing,
    /// The challenge went out to the participants of `mask`; waiting for their responses.
    Responding { challenge: Challenge },
}

/// One batch being co-signed (one or more rounds).
struct Round {
    id: u64,
    statements: Vec<Statement>,
    header: BatchHeader,
    journal_len: u64,
    nonce: Option<Nonce>,
    commitments: BTreeMap<usize, Commitment>,
    responses: BTreeMap<usize, Response>,
    phase: Phase,
}

/// What the leader does next, for its node to carry out.
pub enum Step {
    /// Send `msg` to node `to`.
    Send(NodeId, CosignMsg),
    /// Arm the deadline of round `round` after `after`.
    Deadline { round: u64, after: Time },
    /// The batch is signed: hand these proofs to whoever asked.
    Signed(Vec<AtomixProof>),
    /// Something was refused (for the trace).
    Refused(String),
    /// Tell client `to` that `txid` ended here with `outcome` (its entry is replicated).
    Ack(NodeId, TxId, Outcome),
}

/// A client's acknowledgement waiting for its entry to be replicated.
struct HeldAck {
    index: usize,
    to: NodeId,
    txid: TxId,
    outcome: Outcome,
}

/// The leader's side of a co-signed shard (see the module documentation).
pub struct Cosigning {
    /// Node id of each roster member, in roster order (the leader's own entry included).
    members: Vec<NodeId>,
    own: usize,
    key: MemberKey,
    roster: Roster,
    policy: Policy,
    /// Every journal entry of the shard, for members catching up.
    log: Vec<JournalEntry>,
    /// Entries `..sent` went out to every member.
    sent: usize,
    round: Option<Round>,
    next_round: u64,
    round_timeout: Time,
    /// The deadline of the next round: `round_timeout`, doubled by every round that missed it
    /// (up to [`MAX_TIMEOUT_DOUBLINGS`] times), back to `round_timeout` after a signed batch —
    /// so a slow or jittery network gets rounds long enough to finish instead of a livelock of
    /// restarts.
    timeout_now: Time,
    /// Roster members convicted of fraud: sent nothing, heard from in nothing.
    excluded: BTreeSet<usize>,
    /// Entries each member said it applied, by roster index.
    acked: Vec<u64>,
    /// The entry that ended each transaction here, for acknowledging repeats.
    ended_at: HashMap<TxId, usize>,
    /// Acknowledgements waiting for their entries to be replicated, in entry order.
    held: VecDeque<HeldAck>,
}

impl Cosigning {
    /// The leader of roster `roster` (member `own`, holding `key`), whose members are nodes
    /// `members` in roster order, with the journal `log` it recovered (all of it counts as sent:
    /// members that lack some of it ask).
    pub fn new(
        members: Vec<NodeId>,
        own: usize,
        key: MemberKey,
        roster: Roster,
        policy: Policy,
        log: Vec<JournalEntry>,
        round_timeout: Time,
    ) -> Result<Cosigning, String> {
        if members.len() != roster.len() || own >= members.len() {
            return Err(format!(
                "{} member nodes for a roster of {} (own index {own})",
                members.len(),
                roster.len()
            ));
        }
        if roster.public_key(own) != Some(key.public_key()) {
            return Err(format!("the key is not roster member {own}'s"));
        }
        let sent = log.len();
        let ended_at = ended_at(&log);
        Ok(Cosigning {
            acked: vec![0; members.len()],
            members,
            own,
            key,
            roster,
            policy,
            log,
            sent,
            round: None,
            next_round: 0,
            round_timeout,
            timeout_now: round_timeout,
            excluded: BTreeSet::new(),
            ended_at,
            held: VecDeque::new(),
        })
    }

    /// The leader, with the roster members `excluded` (convicted) left out of every round.
    pub fn excluding(mut self, excluded: impl IntoIterator<Item = usize>) -> Cosigning {
        self.excluded.extend(excluded);
        self.excluded.remove(&self.own);
        self
    }

    /// Whether entry `index` is held by enough members that the shard's history keeps it
    /// whoever leads next: the policy's threshold, the leader counted.
    fn replicated(&self, index: usize) -> bool {
        let holders = self
            .others()
            .filter(|(i, _)| self.acked[*i] > index as u64)
            .count();
        self.policy.satisfied(self.members.len(), holders + 1)
    }

    /// Acknowledges to `to` that `txid` ended with `outcome` once its entry is replicated (the
    /// entry that ended it, or the latest entry when it just did).
    pub fn acknowledge(&mut self, to: NodeId, txid: TxId, outcome: Outcome, steps: &mut Vec<Step>) {
        let Some(&index) = self.ended_at.get(&txid) else {
            return;
        };
        if self.replicated(index) {
            steps.push(Step::Ack(to, txid, outcome));
        } else {
            self.held.push_back(HeldAck {
                index,
                to,
                txid,
                outcome,
            });
        }
    }

    fn release(&mut self, steps: &mut Vec<Step>) {
        while let Some(front) = self.held.front()
            && self.replicated(front.index)
        {
            let held = self.held.pop_front().expect("peeked");
            steps.push(Step::Ack(held.to, held.txid, held.outcome));
        }
    }

    /// The node ids of the other members (convicted ones left out).
    fn others(&self) -> impl Iterator<Item = (usize, NodeId)> + '_ {
        let own = self.own;
        self.members
            .iter()
            .copied()
            .enumerate()
            .filter(move |(i, _)| *i != own && !self.excluded.contains(i))
    }

    fn index_of(&self, node: NodeId) -> Option<usize> {
        self.members
            .iter()
            .position(|&m| m == node)
            .filter(|&i| i != self.own && !self.excluded.contains(&i))
    }

    /// Keeps a new journal entry (sent by [`Cosigning::flush`]).
    pub fn record(&mut self, entry: JournalEntry) {
        if let JournalEntry::Ended { tx, .. } = &entry {
            self.ended_at.insert(tx.txid(), self.log.len());
        }
        self.log.push(entry);
    }

    /// The entries recorded since the last flush, to every member.
    pub fn flush(&mut self, steps: &mut Vec<Step>) {
        while self.sent < self.log.len() {
            let end = (self.sent + MAX_ENTRIES_PER_MSG).min(self.log.len());
            let msg = CosignMsg::Entries {
                from: self.sent as u64,
                entries: self.log[self.sent..end].to_vec(),
                leader_len: self.log.len() as u64,
            };
            for (_, to) in self.others() {
                steps.push(Step::Send(to, msg.clone()));
            }
            self.sent = end;
        }
    }

    /// Starts co-signing the shard's queued decisions, unless a round is in flight.
    pub fn seal<R: rand::CryptoRng + ?Sized>(
        &mut self,
        shard: &mut AtomixShard,
        rng: &mut R,
        steps: &mut Vec<Step>,
    ) {
        if self.round.is_some() {
            return;
        }
        let Some((statements, header)) = shard.take_batch() else {
            return;
        };
        self.round = Some(Round {
            id: 0,
            statements,
            header,
            journal_len: self.log.len() as u64,
            nonce: None,
            commitments: BTreeMap::new(),
            responses: BTreeMap::new(),
            phase: Phase::Committing,
        });
        self.start_round(rng, steps);
    }

    /// (Re)starts the round of the batch in flight: a fresh round id and nonce, the
    /// announcement to every member.
    fn start_round<R: rand::CryptoRng + ?Sized>(&mut self, rng: &mut R, steps: &mut Vec<Step>) {
        let id = self.next_round;
        self.next_round += 1;
        let (own, roster, key) = (self.own, &self.roster, &self.key);
        let Some(round) = self.round.as_mut() else {
            return;
        };
        let msg = round.header.signing_bytes();
        let (nonce, commitment) = match commit(roster, own, key, &msg, rng) {
            Ok(c) => c,
            Err(e) => {
                steps.push(Step::Refused(format!("own commitment: {e}")));
                return;
            }
        };
        round.id = id;
        round.nonce = Some(nonce);
        round.commitments = BTreeMap::from([(own, commitment)]);
        round.responses.clear();
        round.phase = Phase::Committing;
        let announce = CosignMsg::Announce {
            round: id,
            header: round.header,
            txids: round.statements.iter().map(|s| s.txid).collect(),
            journal_len: round.journal_len,
        };
        for (_, to) in self.others() {
            steps.push(Step::Send(to, announce.clone()));
        }
        steps.push(Step::Deadline {
            round: id,
            after: self.timeout_now,
        });
        if self.members.len() == 1 {
            self.challenge(rng, steps);
        }
    }

    /// A co-signing message from node `from`.
    pub fn on_message<R: rand::CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        msg: CosignMsg,
        rng: &mut R,
        steps: &mut Vec<Step>,
    ) {
        let Some(index) = self.index_of(from) else {
            steps.push(Step::Refused(format!(
                "co-signing message from node {from}, not a member"
            )));
            return;
        };
        match msg {
            CosignMsg::Behind { applied } => {
                let from_entry = usize::try_from(applied).unwrap_or(usize::MAX);
                if from_entry < self.log.len() {
                    let end = (from_entry + MAX_ENTRIES_PER_MSG).min(self.log.len());
                    steps.push(Step::Send(
                        from,
                        CosignMsg::Entries {
                            from: applied,
                            entries: self.log[from_entry..end].to_vec(),
                            leader_len: self.log.len() as u64,
                        },
                    ));
                }
            }
            CosignMsg::Applied { applied } => {
                let applied = applied.min(self.log.len() as u64);
                if applied > self.acked[index] {
                    self.acked[index] = applied;
                    self.release(steps);
                }
            }
            CosignMsg::Commit { round, commitment } => {
                self.on_commit(index, round, &commitment, rng, steps)
            }
            CosignMsg::Respond { round, response } => {
                self.on_response(index, round, &response, steps)
            }
            CosignMsg::Entries { .. }
            | CosignMsg::Announce { .. }
            | CosignMsg::Challenge { .. } => {
                steps.push(Step::Refused(format!(
                    "node {from} sent the leader a leader's message"
                )));
            }
        }
    }

    fn on_commit<R: rand::CryptoRng + ?Sized>(
        &mut self,
        index: usize,
        round_id: u64,
        bytes: &[u8],
        rng: &mut R,
        steps: &mut Vec<Step>,
    ) {
        let members = self.members.len();
        let Some(round) = self.round.as_mut() else {
            return;
        };
        if round.id != round_id || !matches!(round.phase, Phase::Committing) {
            return;
        }
        match Commitment::decode(&self.roster, bytes) {
            Ok(c) if c.mask().count() == 1 && c.mask().get(index) => {
                round.commitments.insert(index, c);
            }
            Ok(_) => {
                steps.push(Step::Refused(format!(
                    "member {index}'s commitment is not its own alone"
                )));
                return;
            }
            Err(e) => {
                steps.push(Step::Refused(format!("member {index}'s commitment: {e}")));
                return;
            }
        }
        if round.commitments.len() == members {
            self.challenge(rng, steps);
        }
    }

    /// Sends the challenge to everyone who committed, and answers it for the leader.
    fn challenge<R: rand::CryptoRng + ?Sized>(&mut self, rng: &mut R, steps: &mut Vec<Step>) {
        let Some(round) = self.round.as_mut() else {
            return;
        };
        let msg = round.header.signing_bytes();
        let prepared = aggregate_commitments(&self.roster, round.commitments.values())
            .and_then(|aggregate| challenge(&self.roster, &aggregate, &msg));
        let ch = match prepared {
            Ok(ch) => ch,
            Err(e) => {
                steps.push(Step::Refused(format!("challenge: {e}")));
                self.start_round(rng, steps);
                return;
            }
        };
        let Some(nonce) = round.nonce.take() else {
            return;
        };
        match respond(&self.roster, &self.key, nonce, &ch, &msg) {
            Ok(r) => {
                round.responses.insert(self.own, r);
            }
            Err(e) => {
                steps.push(Step::Refused(format!("own response: {e}")));
                return;
            }
        }
        let wire = CosignMsg::Challenge {
            round: round.id,
            challenge: ch.to_bytes(),
        };
        for &i in round.commitments.keys() {
            if i != self.own {
                steps.push(Step::Send(self.members[i], wire.clone()));
            }
        }
        round.phase = Phase::Responding { challenge: ch };
        self.try_finish(steps);
    }

    fn on_response(&mut self, index: usize, round_id: u64, bytes: &[u8], steps: &mut Vec<Step>) {
        let Some(round) = self.round.as_mut() else {
            return;
        };
        let Phase::Responding { challenge } = &round.phase else {
            return;
        };
        if round.id != round_id {
            return;
        }
        let Some(commitment) = round.commitments.get(&index) else {
            return;
        };
        let checked = Response::decode(&self.roster, bytes).and_then(|r| {
            check_partial(&self.roster, challenge, commitment, &r)?;
            Ok(r)
        });
        match checked {
            Ok(r) => {
                round.responses.insert(index, r);
                self.try_finish(steps);
            }
            Err(e) => steps.push(Step::Refused(format!("member {index}'s response: {e}"))),
        }
    }

    /// Finishes the round once every participant responded: the signature, checked, and the
    /// batch's proofs.
    fn try_finish(&mut self, steps: &mut Vec<Step>) {
        let Some(round) = self.round.as_ref() else {
            return;
        };
        let Phase::Responding { challenge } = &round.phase else {
            return;
        };
        if round.responses.len() != round.commitments.len() {
            return;
        }
        let msg = round.header.signing_bytes();
        let signed = aggregate_responses(&self.roster, round.responses.values())
            .and_then(|r| finalize(challenge, &r))
            .map(|s| s.to_bytes())
            .and_then(|sig| verify(&self.roster, self.policy, &msg, &sig).map(|()| sig));
        match signed {
            Ok(sig) => {
                self.timeout_now = self.round_timeout;
                let round = self.round.take().expect("checked above");
                steps.push(Step::Signed(proofs_of(
                    round.statements,
                    round.header,
                    &sig,
                )));
            }
            Err(e) => steps.push(Step::Refused(format!("collective signature: {e}"))),
        }
    }

    /// Round `round`'s deadline: go on with the members that committed if they are enough,
    /// otherwise start the round again.
    pub fn on_deadline<R: rand::CryptoRng + ?Sized>(
        &mut self,
        round_id: u64,
        rng: &mut R,
        steps: &mut Vec<Step>,
    ) {
        let members = self.members.len();
        let Some(round) = self.round.as_ref() else {
            return;
        };
        if round.id != round_id {
            return;
        }
        let enough = self.policy.satisfied(members, round.commitments.len());
        if matches!(round.phase, Phase::Committing) && enough {
            self.challenge(rng, steps);
            if let Some(r) = self.round.as_ref()
                && r.id == round_id
            {
                steps.push(Step::Deadline {
                    round: round_id,
                    after: self.timeout_now,
                });
            }
        } else {
            steps.push(Step::Refused(format!(
                "round {round_id} of batch {}: {} of {members} members took part in time",
                round.header.seq,
                round.commitments.len(),
            )));
            self.timeout_now =
                (self.timeout_now * 2).min(self.round_timeout << MAX_TIMEOUT_DOUBLINGS);
            self.start_round(rng, steps);
        }
    }

    /// Entries in the leader's journal.
    pub fn journal_len(&self) -> usize {
        self.log.len()
    }

    /// Whether a batch is being co-signed.
    pub fn in_flight(&self) -> bool {
        self.round.is_some()
    }

    /// The leader's side after a restart: the journal kept, the round in flight forgotten (its
    /// decisions are re-certified when their clients ask again).
    pub fn restarted(&self) -> Cosigning {
        Cosigning {
            members: self.members.clone(),
            own: self.own,
            key: self.key.clone(),
            roster: self.roster.clone(),
            policy: self.policy,
            log: self.log.clone(),
            sent: self.log.len(),
            round: None,
            next_round: self.next_round,
            round_timeout: self.round_timeout,
            timeout_now: self.round_timeout,
            excluded: self.excluded.clone(),
            acked: vec![0; self.members.len()],
            ended_at: self.ended_at.clone(),
            held: VecDeque::new(),
        }
    }
}

/// The entry that ended each transaction in `log`.
fn ended_at(log: &[JournalEntry]) -> HashMap<TxId, usize> {
    log.iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            JournalEntry::Ended { tx, .. } => Some((tx.txid(), i)),
            JournalEntry::Decided { .. } => None,
        })
        .collect()
}
