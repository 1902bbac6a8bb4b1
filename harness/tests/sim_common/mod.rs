//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

use iosv_harness::epoch::lottery::{self, Lottery};
use iosv_harness::epoch::{Behavior, Output, roster};
use iosv_harness::node::NodeId;
use iosv_harness::sim::config::FaultConfig;
use iosv_harness::sim::{SimConfig, SimReport};

/// The candidates of `(epoch, view)` when every validator's lottery counts, computed offline from
/// the same keys the simulation derives from `seed`.
pub fn candidates(seed: u64, n: u32, epoch: u64, view: u32) -> Vec<NodeId> {
    let (keys, _) = roster::generate(seed, n);
    let valid: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Lottery::draw(&k.vrf, i as NodeId, epoch, view).1)
        .collect();
    lottery::rank(&valid)
}

/// A small configuration: `n` validators, one shard per 8, Δ = 100 ms.
pub fn config(n: u32) -> SimConfig {
    SimConfig {
        validators: n,
        shards: (n / 8).max(1),
        ..SimConfig::default()
    }
}

pub fn with_faults(mut cfg: SimConfig, nodes: &[NodeId], behavior: Behavior) -> SimConfig {
    cfg.faults
        .extend(nodes.iter().map(|&node| FaultConfig { node, behavior }));
    cfg
}

pub fn run(cfg: &SimConfig, seed: u64, epochs: u64) -> SimReport {
    iosv_harness::sim::run(cfg, seed, epochs, std::io::sink())
        .expect("simulation runs")
        .0
}

/// The guarantees every run must keep: honest agreement and election within 3Δ.
pub fn assert_guarantees(r: &SimReport) {
    assert!(
        r.checks.agreement,
        "honest validators disagree: {:?}",
        r.checks.epochs
    );
    assert!(
        r.checks.within_3_delta,
        "an acceptance came {} µs after its view's close (3Δ = {} µs)",
        r.checks.max_elapsed_us,
        3 * r.delta_us
    );
}

/// Acceptances by honest node `node` of `epoch`: (view, rank, leader, elapsed µs).
pub fn acceptance(r: &SimReport, node: NodeId, epoch: u64) -> Option<(u32, u8, NodeId, u64)> {
    r.records.iter().find_map(|rec| match &rec.output {
        Output::RandomnessAccepted {
            epoch: e,
            view,
            rank,
            leader,
            elapsed,
            ..
        } if rec.node == node && *e == epoch => Some((*view, *rank, *leader, *elapsed)),
        _ => None,
    })
}

/// Candidates ranked by honest nodes in `(epoch, view)`.
pub fn ranked_by_honest(r: &SimReport, cfg: &SimConfig, epoch: u64, view: u32) -> Vec<Vec<NodeId>> {
    r.records
        .iter()
        .filter(|rec| cfg.behavior_of(rec.node) == Behavior::Honest)
        .filter_map(|rec| match &rec.output {
            Output::Ranked {
                epoch: e,
                view: v,
                candidates,
                ..
            } if *e == epoch && *v == view => Some(candidates.clone()),
            _ => None,
        })
        .collect()
}
