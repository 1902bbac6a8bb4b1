//! Atomix shards and clients as [`crate::node::Node`]s, so cross-shard transactions run under the
//! one deterministic simulator (latency, jitter, loss, duplication, partitions, crash and
//! restart, the trace) and the real-time runner.
//!
//! Node ids: shard `s` is node `s`; clients follow the shards. Every node knows the shard map and
//! the directory of rosters (public configuration).
//!
//! - A **shard node** ([`ShardNode`]) owns an [`AtomixShard`]. A lock request is decided (or its
//!   recorded decision re-certified) at once and queued; every `seal_every` the shard signs its
//!   queue as one batch and sends each proof to the nodes that asked for it. A finish is checked
//!   and applied, and answered with [`AtomixMsg::Finished`] — also when it is a replay, so a
//!   client whose acknowledgement was lost learns the outcome the next time it asks.
//! - A **client node** ([`ClientNode`], in `client_node`) runs one
//!   [`AtomixClient`](super::AtomixClient) per transaction it submits.
//!   Every `retry_every` it asks again whatever is missing — lock requests to input shards it has
//!   no proof from, finishes to shards that have not acknowledged — for each transaction that
//!   made no progress for `retry_every`, doubled per fruitless retry up to 8× (so an overloaded
//!   shard sees fewer repeats, not more). A paced client ([`ClientNode::paced`]) submits each
//!   transaction when the load's clock reaches it.
//!
//! Why lost, duplicated and reordered messages are harmless: a shard decides once per txid and
//! answers a repeated request with the recorded decision; a finish is applied once (replays are
//! refused and only acknowledged); a client keeps the first certificate the proofs dictate. So
//! every message may be repeated at will, and retries make up for every loss.
//!
//! Restart keeps what a deployment keeps on disk: a shard its ledger, decisions and outcomes
//! ([`AtomixShard::restarted`]); a client the transactions it submits (its proofs are collected
//! again). The seal's CoSi nonces come from a ChaCha20 stream per incarnation, seeded by
//! `SHA-256(ATOMIX_NONCE_RNG ‖ rng seed ‖ incarnation)`.

use std::collections::{BTreeMap, BTreeSet};

use iosv_engine::tx::{Transaction, TxId};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use super::client_node::ClientNode;
use super::cosigner::CosignerNode;
use super::cosigning::{CosignMsg, Cosigning, Step};
use super::error::AtomixError;
use super::journal::{JournalEntry, tx_hex};
use super::proof::{AtomixProof, Certificate, Directory, Outcome};
use super::shard::AtomixShard;
use super::statement::ShardId;
use crate::node::{Dest, Effects, Node, NodeId, Time};

/// A message between Atomix nodes (on a network: JSON, transactions in their canonical
/// encoding).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtomixMsg {
    /// Client → input shard: decide on `tx` (or re-certify the decision).
    Lock {
        #[serde(with = "tx_hex")]
        tx: Transaction,
    },
    /// Shard → client: a signed decision.
    Proof(Box<AtomixProof>),
    /// Client → shard: end `tx` with `certificate`.
    Finish {
        #[serde(with = "tx_hex")]
        tx: Transaction,
        certificate: Box<Certificate>,
    },
    /// Shard → client: `txid` ended here with `outcome`.
    Finished { txid: TxId, outcome: Outcome },
    /// Co-signer → client: shard `shard`'s leader (node `leader`) was caught in fraud and node
    /// `successor` leads the shard now (a client believes it from more members than the shard
    /// tolerates faulty).
    Convicted {
        shard: ShardId,
        leader: NodeId,
        successor: NodeId,
    },
    /// Between a co-signed shard's leader and its other members ([`super::cosigning`]).
    Cosign(CosignMsg),
}

