//! The Distributed Randomness Protocol inside the epoch flow, in the deterministic simulator: every
//! validator runs `Validator<DrpRandomness>`; the elected leader runs a real DRP session (PVSS
//! dealings, CoSi on the choice, DLEQ-checked decryption) and every honest validator accepts the
//! same epoch randomness, which each recomputed itself, within 3Δ of the view's close.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use iosv_harness::drp::epoch::DrpRandomness;
use iosv_harness::epoch::{Behavior, EpochParams, Output, Validator, roster};
use iosv_harness::node::NodeId;
use iosv_harness::sim::network::{LinkModel, SimNetwork};
use iosv_harness::sim::{Happening, Simulator};

const DELTA: u64 = 300_000;

fn params() -> EpochParams {
    EpochParams {
        delta: DELTA,
        epoch_len: 4 * DELTA * 3,
        max_views: 3,
    }
}

/// Runs `epochs` epochs of `n` validators (the ones in `withholding` withhold as leaders) and
/// returns every acceptance: (epoch, node) → (value, leader, elapsed µs).
fn run(
    n: u32,
    seed: u64,
    epochs: u64,
    withholding: &[NodeId],
) -> BTreeMap<(u64, NodeId), ([u8; 32], NodeId, u64)> {
    let (keys, validator_roster) = roster::generate(seed, n);
    let validator_roster = Arc::new(validator_roster);
    let drp_roster = Arc::new(DrpRandomness::roster(seed, n).expect("roster registers"));
    let nodes: Vec<Validator<DrpRandomness>> = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let id = i as NodeId;
            let behavior = if withholding.contains(&id) {
                Behavior::Withhold
            } else {
                Behavior::Honest
            };
            Validator::new(
                id,
                k,
                Arc::clone(&validator_roster),
                params(),
                behavior,
                DrpRandomness::new(
                    Arc::clone(&drp_roster),
                    DrpRandomness::key_seed(seed, id),
                    4,
                    DELTA / 8,
                ),
            )
        })
        .collect();
    let link = LinkModel {
        latency: 4_000,
        jitter: 3_000,
        loss: 0.0,
    };
    let net = SimNetwork::new(link, BTreeMap::new(), Vec::new(), seed);
    let mut sim = Simulator::new(nodes, net, std::io::sink());
    let end = params().epoch_len * epochs;
    let mut out = Vec::new();
    let mut accepted = BTreeMap::new();
    while sim.step(end, &mut out).expect("trace to a sink") {
        for h in out.drain(..) {
            if let Happening::Output {
                node,
                output:
                    Output::RandomnessAccepted {
                        epoch,
                        value,
                        leader,
                        elapsed,
                        ..
                    },
                ..
            } = h
            {
                accepted.insert((epoch, node), (value, leader, elapsed));
            }
        }
    }
    accepted
}

fn check_agreement(
    accepted: &BTreeMap<(u64, NodeId), ([u8; 32], NodeId, u64)>,
    n: u32,
    epochs: u64,
    honest: impl Fn(NodeId) -> bool,
) {
    for epoch in 0..epochs {
        let values: BTreeSet<[u8; 32]> = (0..n)
            .filter(|&v| honest(v))
            .map(|v| {
                accepted
                    .get(&(epoch, v))
                    .unwrap_or_else(|| panic!("node {v} accepted nothing in epoch {epoch}"))
                    .0
            })
            .collect();
        assert_eq!(values.len(), 1, "honest nodes disagree in epoch {epoch}");
        for v in (0..n).filter(|&v| honest(v)) {
            let elapsed = accepted[&(epoch, v)].2;
            assert!(
                elapsed <= 3 * DELTA,
                "accepted {elapsed} µs after the close"
            );
        }
    }
}

#[test]
fn honest_validators_agree_on_drp_randomness_every_epoch() {
    let (n, epochs) = (8, 2);
    let accepted = run(n, 11, epochs, &[]);
    check_agreement(&accepted, n, epochs, |_| true);
    let per_epoch: BTreeSet<[u8; 32]> = (0..epochs).map(|e| accepted[&(e, 0)].0).collect();
    assert_eq!(
        per_epoch.len(),
        epochs as usize,
        "each epoch has its own output"
    );
}

#[test]
fn a_withholding_drp_leader_is_replaced_and_honest_nodes_still_agree() {
    let (n, seed) = (8, 11);
    let first = run(n, seed, 1, &[]);
    let leader = first[&(0, 0)].1;
    let accepted = run(n, seed, 1, &[leader]);
    check_agreement(&accepted, n, 1, |v| v != leader);
    let new_leader = accepted[&(0, (leader + 1) % n)].1;
    assert_ne!(new_leader, leader, "a backup delivered the randomness");
}

#[test]
fn the_same_seed_gives_the_same_randomness() {
    assert_eq!(run(8, 3, 1, &[]), run(8, 3, 1, &[]));
}
