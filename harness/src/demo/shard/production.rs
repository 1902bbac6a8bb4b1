//! Believable-first production: arrivals into the producers' mempools, a producer's block (its
//! own signature checks, the UTXO rules on the shared state, the header with its real proposer
//! and state roots), acceptance into the queue for finality.

use std::sync::Mutex;

use iosv_engine::fraud::SignedHeader;
use iosv_engine::sig::Verifier;
use iosv_engine::tx::{
    BlockHeader, HEADER_VERSION, Transaction, TxId, tx_root_with_txids, verify_tx_signatures,
};
use iosv_engine::utxo::BlockUndo;
use rand::Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::time::Duration;

use super::batch::{Audited, Batch, Pending, Produced};
use super::{DemoShard, VERIFY_CHUNK};
use crate::demo::stats::Stopwatch;
use crate::demo::workload::Kind;
use crate::pob::{LeagueMode, Reputation};

impl DemoShard {
    /// Hands the round's arrivals to the producers' mempools (in the shard's parallel round).
    pub(super) fn take_inbox(&mut self) {
        let producers = self.producers();
        let colluding = self.fraudulent.filter(|f| producers.contains(f));
        for arrival in std::mem::take(&mut self.inbox) {
            let to = match (arrival.kind, colluding) {
                (Kind::Invalid, Some(f)) => f,
                (Kind::Invalid, None) if !self.forgers_persist => {
                    // The colluding validator is gone: its clients have no one to let forgeries
                    // through.
                    self.stats.forgeries_withheld += 1;
                    continue;
                }
                _ => producers[self.rng.random_range(0..producers.len())],
            };
            self.mempools
                .entry(to)
                .or_default()
                .push_back(arrival.into());
        }
    }

    /// Verifies every signature of `txs` with `verifier`; per transaction, whether all verified.
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

    /// Undoes the newest block (set and tree: nothing has changed the state since).
    pub(super) fn undo(&mut self, undo: &BlockUndo) {
        self.state_mut()
            .undo_block(undo)
            .expect("the newest block undoes");
    }

    /// Applies `batch` to the replica (set and tree together) and keeps the transactions that
    /// pass the UTXO rules; returns the undo record.
    pub(super) fn apply(&mut self, batch: &mut Batch) -> BlockUndo {
        let t = Stopwatch::start();
        let (verdicts, undo) = self
            .state_mut()
            .apply_valid_with_txids(&batch.txs, &batch.txids);
        let keep: Vec<bool> = verdicts.iter().map(Result::is_ok).collect();
        self.stats.dropped_by_state += keep.iter().filter(|k| !**k).count() as u64;
        batch.retain(&keep);
        self.stats.timing.state += t.elapsed();
        undo
    }

    /// The header of `block` as producer `v` proposes it.
    pub(super) fn header(
        &mut self,
        v: usize,
        block: &Batch,
        pre_root: [u8; 32],
        now_us: u64,
    ) -> BlockHeader {
        let t = Stopwatch::start();
        let state_root = self.state_mut().root();
        let pool = self.state_mut().take_tree_task_cpu();
        self.stats.timing.state_tree += t.elapsed() + pool;
        let t = Stopwatch::start();
        let tx_root = tx_root_with_txids(&block.txs, &block.txids);
        self.stats.timing.headers += t.elapsed();
        BlockHeader {
            version: HEADER_VERSION,
            shard: self.id,
            height: self.height,
            prev_hash: self.prev_hash,
            tx_root,
            tx_count: u32::try_from(block.len()).expect("blocks hold far fewer than 2^32"),
            pre_state_root: pre_root,
            state_root,
            timestamp_ms: now_us / 1_000,
            proposer: self.members[v].id,
        }
    }

    /// Each producer of `order` cuts a block from its mempool (at most `max_block_txs`, oldest
    /// first); producers with empty mempools cut nothing.
    pub(super) fn cut_blocks(&mut self, order: &[usize]) -> Vec<(usize, Batch)> {
        order
            .iter()
            .filter_map(|&v| {
                let pool = self.mempools.get_mut(&v)?;
                let take = pool.len().min(self.max_block_txs);
                (take > 0).then(|| (v, Batch::from_pending(pool.drain(..take))))
            })
            .collect()
    }

