//! A shard's validators as sans-I/O [`Node`]s: a believable validator keeps its mempool, cuts
//! its block, checks the block's signatures and signs the header; a normal validator audits the
//! optimistic blocks it receives (its own VRF sample, or every signature in single-league mode).
//! The shard's replica (the state every honest validator applies alike, see the parent module)
//! is the driver: it hands clients' transactions to mempools, applies the cut blocks and asks
//! their producers to propose them; [`LeagueNet`] runs the league on the one simulator.
//!
//! Invariants:
//! - a producer's block is sent, with its signed header, to every auditor of the league by
//!   message: what an auditor checks is what it received, under the league's links (latency,
//!   jitter, loss, duplication) and crashes;
//! - an auditor's verdict depends only on its own keys, the header it received and the block,
//!   so verdicts are the same whichever thread or order computes them;
//! - the mempool and the count of blocks proposed are durable (a restart keeps them): a crashed
//!   producer's accepted transactions are not lost, and an equivocation fault fires once;
//! - the only clock a validator reads is a CPU stopwatch whose reading it reports for the
//!   demo's timing breakdown; no decision depends on it, and traces leave it out.

mod net;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use iosv_engine::fraud::SignedHeader;
use iosv_engine::sampling::{SamplingSeed, revalidate_signatures, select};
use iosv_engine::sig::Verifier;
use iosv_engine::tx::{BlockHeader, Transaction, TxId, verify_tx_signatures};
use serde_json::json;

pub(super) use net::{Cut, LeagueNet, Verdict};

use super::batch::{Batch, Pending};
use super::member::Member;
use crate::demo::stats::Stopwatch;
use crate::demo::workload::Kind;
use crate::node::{Dest, Effects, Node, NodeId, Time, Traceable};

/// Signatures per batch verification. A batch holding an invalid signature is bisected, which
/// costs about three times the batch; smaller batches bound what each forged signature costs an
/// honest verifier, larger ones verify faster per signature.
const VERIFY_CHUNK: usize = 4_096;

/// Verifies every signature of `txs` with `verifier` (through the engine's one transaction
/// signature check); per transaction, whether all verified, and the signatures checked.
pub(super) fn verify_txs(
    verifier: &Verifier,
    txs: &[&Transaction],
    txids: &[TxId],
) -> (Vec<bool>, u64) {
    let verdicts = verify_tx_signatures(txs.iter().copied().zip(txids), |refs| {
        refs.chunks(VERIFY_CHUNK)
            .flat_map(|c| verifier.verify_batch(c))
            .collect()
    });
    (verdicts.per_tx(), verdicts.checked() as u64)
}

/// What a validator does wrong, when the demo's faults say so.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Misbehaviour {
    /// Lets its colluding clients' forged transactions into its blocks unchecked.
    pub(super) smuggles: bool,
    /// Signs a second header for its block of this index (counted from 0).
    pub(super) equivocates_at: Option<u64>,
}

/// A message between validators.
#[derive(Clone)]
pub(super) enum Msg {
    /// An optimistic block for the receiver's audit: the header its producer signed and the
    /// block's transactions; `full` when every signature is checked (single league).
    Block {
        signed: SignedHeader,
        body: Arc<Batch>,
        full: bool,
    },
}

impl Traceable for Msg {
    fn trace(&self) -> serde_json::Value {
        match self {
            Msg::Block { signed, body, full } => json!({
                "block": hex::encode(signed.header.hash()),
                "height": signed.header.height,
                "txs": body.len(),
                "full": full,
            }),
        }
    }
}

/// Validators set no timers: a round's steps are the driver's inputs and the league's messages.
#[derive(Clone)]
pub(super) enum Timer {}

impl Traceable for Timer {
    fn trace(&self) -> serde_json::Value {
        match *self {}
    }
}

/// What a validator reports to the driver.
#[derive(Clone)]
pub(super) enum Output {
    /// A producer's block of the round: the transactions it cut from its mempool and, per
    /// transaction, whether its signatures verified (or were let through unchecked).
    Cut(Cut),
    /// A producer signed the header of its block and sent it to the auditors.
    Proposed(SignedHeader),
    /// An auditor's verdict on a block it received.
    Verdict(Verdict),
    /// A producer's mempool, handed over when it leaves the producers.
    Drained(Vec<Pending>),
}

impl Traceable for Output {
    fn trace(&self) -> serde_json::Value {
        match self {
            Output::Cut(Cut { batch, keep, .. }) => json!({
                "cut": batch.len(),
                "kept": keep.iter().filter(|k| **k).count(),
            }),
            Output::Proposed(signed) => json!({"proposed": hex::encode(signed.header.hash())}),
            Output::Verdict(v) => json!({
                "verdict": hex::encode(v.signed.header.hash()),
                "sampled": v.sampled_txs,
                "found": v.found,
            }),
            Output::Drained(items) => json!({"drained": items.len()}),
        }
    }
}

type Fx = Effects<Msg, Timer, Output>;

/// One validator of a shard.
pub(super) struct Validator {
    id: NodeId,
    member: Member,
    /// Its league's verifier (shared with the league's other members, as their key cache).
    verifier: Verifier,
    sampling_probability: f64,
    misbehaviour: Misbehaviour,
    mempool: VecDeque<Pending>,
    proposed: u64,
}