/// A timer of an Atomix node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomixTimer {
    /// A shard signs its queued decisions.
    Seal,
    /// A client asks again for what is missing.
    Retry,
    /// A paced client submits the transactions that fell due.
    Submit,
    /// A co-signed shard's round `0` is due to have finished.
    Round(u64),
}

/// What an Atomix node reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtomixEvent {
    /// A shard decided on a transaction for the first time.
    Decided {
        shard: NodeId,
        txid: TxId,
        accept: bool,
    },
    /// A shard ended a transaction.
    Ended {
        shard: NodeId,
        txid: TxId,
        outcome: Outcome,
    },
    /// A client formed the certificate of a transaction.
    Certified { txid: TxId, outcome: Outcome },
    /// Every shard concerned acknowledged the end of a client's transaction.
    Settled { txid: TxId, outcome: Outcome },
    /// A request or a proof was refused (the reason, for the trace; never a protocol step).
    Refused { node: NodeId, reason: String },
    /// A co-signer found its leader's entry number `index` refused or decided otherwise by its
    /// own rules (`txid`: the transaction, when the entry was applied and differed).
    Fraud {
        node: NodeId,
        leader: NodeId,
        index: u64,
        txid: Option<TxId>,
        reason: String,
        /// The member that leads the shard from then on (none left: the shard stops).
        successor: Option<NodeId>,
    },
}

/// Timing of the Atomix nodes, in the driver's time unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomixTiming {
    /// How often a shard signs its queued decisions.
    pub seal_every: u64,
    /// How often a client asks again for what is missing.
    pub retry_every: u64,
}

/// An Atomix shard as a node.
pub struct ShardNode {
    id: NodeId,
    shard: AtomixShard,
    dir: Directory,
    timing: AtomixTiming,
    /// Who asked for each txid's decision since it was last sent (volatile).
    requesters: BTreeMap<TxId, BTreeSet<NodeId>>,
    rng_seed: [u8; 32],
    incarnation: u64,
    rng: ChaCha20Rng,
    /// Inputs that changed durable state since the driver last took them (`None`: not kept).
    journal: Option<Vec<JournalEntry>>,
    /// The shard's batches are co-signed by member nodes instead of by keys held here.
    cosigning: Option<Cosigning>,
    /// Decides without checking signatures (a fraudulent believable validator, for faults).
    fraudulent: bool,
}

/// A shard (or its leader), a client, or a shard's co-signer.
// A handful of nodes per process, each living as long as it: the client's size is no concern.
#[allow(clippy::large_enum_variant)]
pub enum AtomixNode {
    Shard(Box<ShardNode>),
    Client(ClientNode),
    /// A shard member that is not its leader ([`CosignerNode`]).
    Cosigner(Box<CosignerNode>),
}

pub(super) type Fx = Effects<AtomixMsg, AtomixTimer, AtomixEvent>;

fn incarnation_rng(rng_seed: &[u8; 32], incarnation: u64) -> ChaCha20Rng {
    crate::node::incarnation_rng(crate::domain::ATOMIX_NONCE_RNG, rng_seed, incarnation)
}

pub(super) fn refused(fx: &mut Fx, node: NodeId, e: &AtomixError) {
    refused_reason(fx, node, e.to_string());
}

pub(super) fn refused_reason(fx: &mut Fx, node: NodeId, reason: String) {
    fx.output(AtomixEvent::Refused { node, reason });
}

impl ShardNode {
    /// The node of `shard` (its id is the shard's), with the directory every node shares.
    pub fn new(
        shard: AtomixShard,
        dir: Directory,
        timing: AtomixTiming,
        rng_seed: [u8; 32],
    ) -> ShardNode {
        ShardNode::incarnation_of(shard, dir, timing, rng_seed, 0)
    }

