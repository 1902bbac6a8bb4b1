//! The normal league finalizes a round's audited blocks as one height: ByzCoin CoSi rounds with
//! PBFT as fallback (PBFT alone in single-league mode), with the configured finality faults
//! injected; a finalized height records latencies and the double-spend invariant's spent set.

use std::sync::Mutex;

use super::{DemoShard, FINALITY_DEADLINE};
use crate::demo::config::Fault;
use crate::demo::stats::Stopwatch;
use crate::finality::{self, Proposal};
use crate::node::NodeId;
use crate::pob::{Contribution, LeagueMode, Reputation};
use crate::sim::FinalityNet;
use crate::sim::network::LinkModel;

impl DemoShard {
    /// The normal league's finality members talk over `link` (latency, jitter in hops; loss;
    /// duplication), its draws seeded by `net_seed`, instead of a reliable one-hop network: the
    /// simulated demo's finality links. The protocol's timeouts grow with the slowest hop
    /// (latency + jitter), so that jitter alone does not push the fast path into PBFT. Call
    /// before the first round.
    pub fn use_finality_links(&mut self, link: LinkModel, net_seed: u64) {
        let seeds: Vec<[u8; 32]> = self.normal.iter().map(|&i| self.members[i].seed).collect();
        let base = finality::Config::default();
        let slowest_hop = (link.latency + link.jitter).max(1);
        let config = finality::Config {
            fast_path: self.mode == LeagueMode::TwoLeagues,
            level_timeout: base.level_timeout * slowest_hop,
            view_timeout: base.view_timeout * slowest_hop,
            ..base
        };
        self.finality = FinalityNet::with_network(&seeds, config, &mut self.rng, link, net_seed);
    }

    /// Normal-league member `member` crashes (its finality member loses its volatile state).
    pub fn crash_normal_member(&mut self, member: NodeId) {
        self.finality.crash_member(member);
    }

    /// Normal-league member `member` comes back from its durable state.
    pub fn restart_normal_member(&mut self, member: NodeId) {
        self.finality.restart_member(member);
    }

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
