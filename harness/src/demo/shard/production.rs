//! Believable-first production: arrivals into the producers' mempools, a producer's block (its
//! own signature checks, the UTXO rules on the shared state, the header with its real proposer
//! and state roots), acceptance into the queue for finality.

use std::sync::Mutex;

use iosv_engine::fraud::SignedHeader;
use iosv_engine::tx::{BlockHeader, HEADER_VERSION, tx_root_with_txids};
use iosv_engine::utxo::BlockUndo;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::DemoShard;
use super::batch::{Audited, Batch, Pending, Produced};
use crate::demo::stats::Stopwatch;
use crate::demo::workload::Kind;
use crate::pob::{LeagueMode, Reputation};

impl DemoShard {
    /// Hands the round's arrivals to the producers' mempools (in the shard's parallel round).
    pub(super) fn take_inbox(&mut self) {
        let producers = self.producers();
        let colluding = self.fraudulent.filter(|f| producers.contains(f));
        let mut to_each: Vec<Vec<Pending>> = vec![Vec::new(); producers.len()];
        for arrival in std::mem::take(&mut self.inbox) {
            let k = match (arrival.kind, colluding) {
                (Kind::Invalid, Some(f)) => producers.iter().position(|&p| p == f).unwrap_or(0),
                (Kind::Invalid, None) if !self.forgers_persist => {
                    // The colluding validator is gone: its clients have no one to let forgeries
                    // through.
                    self.stats.forgeries_withheld += 1;
                    continue;
                }
                _ => self.rng.random_range(0..producers.len()),
            };
            to_each[k].push(arrival.into());
        }
        self.submit_each(&producers, to_each);
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
    /// first) and checks its signatures, all of them at once on the pool (each check is
    /// independent of the state and of the others, so this is the part of a round that spreads
    /// over cores; what follows is applied in order). A producer keeps what verified; the
    /// fraudulent one lets its forgeries through unchecked.
    pub(super) fn cut_and_check(&mut self, order: &[usize]) -> Vec<(usize, Batch)> {
        let single = self.mode == LeagueMode::SingleLeague;
        let cuts = self.league.cut(order, self.max_block_txs);
        let mut out = Vec::with_capacity(cuts.len());
        for (v, cut) in cuts {
            let mut batch = cut.batch;
            if single {
                self.stats.sig_checks_single_league += cut.sigs;
            } else {
                self.stats.sig_checks_believable += cut.sigs;
            }
            self.stats.dropped_invalid += cut.keep.iter().filter(|k| !**k).count() as u64;
            batch.retain(&cut.keep);
            self.stats.frauds_injected +=
                batch.kinds.iter().filter(|k| **k == Kind::Invalid).count() as u64;
            self.stats.timing.verify_believable += cut.cpu;
            out.push((v, batch));
        }
        out
    }

    /// Producer `v` makes its block of `batch` (signatures checked by
    /// [`DemoShard::cut_and_check`]): the replica applies it, the producer signs the header and
    /// sends the block to the normal league, whose verdicts decide between acceptance and a
    /// conviction. In single-league mode the league's other members check every signature.
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
        let auditors: Vec<usize> = self
            .normal
            .iter()
            .copied()
            .filter(|&n| !(single && n == v))
            .collect();
        let proposal = match self.league.propose(v, header, batch, &auditors, single) {
            Ok(proposal) => proposal,
            Err(batch) => {
                // The producer is down: its block never left it.
                self.undo(&undo);
                self.requeue(batch.into_pending());
                return;
            }
        };
        self.stats.verdicts_missing += (auditors.len() - proposal.verdicts.len()) as u64;
        let (signed, batch) = (proposal.signed, proposal.body);
        let opt_at = now();
        if let Ok(mut rep) = reputation.lock() {
            let _ = rep.block_validated(&self.members[v].id);
        }

        // Equivocation: auditors received two headers for the same height; holding both is
        // the evidence (they gossip the headers they received before auditing).
        if let Some(twin) = proposal
            .verdicts
            .iter()
            .map(|w| &w.signed)
            .find(|s| **s != signed)
            .cloned()
        {
            self.equivocation(v, &signed, &twin, batch, &undo, reputation);
            return;
        }
        let findings = self.fold_verdicts(&proposal.verdicts, single, reputation);
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
        let mut to_each: Vec<Vec<Pending>> = vec![Vec::new(); producers.len()];
        for p in txs {
            to_each[self.rng.random_range(0..producers.len())].push(p);
        }
        self.submit_each(&producers, to_each);
    }

    /// Hands `to_each[k]` to the mempool of `producers[k]` (those with something to take).
    fn submit_each(&mut self, producers: &[usize], to_each: Vec<Vec<Pending>>) {
        for (&v, items) in producers.iter().zip(to_each) {
            if !items.is_empty() {
                self.league.submit(v, items);
            }
        }
    }
}