    /// [`ShardNode::new`] for incarnation `incarnation` of the node (its nonce stream), as a
    /// process restarting from its store builds it.
    pub fn incarnation_of(
        shard: AtomixShard,
        dir: Directory,
        timing: AtomixTiming,
        rng_seed: [u8; 32],
        incarnation: u64,
    ) -> ShardNode {
        ShardNode {
            id: shard.id(),
            shard,
            dir,
            timing,
            requesters: BTreeMap::new(),
            rng: incarnation_rng(&rng_seed, incarnation),
            rng_seed,
            incarnation,
            journal: None,
            cosigning: None,
            fraudulent: false,
        }
    }

    /// The node, its batches co-signed by the roster's member nodes ([`super::cosigning`]);
    /// its shard is then a [`AtomixShard::replica`] holding no roster keys.
    pub fn cosigned(mut self, cosigning: Cosigning) -> ShardNode {
        self.cosigning = Some(cosigning);
        self
    }

    /// The node, known to others as node `id` (a co-signer that took over its shard's lead
    /// keeps its own node id).
    pub fn with_node_id(mut self, id: NodeId) -> ShardNode {
        self.id = id;
        self
    }

    /// The node, with `entries` its driver has not stored yet (a co-signer taking over hands
    /// its own on).
    pub(super) fn with_pending_journal(mut self, entries: Vec<JournalEntry>) -> ShardNode {
        self.journal = Some(entries);
        self
    }

    /// The node as a fraudulent believable validator: it decides without checking signatures.
    pub fn fraudulent(mut self) -> ShardNode {
        self.fraudulent = true;
        self
    }

    /// The node, keeping a journal of the inputs that change its durable state for a driver
    /// that stores them ([`ShardNode::take_journal`], [`super::journal`]).
    pub fn journaled(mut self) -> ShardNode {
        self.journal = Some(Vec::new());
        self
    }

    /// The journal entries since the last call (empty when the node keeps none).
    pub fn take_journal(&mut self) -> Vec<JournalEntry> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn journal(&mut self, entry: impl FnOnce() -> JournalEntry) {
        if self.journal.is_none() && self.cosigning.is_none() {
            return;
        }
        let entry = entry();
        if let Some(cosigning) = &mut self.cosigning {
            cosigning.record(entry.clone());
        }
        if let Some(journal) = &mut self.journal {
            journal.push(entry);
        }
    }

    /// Carries out what the co-signing asked for.
    fn cosign_steps(&mut self, steps: Vec<Step>, fx: &mut Fx) {
        for step in steps {
            match step {
                Step::Send(to, msg) => fx.send(Dest::To(to), AtomixMsg::Cosign(msg)),
                Step::Deadline { round, after } => fx.timer(after, AtomixTimer::Round(round)),
                Step::Signed(proofs) => self.deliver(proofs, fx),
                Step::Refused(reason) => refused_reason(fx, self.id, reason),
                Step::Ack(to, txid, outcome) => {
                    fx.send(Dest::To(to), AtomixMsg::Finished { txid, outcome })
                }
            }
        }
    }

    /// Tells `to` that `txid` ended here: at once when the shard signs alone, once the entry is
    /// replicated when it is co-signed.
    fn acknowledge(&mut self, to: NodeId, txid: TxId, outcome: Outcome, fx: &mut Fx) {
        match &mut self.cosigning {
            Some(cosigning) => {
                let mut steps = Vec::new();
                cosigning.acknowledge(to, txid, outcome, &mut steps);
                self.cosign_steps(steps, fx);
            }
            None => fx.send(Dest::To(to), AtomixMsg::Finished { txid, outcome }),
        }
    }

    /// Sends each proof to the nodes that asked for its decision.
    fn deliver(&mut self, proofs: Vec<AtomixProof>, fx: &mut Fx) {
        for proof in proofs {
            let askers = self
                .requesters
                .remove(&proof.statement.txid)
                .unwrap_or_default();
            for to in askers {
                fx.send(Dest::To(to), AtomixMsg::Proof(Box::new(proof.clone())));
            }
        }
    }

    pub fn shard(&self) -> &AtomixShard {
        &self.shard
    }

