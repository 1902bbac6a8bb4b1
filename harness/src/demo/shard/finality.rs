//! The normal league finalizes a round's audited blocks as one height: ByzCoin CoSi rounds with
//! PBFT as fallback (PBFT alone in single-league mode), with the configured finality faults
//! injected; a finalized height records latencies and the double-spend invariant's spent set.

use std::sync::Mutex;

use super::{DemoShard, FINALITY_DEADLINE};
use crate::demo::config::Fault;
use crate::demo::stats::Stopwatch;
use crate::finality::Proposal;
use crate::node::NodeId;
use crate::pob::{Contribution, Reputation};

impl DemoShard {
    /// The normal league finalizes this round's audited blocks as one height.
    pub(super) fn finalize(&mut self, now: &dyn Fn() -> u64, reputation: &Mutex<Reputation>) {
        if self.audited.is_empty() {
            return;
        }
        let t = Stopwatch::start();
        let height = self.finality_height;
        let n = self.normal.len();
        let leader = (height % n as u64) as usize;
        for fault in &self.faults {
            match *fault {
                Fault::SubLeaderCrash { height: h, .. } if h == height => {
                    self.finality.crash(((leader + 1) % n) as NodeId);
                    self.stats.finality_faults += 1;
                }
                Fault::CommitThenSilent { height: h, .. } if h == height => {
                    self.finality
                        .crash_after_commitment(((leader + 2) % n) as NodeId, height);
                    self.stats.finality_faults += 1;
                }
                Fault::LeaderCrash { height: h, .. } if h == height => {
                    self.finality.crash(leader as NodeId);
                    self.stats.finality_faults += 1;
                }
                _ => {}
            }
        }
        let proposal = Proposal {
            height,
            headers: self.audited.iter().map(|a| a.digest).collect(),
        };
        let (ok, ticks) = self.finality.finalize_next(proposal, FINALITY_DEADLINE);
        self.finality_height += 1;
        self.stats.timing.finality += t.elapsed();
        if !ok {
            self.stats.finality_failures += 1;
            self.audited.clear();
            return;
        }
        if let Some(view) = self
            .finality
            .nodes()
            .filter_map(|node| node.finalized().last())
            .map(|f| f.view)
            .max()
            && view > 0
        {
            self.stats.pbft_heights += 1;
        }
        self.stats.finality_heights += 1;
        self.stats.finality_virtual_ticks += ticks;
        let final_at = now() + (ticks as f64 * self.hop_us) as u64;
        for audited in std::mem::take(&mut self.audited) {
            for arrived in audited.arrivals {
                self.stats.record_final(arrived, final_at);
            }
            for point in audited.spent {
                if !self.spent_final.insert(point) {
                    self.stats.double_spends += 1;
                }
            }
        }
        if let Ok(mut rep) = reputation.lock() {
            for &m in &self.normal {
                let _ = rep.reward(
                    &self.members[m].id,
                    Contribution::Cosignature,
                    &self.policy.servi,
                );
            }
        }
    }
}
