//! The normal league's audit of an optimistic block: each normal validator derives its own
//! sampling seed from its VRF key and the header, selects transactions with probability `p`, and
//! re-verifies their signatures through the engine's re-validation
//! ([`revalidate_signatures`]). The UTXO rules need no re-check here: the shared replica applied
//! the block by the same deterministic rules every honest validator uses (see the parent module).

use std::sync::Mutex;
use std::time::Duration;

use iosv_engine::fraud::SignedHeader;
use iosv_engine::sampling::{SamplingSeed, revalidate_signatures, select};
use rayon::prelude::*;

use super::DemoShard;
use super::batch::Batch;
use crate::demo::stats::Stopwatch;
use crate::pob::{Contribution, Reputation};

impl DemoShard {
    /// Every normal validator samples the block with its own VRF seed and verifies its sample
    /// (all of them at once on the pool); returns the indices found invalid (by anyone).
    pub(super) fn audit(
        &mut self,
        signed: &SignedHeader,
        block: &Batch,
        reputation: &Mutex<Reputation>,
    ) -> Vec<usize> {
        let header_hash = signed.header.hash();
        let p = self.policy.sampling_probability;
        let verifier = &self.normal_verifier;
        let members = &self.members;
        // Each member's seed and sample on the pool (independent of one another); the verdicts
        // are folded in league order, so the outcome does not depend on the schedule.
        let samples: Vec<(usize, Vec<usize>, Vec<usize>, Duration)> = self
            .normal
            .par_iter()
            .map(|&n| {
                let t = Stopwatch::start();
                let (seed, _proof) = SamplingSeed::derive(&members[n].vrf, &header_hash);
                let sampled = select(&seed, block.len(), p);
                let found = revalidate_signatures(&block.txs, &block.txids, &sampled, verifier);
                let found = found.into_iter().map(|f| f.index).collect();
                (n, sampled, found, t.elapsed())
            })
            .collect();
        let mut findings = Vec::new();
        for (n, sampled, found, cpu) in samples {
            self.stats.timing.audit += cpu;
            self.stats.sig_checks_normal += sampled
                .iter()
                .map(|&i| block.txs[i].inputs.len() as u64)
                .sum::<u64>();
            self.stats.sampled_txs += sampled.len() as u64;
            let clean = found.is_empty();
            for index in found {
                if !findings.contains(&index) {
                    findings.push(index);
                }
            }
            if clean && let Ok(mut rep) = reputation.lock() {
                let _ = rep.reward(
                    &self.members[n].id,
                    Contribution::Sample,
                    &self.policy.servi,
                );
            }
        }
        findings.sort_unstable();
        findings
    }
}