    /// Every producer checks the signatures of the block it cut, all of them at once on the
    /// pool (each check is independent of the state and of the others, so this is the part of
    /// a round that spreads over cores; what follows is applied in order). A producer keeps what
    /// verified; the fraudulent one lets its forgeries through unchecked. In single-league mode
    /// every member checks every block in full.
    pub(super) fn verify_cut(&mut self, cut: Vec<(usize, Batch)>) -> Vec<(usize, Batch)> {
        let single = self.mode == LeagueMode::SingleLeague;
        let rounds = if single { self.normal.len() } else { 1 };
        let fraudulent = self.fraudulent;
        let verifier = &self.believable_verifier;
        let checked: Vec<(usize, Batch, Vec<bool>, u64, Duration)> = cut
            .into_par_iter()
            .map(|(v, batch)| {
                let t = Stopwatch::start();
                let smuggling = fraudulent == Some(v);
                let checked: Vec<usize> = (0..batch.len())
                    .filter(|&i| !(smuggling && batch.kinds[i] == Kind::Invalid))
                    .collect();
                let txs: Vec<&Transaction> = checked.iter().map(|&i| &batch.txs[i]).collect();
                let txids: Vec<TxId> = checked.iter().map(|&i| batch.txids[i]).collect();
                let (mut verdicts, mut sigs) = (Vec::new(), 0);
                for _ in 0..rounds {
                    let (ok, n) = Self::verify_txs(verifier, &txs, &txids);
                    verdicts = ok;
                    sigs += n;
                }
                let mut keep = vec![true; batch.len()];
                for (&i, &ok) in checked.iter().zip(&verdicts) {
                    keep[i] = ok;
                }
                (v, batch, keep, sigs, t.elapsed())
            })
            .collect();
        let mut out = Vec::with_capacity(checked.len());
        for (v, mut batch, keep, sigs, cpu) in checked {
            if single {
                self.stats.sig_checks_single_league += sigs;
            } else {
                self.stats.sig_checks_believable += sigs;
            }
            self.stats.dropped_invalid += keep.iter().filter(|k| !**k).count() as u64;
            batch.retain(&keep);
            self.stats.frauds_injected +=
                batch.kinds.iter().filter(|k| **k == Kind::Invalid).count() as u64;
            self.stats.timing.verify_believable += cpu;
            out.push((v, batch));
        }
        out
    }

    /// Producer `v` makes its block of `batch` (signatures checked by [`DemoShard::verify_cut`]):
    /// applies it to the replica, signs the header; the normal league audits it.
    pub(super) fn produce(
        &mut self,
        v: usize,
        mut batch: Batch,
        now: &dyn Fn() -> u64,
        reputation: &Mutex<Reputation>,
    ) {
        let single = self.mode == LeagueMode::SingleLeague;
        if batch.is_empty() {
            return;
        }

        // State: apply to the replica, header over the result.
        let t = Stopwatch::start();
        let pre_root = self.state_mut().root();
        let pool = self.state_mut().take_tree_task_cpu();
        self.stats.timing.state_tree += t.elapsed() + pool;
        let undo = self.apply(&mut batch);
        if batch.is_empty() {
            return;
        }
        let header = self.header(v, &batch, pre_root, now());
        let t = Stopwatch::start();
        let signed = SignedHeader::sign(header, &self.members[v].key);
        self.stats.timing.headers += t.elapsed();
        let opt_at = now();
        let count = self.blocks_by.entry(v).or_insert(0);
        let index = *count;
        *count += 1;
        if let Ok(mut rep) = reputation.lock() {
            let _ = rep.block_validated(&self.members[v].id);
        }

        // Equivocation: a second header for the same height, shown to half the league.
        if self.equivocate == Some((v, index)) {
            let mut other = signed.header.clone();
            other.timestamp_ms += 1;
            let twin = SignedHeader::sign(other, &self.members[v].key);
            self.equivocation(v, &signed, &twin, batch, &undo, reputation);
            return;
        }
        let findings = if single {
            Vec::new()
        } else {
            self.audit(&signed, &batch, reputation)
        };
        if findings.is_empty() {
            self.accept(&signed, &batch, opt_at, &undo, Vec::new());
            self.history.push(Produced {
                txs: batch.txs,
                spent: undo.spent().to_vec(),
            });
            self.producer_of.push(v);
        } else {
            self.convict(v, &signed, batch, &undo, &findings, now, reputation);
        }
    }

    /// The block passed its audit (or was re-made without its invalid transactions): it waits
    /// for the next finality height.
    pub(super) fn accept(
        &mut self,
        signed: &SignedHeader,
        block: &Batch,
        opt_at: u64,
        undo: &BlockUndo,
        excluded: Vec<usize>,
    ) {
        let header_hash = signed.header.hash();
        let mut h = Sha256::new();
        h.update(crate::domain::DEMO_FINALIZED_BLOCK);
        h.update(header_hash);
        for i in &excluded {
            h.update((*i as u64).to_le_bytes());
        }
        h.update(self.state_mut().root());
        for &arrived in &block.arrived {
            self.stats.record_optimistic(arrived, opt_at);
        }
        let spent_value: u64 = undo.spent().iter().map(|(_, o)| o.amount).sum();
        let created_value: u64 = block
            .txs
            .iter()
            .flat_map(|tx| tx.outputs.iter().map(|o| o.amount))
            .sum();
        // Demo transactions never spend outputs created in their own block, so every input is
        // in the undo record and inputs minus outputs is the fee.
        debug_assert_eq!(
            undo.spent().len(),
            block.txs.iter().map(|tx| tx.inputs.len()).sum::<usize>()
        );
        self.stats.fees += spent_value.saturating_sub(created_value);
        self.stats.blocks += 1;
        self.audited.push(Audited {
            digest: h.finalize().into(),
            arrivals: block.arrived.clone(),
            spent: undo.spent().iter().map(|(o, _)| *o).collect(),
        });
        self.height += 1;
        self.prev_hash = header_hash;
    }

    /// Hands a discarded or convicted producer's work to the live producers.
    pub(super) fn requeue(&mut self, txs: Vec<Pending>) {
        let producers = self.producers();
        for p in txs {
            let to = producers[self.rng.random_range(0..producers.len())];
            self.mempools.entry(to).or_default().push_back(p);
        }
    }
}