impl Validator {
    pub(super) fn new(
        id: NodeId,
        seed: [u8; 32],
        verifier: Verifier,
        sampling_probability: f64,
        misbehaviour: Misbehaviour,
    ) -> Validator {
        Validator {
            id,
            member: Member::new(seed),
            verifier,
            sampling_probability,
            misbehaviour,
            mempool: VecDeque::new(),
            proposed: 0,
        }
    }

    pub(super) fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Clients' transactions into the mempool.
    fn submit(&mut self, items: Vec<Pending>) {
        self.mempool.extend(items);
    }

    /// Cuts a block of at most `max_txs` (oldest first) and checks its signatures; reports
    /// nothing when the mempool is empty.
    fn cut(&mut self, max_txs: usize, fx: &mut Fx) {
        let take = self.mempool.len().min(max_txs);
        if take == 0 {
            return;
        }
        let t = Stopwatch::start();
        let batch = Batch::from_pending(self.mempool.drain(..take));
        let smuggling = self.misbehaviour.smuggles;
        let checked: Vec<usize> = (0..batch.len())
            .filter(|&i| !(smuggling && batch.kinds[i] == Kind::Invalid))
            .collect();
        let txs: Vec<&Transaction> = checked.iter().map(|&i| &batch.txs[i]).collect();
        let txids: Vec<TxId> = checked.iter().map(|&i| batch.txids[i]).collect();
        let (verdicts, sigs) = verify_txs(&self.verifier, &txs, &txids);
        let mut keep = vec![true; batch.len()];
        for (&i, &ok) in checked.iter().zip(&verdicts) {
            keep[i] = ok;
        }
        fx.output(Output::Cut(Cut {
            batch,
            keep,
            sigs,
            cpu: t.elapsed(),
        }));
    }

    /// Hands its whole mempool over (it leaves the producers).
    fn drain(&mut self, fx: &mut Fx) {
        fx.output(Output::Drained(self.mempool.drain(..).collect()));
    }

    /// Signs `header` (the replica applied the block and computed its roots) and sends the
    /// block to `auditors`. An equivocating producer signs a second header for the same height
    /// and sends it to the odd-numbered auditors.
    fn propose(
        &mut self,
        header: BlockHeader,
        body: &Arc<Batch>,
        auditors: &[NodeId],
        full: bool,
        fx: &mut Fx,
    ) {
        let index = self.proposed;
        self.proposed += 1;
        let signed = SignedHeader::sign(header, &self.member.key);
        let twin = (self.misbehaviour.equivocates_at == Some(index)).then(|| {
            let mut other = signed.header.clone();
            other.timestamp_ms += 1;
            SignedHeader::sign(other, &self.member.key)
        });
        for (k, &to) in auditors.iter().enumerate() {
            let header = match &twin {
                Some(twin) if k % 2 == 1 => twin.clone(),
                _ => signed.clone(),
            };
            fx.send(
                Dest::To(to),
                Msg::Block {
                    signed: header,
                    body: Arc::clone(body),
                    full,
                },
            );
        }
        fx.output(Output::Proposed(signed));
    }

    /// Audits a block received: the VRF sample drawn from its own key and the header (every
    /// transaction when `full`), re-verified through the engine's re-validation. A block whose
    /// header signature fails is no one's block: it gets no verdict.
    fn audit(&mut self, signed: SignedHeader, body: &Batch, full: bool, fx: &mut Fx) {
        let t = Stopwatch::start();
        if !signed.verify() {
            return;
        }
        let sampled: Vec<usize> = if full {
            (0..body.len()).collect()
        } else {
            let (seed, _proof) = SamplingSeed::derive(&self.member.vrf, &signed.header.hash());
            select(&seed, body.len(), self.sampling_probability)
        };
        let found: Vec<usize> =
            revalidate_signatures(&body.txs, &body.txids, &sampled, &self.verifier)
                .into_iter()
                .map(|f| f.index)
                .collect();
        let sampled_sigs = sampled
            .iter()
            .map(|&i| body.txs[i].inputs.len() as u64)
            .sum();
        fx.output(Output::Verdict(Verdict {
            by: self.id,
            signed,
            sampled_txs: sampled.len() as u64,
            sampled_sigs,
            found,
            cpu: t.elapsed(),
        }));
    }
}

impl Node for Validator {
    type Msg = Msg;
    type Timer = Timer;
    type Output = Output;

    fn id(&self) -> NodeId {
        self.id
    }

    fn on_start(&mut self, _now: Time, _fx: &mut Fx) {}

    fn on_message(&mut self, _now: Time, _from: NodeId, msg: Msg, fx: &mut Fx) {
        match msg {
            Msg::Block { signed, body, full } => self.audit(signed, &body, full, fx),
        }
    }

    fn on_timer(&mut self, _now: Time, timer: Timer, _fx: &mut Fx) {
        match timer {}
    }

    fn restart(&self) -> Validator {
        Validator {
            id: self.id,
            member: Member::new(self.member.seed),
            verifier: self.verifier.clone(),
            sampling_probability: self.sampling_probability,
            misbehaviour: self.misbehaviour,
            mempool: self.mempool.clone(),
            proposed: self.proposed,
        }
    }
}
