//! The normal league's audit of an optimistic block, as its members' verdicts arrive: each
//! normal validator (a node of the shard's [`LeagueNet`](super::validator::LeagueNet)) derived its
//! own sampling seed from its VRF key and the header it received, selected transactions with
//! probability `p` and re-verified their signatures through the engine's re-validation; in
//! single-league mode every other member checked every signature. The UTXO rules need no re-check
//! here: the shared replica applied the block by the same deterministic rules every honest
//! validator uses (see the parent module).

use std::sync::Mutex;

use super::DemoShard;
use super::validator::Verdict;
use crate::pob::{Contribution, Reputation};

impl DemoShard {
    /// Folds the verdicts that arrived (in auditor order, so the outcome does not depend on the
    /// schedule): counts their work, rewards each clean sample, and returns the indices found
    /// invalid by anyone.
    pub(super) fn fold_verdicts(
        &mut self,
        verdicts: &[Verdict],
        single: bool,
        reputation: &Mutex<Reputation>,
    ) -> Vec<usize> {
        let mut findings = Vec::new();
        for verdict in verdicts {
            if single {
                self.stats.sig_checks_single_league += verdict.sampled_sigs;
                self.stats.timing.verify_believable += verdict.cpu;
            } else {
                self.stats.timing.audit += verdict.cpu;
                self.stats.sig_checks_normal += verdict.sampled_sigs;
                self.stats.sampled_txs += verdict.sampled_txs;
            }
            for &index in &verdict.found {
                if !findings.contains(&index) {
                    findings.push(index);
                }
            }
            if !single
                && verdict.found.is_empty()
                && let Ok(mut rep) = reputation.lock()
            {
                let _ = rep.reward(
                    &self.members[verdict.by as usize].id,
                    Contribution::Sample,
                    &self.policy.servi,
                );
            }
        }
        findings.sort_unstable();
        findings
    }
}
