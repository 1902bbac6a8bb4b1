//! Finality under the one deterministic simulator: the normal league's members as `node::Node`s
//! over the simulated network, with latency, jitter, loss, partitions that heal and a crash with
//! restart. Checked on every output: no two values finalized at one height, every certificate
//! verifies under the roster. Checked at the end: every member (the partitioned and the restarted
//! ones too) finalized every height. Each scenario runs twice with a byte-identical trace.

use std::collections::BTreeMap;
use std::sync::Arc;

use iosv_harness::finality::{Config, Finality, Member, ProposalSource};
use iosv_harness::node::{MICROS_PER_MS, NodeId, Time};
use iosv_harness::sim::finality_net::proposal_for;
use iosv_harness::sim::network::{LinkModel, Partition, SimNetwork};
use iosv_harness::sim::{Happening, Simulator};
use sha2::{Digest, Sha256};

const MEMBERS: usize = 7;
const MS: Time = MICROS_PER_MS;

fn config() -> Config {
    Config {
        fanout: 2,
        level_timeout: 4 * MS,
        view_timeout: 40 * MS,
        fast_path: true,
    }
}

fn seeds(seed: u64, what: &str) -> Vec<[u8; 32]> {
    (0..MEMBERS)
        .map(|i| {
            let mut h = Sha256::new();
            h.update(b"finality_sim test seeds");
            h.update(what.as_bytes());
            h.update(seed.to_le_bytes());
            h.update((i as u64).to_le_bytes());
            h.finalize().into()
        })
        .collect()
}

/// A scenario: the network, the partitions, who crashes and restarts when.
struct Scenario {
    loss: f64,
    partitions: Vec<Partition>,
    crashes: Vec<(NodeId, Time, Time)>,
    heights: u64,
    deadline: Time,
}

/// What a run produced.
struct Outcome {
    trace: Vec<u8>,
    /// (time, member, finality) for every output.
    finalized: Vec<(Time, NodeId, Finality)>,
    /// Heights each member finalized, at the end.
    heights: Vec<u64>,
}

fn run(scenario: &Scenario, seed: u64) -> Outcome {
    let heights = scenario.heights;
    let proposals: ProposalSource =
        Arc::new(move |_, height| (height < heights).then(|| proposal_for(height)));
    let members = Member::league(
        &seeds(seed, "keys"),
        &seeds(seed, "nonces"),
        config(),
        proposals,
    );
    let net = SimNetwork::new(
        LinkModel {
            latency: MS,
            jitter: MS / 2,
            loss: scenario.loss,
            duplicate: 0.0,
        },
        BTreeMap::new(),
        scenario.partitions.clone(),
        seed,
    );
    let mut sim = Simulator::new(members, net, Vec::new());
    for &(node, down, up) in &scenario.crashes {
        sim.schedule_crash(node, down);
        sim.schedule_restart(node, up);
    }
    let mut decided: BTreeMap<u64, [u8; 32]> = BTreeMap::new();
    let mut finalized = Vec::new();
    let mut out = Vec::new();
    let done = |sim: &Simulator<Member, Vec<u8>>| {
        (0..MEMBERS as NodeId).all(|i| {
            sim.node(i)
                .is_some_and(|m| m.finalized().len() as u64 >= heights)
        })
    };
    while !done(&sim)
        && sim
            .step(scenario.deadline, &mut out)
            .expect("trace to memory")
    {
        for happening in out.drain(..) {
            let Happening::Output { at, node, output } = happening else {
                continue;
            };
            let verifier = sim.node(0).expect("member 0").state();
            assert!(
                verifier.finality_is_valid(&output),
                "seed {seed}: member {node} finalized height {} with a certificate that does not verify",
                output.height
            );
            let digest = output.proposal.digest();
            let first = *decided.entry(output.height).or_insert(digest);
            assert_eq!(
                first, digest,
                "seed {seed}: two values finalized at height {}",
                output.height
            );
            finalized.push((at, node, output));
        }
    }
    let heights = (0..MEMBERS as NodeId)
        .map(|i| sim.node(i).map_or(0, |m| m.finalized().len() as u64))
        .collect();
    Outcome {
        trace: sim.into_trace(),
        finalized,
        heights,
    }
}

fn assert_all_finalized(outcome: &Outcome, scenario: &Scenario, seed: u64) {
    for (member, &h) in outcome.heights.iter().enumerate() {
        assert_eq!(
            h, scenario.heights,
            "seed {seed}: member {member} finalized {h} of {} heights by the deadline",
            scenario.heights
        );
    }
}