    /// The length of the journal the node streams to its co-signers (`None`: it signs alone).
    pub fn journal_len(&self) -> Option<usize> {
        self.cosigning.as_ref().map(Cosigning::journal_len)
    }

    /// The shard, the node ended (to read its final state).
    pub fn into_shard(self) -> AtomixShard {
        self.shard
    }

    fn on_message(&mut self, from: NodeId, msg: AtomixMsg, fx: &mut Fx) {
        self.handle(from, msg, fx);
        if let Some(cosigning) = &mut self.cosigning {
            let mut steps = Vec::new();
            cosigning.flush(&mut steps);
            self.cosign_steps(steps, fx);
        }
    }

    fn handle(&mut self, from: NodeId, msg: AtomixMsg, fx: &mut Fx) {
        match msg {
            AtomixMsg::Lock { tx } => {
                let txid = tx.txid();
                let known = self.shard.decision(&txid).is_some();
                let decided = if self.fraudulent {
                    self.shard.request_lock_unverified(&tx)
                } else {
                    self.shard.request_lock(&tx)
                };
                match decided {
                    Ok(decision) => {
                        self.requesters.entry(txid).or_default().insert(from);
                        if !known {
                            self.journal(|| JournalEntry::Decided {
                                tx: tx.clone(),
                                decision,
                            });
                            fx.output(AtomixEvent::Decided {
                                shard: self.shard.id(),
                                txid,
                                accept: decision.is_accept(),
                            });
                        }
                    }
                    Err(e) => refused(fx, self.id, &e),
                }
            }
            AtomixMsg::Finish { tx, certificate } => {
                let txid = tx.txid();
                match self.shard.finish(&tx, &certificate, &self.dir) {
                    Ok(outcome) => {
                        self.journal(|| JournalEntry::Ended {
                            tx: tx.clone(),
                            certificate: certificate.clone(),
                            outcome,
                        });
                        fx.output(AtomixEvent::Ended {
                            shard: self.shard.id(),
                            txid,
                            outcome,
                        });
                        self.acknowledge(from, txid, outcome, fx);
                    }
                    Err(AtomixError::Replay { .. }) => {
                        if let Some(outcome) = self.shard.outcome(&txid) {
                            self.acknowledge(from, txid, outcome, fx);
                        }
                    }
                    Err(e) => refused(fx, self.id, &e),
                }
            }
            AtomixMsg::Cosign(msg) => {
                if let Some(cosigning) = &mut self.cosigning {
                    let mut steps = Vec::new();
                    cosigning.on_message(from, msg, &mut self.rng, &mut steps);
                    self.cosign_steps(steps, fx);
                } else {
                    refused_reason(
                        fx,
                        self.id,
                        "co-signing message to a shard that signs alone".into(),
                    );
                }
            }
            AtomixMsg::Proof(_) | AtomixMsg::Finished { .. } | AtomixMsg::Convicted { .. } => {}
        }
    }

    fn seal(&mut self, fx: &mut Fx) {
        if let Some(cosigning) = &mut self.cosigning {
            let mut steps = Vec::new();
            cosigning.seal(&mut self.shard, &mut self.rng, &mut steps);
            self.cosign_steps(steps, fx);
        } else {
            match self.shard.seal(&mut self.rng) {
                Ok(proofs) => self.deliver(proofs, fx),
                Err(e) => refused(fx, self.id, &e),
            }
        }
        fx.timer(self.timing.seal_every, AtomixTimer::Seal);
    }

    fn round_deadline(&mut self, round: u64, fx: &mut Fx) {
        if let Some(cosigning) = &mut self.cosigning {
            let mut steps = Vec::new();
            cosigning.on_deadline(round, &mut self.rng, &mut steps);
            self.cosign_steps(steps, fx);
        }
    }

