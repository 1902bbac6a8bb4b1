//! What a caught producer loses: expulsion from the believable league (the shard falls back to one
//! league when none is left), its tokens seized, its block re-checked in full and finalized
//! without the invalid transactions, everything it produced before re-checked, and the victims
//! of forgeries that escaped sampling compensated from the seized tokens (the rest to the
//! treasury). Equivocation (two headers for one height) discards the block and slashes too.

use std::sync::Mutex;

use iosv_engine::fraud::{FraudProof, SignedHeader};
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxOutput};
use iosv_engine::utxo::BlockUndo;

use super::batch::{Batch, Pending};
use super::validator::verify_txs;
use super::{COMPENSATION_DOMAIN, DemoShard, TREASURY};
use crate::demo::stats::Stopwatch;
use crate::pob::{LeagueMode, Reputation};

impl DemoShard {
    /// Removes `v` from the believable league; with none left, the shard runs one league.
    pub(super) fn expel(&mut self, v: usize) {
        self.believable.retain(|&b| b != v);
        if self.believable.is_empty() {
            self.mode = LeagueMode::SingleLeague;
        }
        let pool: Vec<Pending> = self.league.drain(v);
        self.requeue(pool);
    }

    pub(super) fn equivocation(
        &mut self,
        v: usize,
        a: &SignedHeader,
        b: &SignedHeader,
        block: Batch,
        undo: &BlockUndo,
        reputation: &Mutex<Reputation>,
    ) {
        // Even-numbered members hold `a`, odd ones `b`; they gossip the headers they received
        // before auditing, and any member holding both has the evidence.
        self.stats.equivocations_detected += 1;
        self.undo(undo);
        self.stats.discarded_blocks += 1;
        let slashed = reputation
            .lock()
            .map(|mut rep| rep.slash_equivocation(a, b).is_ok())
            .unwrap_or(false);
        if slashed {
            self.stats.slashed.push(hex::encode(self.members[v].id));
            let evidence = a.header.hash();
            let seized = self.seize(v, &evidence);
            self.stats.seized += seized;
            // No one lost anything (neither block is final): the tokens go to the treasury.
            self.compensate(&[], seized, &evidence);
        }
        self.expel(v);
        self.requeue(block.into_pending());
    }

    /// Takes every unlocked token of the convicted validator `v` in this shard.
    pub(super) fn seize(&mut self, v: usize, evidence: &[u8; 32]) -> u64 {
        let id = self.members[v].id;
        match crate::pob::seize_tokens(self.state_mut(), &id, evidence) {
            Ok(amount) => amount,
            Err(e) => {
                self.stats
                    .atomix_errors
                    .push(format!("seizing tokens: {e}"));
                0
            }
        }
    }