/// A minority cut off while the majority keeps finalizing; later a split with no quorum on
/// either side; a member crashes and restarts in between; 2% of messages are lost throughout.
fn healing_partitions() -> Scenario {
    Scenario {
        loss: 0.02,
        partitions: vec![
            Partition {
                start: 5 * MS,
                end: 250 * MS,
                groups: vec![vec![5, 6]],
            },
            Partition {
                start: 400 * MS,
                end: 700 * MS,
                groups: vec![vec![0, 1, 2]],
            },
        ],
        crashes: vec![(3, 280 * MS, 380 * MS)],
        heights: 24,
        deadline: 20_000 * MS,
    }
}

#[test]
fn finality_under_partitions_that_heal_is_safe_then_live_and_reproducible() {
    let scenario = healing_partitions();
    for seed in [1u64, 2] {
        let a = run(&scenario, seed);
        assert_all_finalized(&a, &scenario, seed);

        // The cut-off minority finalized nothing while cut off; the majority kept going.
        let (start, end) = (scenario.partitions[0].start, scenario.partitions[0].end);
        let during = |node: NodeId| {
            a.finalized
                .iter()
                .filter(|(at, n, _)| *n == node && (start..end).contains(at))
                .count()
        };
        assert_eq!(during(5) + during(6), 0, "seed {seed}: minority finalized");
        assert!(
            during(0) > 0,
            "seed {seed}: the majority made no progress during the first partition"
        );
        // Neither side of the second split has a quorum (5 of 7): nobody finalizes during it,
        // except what was already under way when it began.
        let (start, end) = (scenario.partitions[1].start, scenario.partitions[1].end);
        let late = a
            .finalized
            .iter()
            .filter(|(at, _, _)| (start + scenario_round_slack()..end).contains(at))
            .count();
        assert_eq!(late, 0, "seed {seed}: finalized without a quorum");

        let b = run(&scenario, seed);
        assert!(
            a.trace == b.trace,
            "seed {seed}: two runs of one seed gave different traces"
        );
        assert!(!a.trace.is_empty());
    }
    let (one, two) = (run(&scenario, 1), run(&scenario, 2));
    assert_ne!(one.trace, two.trace, "the seed drives the run");
}

/// How long after a split begins messages sent before it may still finish a height: messages in
/// flight arrive within latency + jitter, a few hops of a round.
fn scenario_round_slack() -> Time {
    10 * MS
}

#[test]
fn finality_with_heavy_loss_and_a_leader_crash_still_finalizes_everything() {
    let scenario = Scenario {
        loss: 0.10,
        partitions: Vec::new(),
        // Member 1 leads height 1's view 0; it is down through that height.
        crashes: vec![(1, 2 * MS, 400 * MS)],
        heights: 12,
        deadline: 30_000 * MS,
    };
    for seed in [7u64, 8] {
        let a = run(&scenario, seed);
        assert_all_finalized(&a, &scenario, seed);
        assert!(
            a.finalized.iter().any(|(_, n, f)| *n != 1 && f.view > 0),
            "seed {seed}: a crashed leader should push some height to PBFT"
        );
        let b = run(&scenario, seed);
        assert!(a.trace == b.trace, "seed {seed}: traces differ");
    }
}

/// A random scenario from `seed`: loss up to 8%, up to two partitions (a random group cut off,
/// possibly a majority), up to two members crashed and restarted — everything heals by 1.2 s.
fn random_scenario(seed: u64) -> Scenario {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut partitions = Vec::new();
    for _ in 0..rng.random_range(0..=2) {
        let start = rng.random_range(0..800) * MS;
        let end = start + rng.random_range(20..400) * MS;
        let size = rng.random_range(1..MEMBERS as u32);
        let mut group: Vec<NodeId> = (0..MEMBERS as u32).collect();
        for i in (1..group.len()).rev() {
            group.swap(i, rng.random_range(0..=i));
        }
        group.truncate(size as usize);
        group.sort_unstable();
        partitions.push(Partition {
            start,
            end,
            groups: vec![group],
        });
    }
    let mut crashes = Vec::new();
    for _ in 0..rng.random_range(0..=2) {
        let node = rng.random_range(0..MEMBERS as u32);
        let down = rng.random_range(0..800) * MS;
        crashes.push((node, down, down + rng.random_range(10..400) * MS));
    }
    Scenario {
        loss: f64::from(rng.random_range(0..=8u32)) / 100.0,
        partitions,
        crashes,
        heights: 10,
        deadline: 60_000 * MS,
    }
}

/// Property: whatever partitions, losses and crash/restarts a seed draws, no two values are ever
/// finalized at one height and, once everything healed, every member finalizes every height.
#[test]
fn random_faults_never_break_agreement_and_healing_restores_liveness() {
    for seed in 100..116u64 {
        let scenario = random_scenario(seed);
        let outcome = run(&scenario, seed);
        assert_all_finalized(&outcome, &scenario, seed);
    }
}
