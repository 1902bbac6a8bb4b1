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
//! What it keeps on disk (its driver stores [`CosignerNode::take_journal`]): the entries it
//! applied, so a restart replays them onto the genesis and asks the leader for the rest.

use iosv_engine::cosi::schnorr::protocol::{Challenge, Nonce, commit, respond};
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use iosv_engine::tx::TxId;
use rand_chacha::ChaCha20Rng;

use super::cosigning::{CosignMsg, MAX_BATCH_TXIDS, MAX_ENTRIES_PER_MSG};
use super::journal::{JournalEntry, ReplayError, apply_entry};
use super::node::{AtomixEvent, AtomixMsg, Fx};
use super::proof::Directory;
use super::shard::AtomixShard;
use super::statement::BatchHeader;
use crate::node::{Dest, NodeId};

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
    rng: ChaCha20Rng,
    rng_seed: [u8; 32],
    incarnation: u64,
}

impl CosignerNode {
    /// Node `id`, roster member `index` (holding `key`) of the shard whose leader is node
    /// `leader`, with its replica `replica` after `applied` entries of the leader's journal.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: NodeId,
        leader: NodeId,
        index: usize,
        key: MemberKey,
        replica: AtomixShard,
        dir: Directory,
        applied: u64,
        rng_seed: [u8; 32],
        incarnation: u64,
    ) -> Result<CosignerNode, String> {
        let roster = replica.info().roster.clone();
        if roster.public_key(index) != Some(key.public_key()) {
            return Err(format!("the key is not roster member {index}'s"));
        }
        Ok(CosignerNode {
            id,
            leader,
            index,
            key,
            roster,
            replica,
            dir,
            applied,
            journal: None,
            waiting: None,
            nonce: None,
            fraud: None,
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

    fn behind(&self, fx: &mut Fx) {
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
            CosignMsg::Entries { from, entries } => self.on_entries(from, &entries, fx),
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
                self.try_commit(fx);
            }
            CosignMsg::Challenge { round, challenge } => self.on_challenge(round, &challenge, fx),
            CosignMsg::Behind { .. } | CosignMsg::Commit { .. } | CosignMsg::Respond { .. } => {
                super::node::refused_reason(
                    fx,
                    self.id,
                    "the leader sent a member's message".into(),
                );
            }
        }
    }

    fn on_entries(&mut self, from: u64, entries: &[JournalEntry], fx: &mut Fx) {
        if entries.len() > MAX_ENTRIES_PER_MSG {
            super::node::refused_reason(
                fx,
                self.id,
                format!("{} entries in one message", entries.len()),
            );
            return;
        }
        if from > self.applied {
            self.behind(fx);
            return;
        }
        let skip = usize::try_from(self.applied - from).unwrap_or(usize::MAX);
        for entry in entries.iter().skip(skip) {
            let index = usize::try_from(self.applied).unwrap_or(usize::MAX);
            match apply_entry(&mut self.replica, index, entry, &self.dir) {
                Ok(()) => {
                    self.replica.clear_queue();
                    self.applied += 1;
                    if let Some(journal) = &mut self.journal {
                        journal.push(entry.clone());
                    }
                }
                Err(e) => {
                    let txid = match &e {
                        ReplayError::Diverged { txid, .. } => Some(*txid),
                        ReplayError::Refused { .. } => None,
                    };
                    let reason = e.to_string();
                    fx.output(AtomixEvent::Fraud {
                        node: self.id,
                        leader: self.leader,
                        index: self.applied,
                        txid,
                        reason: reason.clone(),
                    });
                    self.fraud = Some(reason);
                    self.waiting = None;
                    self.nonce = None;
                    return;
                }
            }
        }
        self.try_commit(fx);
    }

    /// Commits to the waiting announcement once every entry it needs is applied.
    fn try_commit(&mut self, fx: &mut Fx) {
        let Some(announced) = &self.waiting else {
            return;
        };
        if self.applied < announced.journal_len {
            self.behind(fx);
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