    /// A sampled signature failed: prove it, slash the producer, re-check everything it
    /// produced, finalize the block without its invalid transactions, compensate the victims of
    /// any that escaped earlier.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn convict(
        &mut self,
        v: usize,
        signed: &SignedHeader,
        mut block: Batch,
        undo: &BlockUndo,
        findings: &[usize],
        now: &dyn Fn() -> u64,
        reputation: &Mutex<Reputation>,
    ) {
        let t = Stopwatch::start();
        self.stats.frauds_detected_by_sampling += findings.len() as u64;
        // Back to the state before the block: the proof is made against it.
        self.undo(undo);
        let header_hash = signed.header.hash();
        let built = self
            .state_mut()
            .prove_fraud(signed, &block.txs, findings[0]);
        let evidence: Option<FraudProof> = match built {
            Ok(proof) => Some(proof),
            Err(e) => {
                self.stats
                    .atomix_errors
                    .push(format!("building a fraud proof: {e}"));
                None
            }
        };
        if let Some(proof) = &evidence {
            // Every normal validator checks the proof before acting on it.
            let valid = (0..self.normal.len()).all(|_| proof.verify().is_ok());
            self.stats.fraud_proofs_verified += 1;
            if valid && let Ok(mut rep) = reputation.lock() {
                match rep.slash(proof) {
                    Ok(_) => self.stats.slashed.push(hex::encode(self.members[v].id)),
                    Err(e) => self.stats.atomix_errors.push(format!("slashing: {e}")),
                }
            }
            self.stats.fraud_proof_bytes = serde_json::to_vec(proof).map_or(0, |b| b.len());
        }
        let seized = self.seize(v, &header_hash);
        self.stats.seized += seized;
        self.expel(v);

        // Re-check the block in full: every invalid transaction goes, sampled or not.
        let txs: Vec<&Transaction> = block.txs.iter().collect();
        let (verdicts, sigs) = verify_txs(&self.normal_verifier, &txs, &block.txids);
        self.stats.sig_checks_recheck += sigs;
        let excluded: Vec<usize> = (0..verdicts.len()).filter(|&i| !verdicts[i]).collect();
        block.retain(&verdicts);
        self.stats.frauds_excluded += excluded.len() as u64;
        self.stats.frauds_detected_by_recheck +=
            (excluded.len() as u64).saturating_sub(findings.len() as u64);
        let undo = self.apply(&mut block);
        let opt_at = now();
        self.accept(signed, &block, opt_at, &undo, excluded);

        // Re-check everything it produced before: forged transactions that escaped sampling and
        // were finalized cost their victims an input each; they are paid from the seized tokens.
        let mut victims: Vec<([u8; 32], u64)> = Vec::new();
        let mut earlier_sigs = 0;
        for (produced, &by) in self.history.iter().zip(&self.producer_of) {
            if by != v {
                continue;
            }
            let txs: Vec<&Transaction> = produced.txs.iter().collect();
            let txids: Vec<TxId> = produced.txs.iter().map(Transaction::txid).collect();
            let (verdicts, sigs) = verify_txs(&self.normal_verifier, &txs, &txids);
            earlier_sigs += sigs;
            for (tx, ok) in produced.txs.iter().zip(verdicts) {
                if !ok {
                    self.stats.frauds_found_finalized += 1;
                    for input in &tx.inputs {
                        let lost = produced
                            .spent
                            .iter()
                            .find(|(o, _)| *o == input.prev)
                            .map_or(0, |(_, out)| out.amount);
                        victims.push((input.owner, lost));
                    }
                }
            }
        }
        self.stats.sig_checks_recheck += earlier_sigs;
        self.compensate(&victims, seized, &header_hash);
        self.stats.timing.fraud += t.elapsed();
    }

    /// Pays `victims` from `seized` (in order, as far as it goes) and the rest to the treasury,
    /// as new outputs in this shard.
    pub(super) fn compensate(
        &mut self,
        victims: &[([u8; 32], u64)],
        seized: u64,
        evidence: &[u8; 32],
    ) {
        let mut left = seized;
        let mut outputs = Vec::new();
        for &(owner, amount) in victims {
            let paid = amount.min(left);
            if paid > 0 {
                outputs.push(TxOutput {
                    amount: paid,
                    owner,
                });
                left -= paid;
                self.stats.compensated += paid;
            }
        }
        if left > 0 {
            outputs.push(TxOutput {
                amount: left,
                owner: TREASURY,
            });
        }
        for (i, output) in outputs.into_iter().enumerate() {
            let point = self.compensation_point(evidence, i as u32);
            if self.state_mut().insert(point, output).is_err() {
                self.stats
                    .atomix_errors
                    .push("compensation output exists".into());
            }
        }
    }

    pub(super) fn compensation_point(&self, evidence: &[u8; 32], i: u32) -> OutPoint {
        crate::demo::workload::outpoint_in(
            &self.map,
            self.id,
            &[COMPENSATION_DOMAIN, evidence, &i.to_le_bytes()],
        )
    }
}
