//! The normal league finalizes a round's audited blocks as one height: ByzCoin CoSi rounds with
//! PBFT as fallback (PBFT alone in single-league mode), with the configured finality faults
//! injected; a finalized height records latencies and the double-spend invariant's spent set.
//!
//! Invariant: heights are finalized in order and a proposed height keeps its value until it is
//! finalized (a height that missed its deadline is resumed, never replaced), so an audited block
//! is either finalized or still queued — never dropped.

use std::sync::Mutex;

use super::{DemoShard, FINALITY_DEADLINE};
use crate::demo::config::Fault;
use crate::demo::sim_config::LeaguePartition;
use crate::demo::stats::Stopwatch;
use crate::finality::{self, Proposal};
use crate::node::{MICROS_PER_MS, NodeId};
use crate::pob::{Contribution, LeagueMode, Reputation};
use crate::sim::FinalityNet;
use crate::sim::network::LinkModel;

impl DemoShard {
    /// The normal league's finality members, and the shard's validators, talk over `link` (latency, jitter in hops; loss;
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
        self.league.use_links(link, net_seed ^ 0xB10C);
    }

    /// Normal-league member `member` crashes: its finality member and its validator node lose
    /// their volatile state, and it audits nothing until it restarts.
    pub fn crash_normal_member(&mut self, member: NodeId) {
        self.finality.crash_member(member);
        if let Some(&v) = self.normal.get(member as usize) {
            self.league.crash(v);
        }
    }

    /// Normal-league member `member` comes back from its durable state.
    pub fn restart_normal_member(&mut self, member: NodeId) {
        self.finality.restart_member(member);
        if let Some(&v) = self.normal.get(member as usize) {
            self.league.restart(v);
        }
    }

    /// From now on, the league's finality links are cut by `partitions` while one is on (the
    /// simulated demo's `league_partitions` of this shard).
    pub fn use_league_partitions(&mut self, partitions: Vec<LeaguePartition>) {
        self.league_partitions = partitions;
    }

    /// Cuts or heals the league's links for a finality attempt at `now_us`: the first of this
    /// shard's league partitions that is on then, or none. (The league's simulator has its own
    /// clock; a cut holds for whole attempts, from the round that starts under it.)
    fn cut_league_links(&mut self, now_us: u64) {
        if self.league_partitions.is_empty() {
            return;
        }
        let now_ms = now_us / MICROS_PER_MS;
        let groups = self
            .league_partitions
            .iter()
            .find(|p| p.is_on(now_ms))
            .map(|p| p.groups.clone());
        self.finality.cut(groups);
    }

    /// The configured finality faults of `height`, injected as it is first proposed.
    fn inject_finality_faults(&mut self, height: u64) {
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
    }

    /// One finality attempt per round. A height that missed its deadline (no quorum could talk:
    /// a partition, crashes) is resumed with the same value; otherwise the audited blocks
    /// waiting are proposed as the next height. A finalized height records its transactions'
    /// latencies and the double-spend invariant's spent set. No audited block is ever dropped:
    /// it waits, counted as queued, until its height is finalized.
    pub(super) fn finalize(&mut self, now: &dyn Fn() -> u64, reputation: &Mutex<Reputation>) {
        if self.proposed == 0 && self.audited.is_empty() {
            return;
        }
        let t = Stopwatch::start();
        self.cut_league_links(now());
        let (ok, ticks) = if self.proposed > 0 {
            self.finality.resume(FINALITY_DEADLINE)
        } else {
            let height = self.finality_height;
            self.inject_finality_faults(height);
            let proposal = Proposal {
                height,
                headers: self.audited.iter().map(|a| a.digest).collect(),
            };
            self.proposed = self.audited.len();
            self.finality.finalize_next(proposal, FINALITY_DEADLINE)
        };
        self.stats.finality_virtual_ticks += ticks;
        self.stats.timing.finality += t.elapsed();
        if !ok {
            self.stats.finality_retries += 1;
            return;
        }
        self.finality_height += 1;
        let finalized: Vec<_> = self.audited.drain(..self.proposed).collect();
        self.proposed = 0;
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
        let final_at = now() + (ticks as f64 * self.hop_us) as u64;
        for audited in finalized {
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

    /// At the end of a run: lets the league run until every live member finalized every height
    /// (those cut off or behind catch up); whether they all did within the deadline.
    pub fn settle_finality(&mut self) -> bool {
        self.finality.settle(FINALITY_DEADLINE)
    }
}