    fn restart(&self) -> ShardNode {
        let incarnation = self.incarnation + 1;
        ShardNode {
            id: self.id,
            shard: self
                .shard
                .restarted()
                .expect("a ledger rebuilds from its own entries"),
            dir: self.dir.clone(),
            timing: self.timing,
            requesters: BTreeMap::new(),
            rng: incarnation_rng(&self.rng_seed, incarnation),
            rng_seed: self.rng_seed,
            incarnation,
            journal: self.journal.as_ref().map(|_| Vec::new()),
            cosigning: self.cosigning.as_ref().map(Cosigning::restarted),
            fraudulent: self.fraudulent,
        }
    }
}

impl AtomixNode {
    pub fn as_shard(&self) -> Option<&ShardNode> {
        match self {
            AtomixNode::Shard(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_client(&self) -> Option<&ClientNode> {
        match self {
            AtomixNode::Client(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_cosigner(&self) -> Option<&CosignerNode> {
        match self {
            AtomixNode::Cosigner(c) => Some(c),
            _ => None,
        }
    }
}

impl Node for AtomixNode {
    type Msg = AtomixMsg;
    type Timer = AtomixTimer;
    type Output = AtomixEvent;

    fn id(&self) -> NodeId {
        match self {
            AtomixNode::Shard(s) => s.id,
            AtomixNode::Client(c) => c.id(),
            AtomixNode::Cosigner(c) => c.id(),
        }
    }

    fn on_start(&mut self, now: Time, fx: &mut Fx) {
        match self {
            AtomixNode::Shard(s) => fx.timer(s.timing.seal_every, AtomixTimer::Seal),
            AtomixNode::Client(c) => c.start(now, fx),
            AtomixNode::Cosigner(_) => {}
        }
    }

    fn on_message(&mut self, now: Time, from: NodeId, msg: AtomixMsg, fx: &mut Fx) {
        match self {
            AtomixNode::Shard(s) => s.on_message(from, msg, fx),
            AtomixNode::Client(c) => c.on_message(now, from, msg, fx),
            AtomixNode::Cosigner(c) => match msg {
                AtomixMsg::Cosign(msg) => {
                    c.on_message(from, msg, fx);
                    if c.promoted() {
                        match c.lead() {
                            Ok(leader) => {
                                // A leader seals on its timer, which a member never had.
                                fx.timer(leader.timing.seal_every, AtomixTimer::Seal);
                                *self = AtomixNode::Shard(Box::new(leader));
                            }
                            Err(e) => refused_reason(fx, c.id(), format!("cannot lead: {e}")),
                        }
                    }
                }
                _ => refused_reason(
                    fx,
                    c.id(),
                    format!("node {from} sent a member a non-co-signing message"),
                ),
            },
        }
    }

    fn on_timer(&mut self, now: Time, timer: AtomixTimer, fx: &mut Fx) {
        match (self, timer) {
            (AtomixNode::Shard(s), AtomixTimer::Seal) => s.seal(fx),
            (AtomixNode::Shard(s), AtomixTimer::Round(round)) => s.round_deadline(round, fx),
            (AtomixNode::Client(c), AtomixTimer::Retry) => c.retry(now, fx),
            (AtomixNode::Client(c), AtomixTimer::Submit) => c.submit_due(now, fx),
            _ => {}
        }
    }

    fn restart(&self) -> AtomixNode {
        match self {
            AtomixNode::Shard(s) => AtomixNode::Shard(Box::new(s.restart())),
            AtomixNode::Client(c) => AtomixNode::Client(c.restarted()),
            AtomixNode::Cosigner(c) => AtomixNode::Cosigner(Box::new(c.restart())),
        }
    }
}

/// Whether `certificate` commits (every input shard accepted, covering the outputs).
pub(super) fn outcome_of(certificate: &Certificate) -> Outcome {
    match certificate {
        Certificate::Commit { .. } => Outcome::Committed,
        _ => Outcome::Aborted,
    }
}
