//! A shard member that is not its leader (a normal-league validator): it keeps its own replica
//! of the shard, applies every entry of the leader's journal to it under the shard's own rules
//! (every signature verified, every UTXO rule checked, every certificate's proofs verified), and
//! co-signs a batch only if the header it rebuilds from its own records is the one announced.
//!
//! Invariants:
//! - entries are applied in journal order, each once: an `Entries` message that starts past the
//!   member's end is not applied (the member says how far it got and waits for the gap to be
//!   filled), one that overlaps what it holds is applied from its end;
//! - a member signs only batches whose every decision it has applied itself, and answers one
//!   challenge per commitment (the nonce is consumed);
//! - an entry that the member's rules refuse or decide otherwise is the leader's fraud: the
//!   member reports it ([`AtomixEvent::Fraud`], with the entry's index and transaction) and from
//!   then on applies and signs nothing of this leader's.
//!
//! **Succession.** Every honest member applies the same stream, so every one stops at the same
//! fraudulent entry, holding the same prefix. The next roster member (in roster order, skipping
//! convicted ones) leads from there: it turns into a co-signed [`ShardNode`] over its own
//! replica and journal, the others follow it from the same index, and each member tells the
//! clients ([`AtomixMsg::Convicted`]). Nothing the convicted leader did after the fraud is lost
//! to anyone: its proofs needed the honest members' signatures and its acknowledged ends their
//! replication ([`super::cosigning`]), both only for entries before the fraud.
//!
//! Limits (issue 19): the successor must itself reach the fraudulent entry (the convicted
//! leader keeps serving its journal; one that stops would leave a lagging successor to fetch the
//! prefix from the other members, not built), and a conviction is not stored: a member
//! restarted after one follows the convicted leader again until it meets the fraud again.
//!
//! What it keeps on disk (its driver stores [`CosignerNode::take_journal`]): the entries it
//! applied, so a restart replays them onto the genesis and asks the leader for the rest.

use iosv_engine::cosi::schnorr::protocol::{Challenge, Nonce, commit, respond};
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use std::collections::BTreeSet;

use iosv_engine::tx::TxId;
use rand_chacha::ChaCha20Rng;

use super::cosigning::{CosignMsg, Cosigning, MAX_BATCH_TXIDS, MAX_ENTRIES_PER_MSG};
use super::journal::{JournalEntry, ReplayError, apply_entry};
use super::node::{AtomixEvent, AtomixMsg, Fx};
use super::node::{AtomixTiming, ShardNode};
use super::proof::Directory;
use super::shard::AtomixShard;
use super::statement::BatchHeader;
use crate::node::{Dest, NodeId, Time};

/// Who a member may hand the lead to, and who must hear of it.
#[derive(Clone, Debug)]
pub struct Succession {
    /// The node of each roster member, in roster order (member 0 leads first).
    pub roster_nodes: Vec<NodeId>,
    /// The clients told of a conviction.
    pub clients: Vec<NodeId>,
    /// The shard's timing and round timeout, for when this member leads.
    pub timing: AtomixTiming,
    pub round_timeout: Time,
}

/// An announcement waiting for entries the member does not hold yet.
struct Announced {
    round: u64,
    header: BatchHeader,
    txids: Vec<TxId>,
    journal_len: u64,
}

/// A normal-league member of a co-signed shard (see the module documentation).
pub struct CosignerNode {
    id: NodeId,
    leader: NodeId,
    index: usize,
    key: MemberKey,
    roster: Roster,
    replica: AtomixShard,
    dir: Directory,
    applied: u64,
    journal: Option<Vec<JournalEntry>>,
    waiting: Option<Announced>,
    /// The nonce of the member's latest commitment: its round and the signed message.
    nonce: Option<(u64, Nonce, Vec<u8>)>,
    fraud: Option<String>,
    /// The end the member last asked the leader to send entries after.
    asked: Option<u64>,
    succession: Succession,
    /// Every entry applied, the journal this member leads from if it must.
    log: Vec<JournalEntry>,
    /// Roster members convicted of fraud.
    convicted: BTreeSet<usize>,
    /// This member is the shard's leader now ([`CosignerNode::lead`]).
    promoted: bool,
    rng: ChaCha20Rng,
    rng_seed: [u8; 32],
    incarnation: u64,
}

impl CosignerNode {
    /// Node `id`, roster member `index` (holding `key`) of a shard led by roster member 0,
    /// with its replica `replica` after the entries `log` of the leader's journal.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: NodeId,
        index: usize,
        key: MemberKey,
        replica: AtomixShard,
        log: Vec<JournalEntry>,
        dir: Directory,
        succession: Succession,
        rng_seed: [u8; 32],
        incarnation: u64,
    ) -> Result<CosignerNode, String> {
        let roster = replica.info().roster.clone();
        if roster.public_key(index) != Some(key.public_key()) {
            return Err(format!("the key is not roster member {index}'s"));
        }
        if succession.roster_nodes.len() != roster.len() || succession.roster_nodes[index] != id {
            return Err(format!(
                "node {id} is not roster member {index} among nodes {:?}",
                succession.roster_nodes
            ));
        }
        Ok(CosignerNode {
            id,
            leader: succession.roster_nodes[0],
            index,
            key,
            roster,
            replica,
            dir,
            applied: log.len() as u64,
            journal: None,
            waiting: None,
            nonce: None,
            fraud: None,
            asked: None,
            succession,
            log,
            convicted: BTreeSet::new(),
            promoted: false,
            rng: crate::node::incarnation_rng(
                crate::domain::ATOMIX_NONCE_RNG,
                &rng_seed,
                incarnation,
            ),
            rng_seed,
            incarnation,
        })
    }

    /// The node, keeping the entries it applies for a driver that stores them.
    pub fn journaled(mut self) -> CosignerNode {
        self.journal = Some(Vec::new());
        self
    }

    /// The entries applied since the last call (empty when the node keeps none).
    pub fn take_journal(&mut self) -> Vec<JournalEntry> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The member's replica of the shard.
    pub fn replica(&self) -> &AtomixShard {
        &self.replica
    }

    /// The replica, the node ended (to read its final state).
    pub fn into_replica(self) -> AtomixShard {
        self.replica
    }

    /// How many of the leader's entries the member applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The fraud the member found, if any.
    pub fn fraud(&self) -> Option<&str> {
        self.fraud.as_deref()
    }

    /// Asks the leader for the entries after the member's end — unless it already asked from
    /// this very end and `again` is false: a member far behind gets a live message per entry
    /// the leader makes, and answering each with a request would have the leader resend the
    /// same entries over and over. A new announcement (one per round) asks again, in case the
    /// answer was lost.
    fn behind(&mut self, fx: &mut Fx, again: bool) {
        if !again && self.asked == Some(self.applied) {
            return;
        }
        self.asked = Some(self.applied);
        fx.send(
            Dest::To(self.leader),
            AtomixMsg::Cosign(CosignMsg::Behind {
                applied: self.applied,
            }),
        );
    }

    pub(super) fn on_message(&mut self, from: NodeId, msg: CosignMsg, fx: &mut Fx) {
        if from != self.leader {
            super::node::refused_reason(
                fx,
                self.id,
                format!("co-signing message from node {from}, not the leader"),
            );
            return;
        }
        if self.fraud.is_some() {
            return;
        }
        match msg {
            CosignMsg::Entries {
                from,
                entries,
                leader_len,
            } => self.on_entries(from, &entries, leader_len, fx),
            CosignMsg::Announce {
                round,
                header,
                txids,
                journal_len,
            } => {
                if txids.len() > MAX_BATCH_TXIDS {
                    super::node::refused_reason(
                        fx,
                        self.id,
                        format!("announcement of {} txids", txids.len()),
                    );
                    return;
                }
                self.waiting = Some(Announced {
                    round,
                    header,
                    txids,
                    journal_len,
                });
                self.try_commit(fx, true);
            }
            CosignMsg::Challenge { round, challenge } => self.on_challenge(round, &challenge, fx),
            CosignMsg::Behind { .. }
            | CosignMsg::Applied { .. }
            | CosignMsg::Commit { .. }
            | CosignMsg::Respond { .. } => {
                super::node::refused_reason(
                    fx,
                    self.id,
                    "the leader sent a member's message".into(),
                );
            }
        }
    }

    fn on_entries(&mut self, from: u64, entries: &[JournalEntry], leader_len: u64, fx: &mut Fx) {
        if entries.len() > MAX_ENTRIES_PER_MSG {
            super::node::refused_reason(
                fx,
                self.id,
                format!("{} entries in one message", entries.len()),
            );
            return;
        }
        if from > self.applied {
            self.behind(fx, false);
            return;
        }
        let before = self.applied;
        let skip = usize::try_from(self.applied - from).unwrap_or(usize::MAX);
        for entry in entries.iter().skip(skip) {
            let index = usize::try_from(self.applied).unwrap_or(usize::MAX);
            match apply_entry(&mut self.replica, index, entry, &self.dir) {
                Ok(()) => {
                    self.replica.clear_queue();
                    self.applied += 1;
                    self.log.push(entry.clone());
                    if let Some(journal) = &mut self.journal {
                        journal.push(entry.clone());
                    }
                }
                Err(e) => {
                    self.convict(&e, fx);
                    return;
                }
            }
        }
        if self.applied > before {
            fx.send(
                Dest::To(self.leader),
                AtomixMsg::Cosign(CosignMsg::Applied {
                    applied: self.applied,
                }),
            );
        }
        if self.applied < leader_len && from + entries.len() as u64 == self.applied {
            // Catching up: the rest, right after this part.
            self.behind(fx, false);
        }
        self.try_commit(fx, false);
    }

    /// The leader's entry refused or decided otherwise: the leader is convicted, the next
    /// member in roster order leads, the clients are told.
    fn convict(&mut self, e: &ReplayError, fx: &mut Fx) {
        let txid = match e {
            ReplayError::Diverged { txid, .. } => Some(*txid),
            ReplayError::Refused { .. } => None,
        };
        let nodes = &self.succession.roster_nodes;
        let convicted = nodes.iter().position(|&n| n == self.leader);
        self.convicted.extend(convicted);
        let next =
            convicted.and_then(|c| (c + 1..nodes.len()).find(|i| !self.convicted.contains(i)));
        let successor = next.map(|i| nodes[i]);
        fx.output(AtomixEvent::Fraud {
            node: self.id,
            leader: self.leader,
            index: self.applied,
            txid,
            reason: e.to_string(),
            successor,
        });
        self.waiting = None;
        self.nonce = None;
        let Some(successor) = successor else {
            self.fraud = Some(e.to_string());
            return;
        };
        for &client in &self.succession.clients {
            fx.send(
                Dest::To(client),
                AtomixMsg::Convicted {
                    shard: self.replica.id(),
                    leader: self.leader,
                    successor,
                },
            );
        }
        self.leader = successor;
        self.asked = None;
        self.promoted = successor == self.id;
        if !self.promoted {
            fx.send(
                Dest::To(successor),
                AtomixMsg::Cosign(CosignMsg::Applied {
                    applied: self.applied,
                }),
            );
        }
    }

    /// Whether this member must lead its shard now.
    pub fn promoted(&self) -> bool {
        self.promoted
    }

    /// This member as its shard's leader: a co-signed [`ShardNode`] over its replica and the
    /// journal it applied, leaving out the convicted members, under its own node id.
    pub fn lead(&mut self) -> Result<ShardNode, String> {
        let replica = self.replica.restarted().map_err(|e| e.to_string())?;
        let policy = replica.info().policy;
        let cosigning = Cosigning::new(
            self.succession.roster_nodes.clone(),
            self.index,
            self.key.clone(),
            self.roster.clone(),
            policy,
            self.log.clone(),
            self.succession.round_timeout,
        )?
        .excluding(self.convicted.iter().copied());
        let node = ShardNode::incarnation_of(
            replica,
            self.dir.clone(),
            self.succession.timing,
            self.rng_seed,
            self.incarnation,
        )
        .with_node_id(self.id)
        .cosigned(cosigning);
        Ok(match self.journal.take() {
            Some(pending) => node.with_pending_journal(pending),
            None => node,
        })
    }

    /// Commits to the waiting announcement once every entry it needs is applied (`announced`:
    /// it just came, and the member asks again for what it lacks).
    fn try_commit(&mut self, fx: &mut Fx, announced: bool) {
        let Some(waiting) = &self.waiting else {
            return;
        };
        if self.applied < waiting.journal_len {
            self.behind(fx, announced);
            return;
        }
        let announced = self.waiting.take().expect("checked above");
        let own = self
            .replica
            .batch_of(&announced.txids, announced.header.seq)
            .map(|(_, header)| header);
        if own != Some(announced.header) {
            super::node::refused_reason(
                fx,
                self.id,
                format!(
                    "batch {} as announced differs from this member's own records",
                    announced.header.seq
                ),
            );
            return;
        }
        let msg = announced.header.signing_bytes();
        match commit(&self.roster, self.index, &self.key, &msg, &mut self.rng) {
            Ok((nonce, commitment)) => {
                self.nonce = Some((announced.round, nonce, msg));
                fx.send(
                    Dest::To(self.leader),
                    AtomixMsg::Cosign(CosignMsg::Commit {
                        round: announced.round,
                        commitment: commitment.to_bytes(),
                    }),
                );
            }
            Err(e) => super::node::refused_reason(fx, self.id, format!("commitment: {e}")),
        }
    }

    fn on_challenge(&mut self, round: u64, bytes: &[u8], fx: &mut Fx) {
        if self.nonce.as_ref().is_none_or(|(r, _, _)| *r != round) {
            return;
        }
        let (_, nonce, msg) = self.nonce.take().expect("checked above");
        let answered = Challenge::decode(&self.roster, bytes)
            .and_then(|ch| respond(&self.roster, &self.key, nonce, &ch, &msg));
        match answered {
            Ok(response) => fx.send(
                Dest::To(self.leader),
                AtomixMsg::Cosign(CosignMsg::Respond {
                    round,
                    response: response.to_bytes(),
                }),
            ),
            Err(e) => super::node::refused_reason(fx, self.id, format!("challenge: {e}")),
        }
    }

    /// The member as a restart finds it: its replica and applied entries kept, the round it
    /// was in forgotten (the leader starts a new one), a new nonce stream.
    pub(super) fn restart(&self) -> CosignerNode {
        let incarnation = self.incarnation + 1;
        CosignerNode {
            id: self.id,
            leader: self.leader,
            index: self.index,
            key: self.key.clone(),
            roster: self.roster.clone(),
            replica: self
                .replica
                .restarted()
                .expect("a ledger rebuilds from its own entries"),
            dir: self.dir.clone(),
            applied: self.applied,
            journal: self.journal.as_ref().map(|_| Vec::new()),
            waiting: None,
            nonce: None,
            fraud: self.fraud.clone(),
            asked: None,
            succession: self.succession.clone(),
            log: self.log.clone(),
            convicted: self.convicted.clone(),
            promoted: false,
            rng: crate::node::incarnation_rng(
                crate::domain::ATOMIX_NONCE_RNG,
                &self.rng_seed,
                incarnation,
            ),
            rng_seed: self.rng_seed,
            incarnation,
        }
    }
}
