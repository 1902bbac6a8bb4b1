//! The real DRP as the simulator's randomness protocol: honest validators agree on every epoch's
//! randomness, runs are reproducible from the seed, and Byzantine DRP servers or equivocating DRP
//! leaders are survived (a failed leader's turn passes to the next candidate).

use std::sync::Arc;

use iosv_harness::drp::randomness::{DrpRandomness, drp_roster};
use iosv_harness::drp::{LeaderFault, ServerFault};
use iosv_harness::epoch::{Behavior, Output, Validator, roster};
use iosv_harness::node::NodeId;
use iosv_harness::sim::network::SimNetwork;
use iosv_harness::sim::{Checks, Happening, Record, SimConfig, Simulator, checks};

fn config(validators: u32) -> SimConfig {
    SimConfig {
        validators,
        delta_ms: 400,
        ..SimConfig::default()
    }
}

/// Runs `epochs` epochs; `faults(node)` makes a validator Byzantine in the DRP (such nodes are
/// not counted as honest by the checks).
fn run(
    cfg: &SimConfig,
    seed: u64,
    epochs: u64,
    faults: impl Fn(NodeId) -> Option<(ServerFault, LeaderFault)>,
) -> (Checks, Vec<Record>, Vec<u8>) {
    let (keys, sim_roster) = roster::generate(seed, cfg.validators);
    let drp = Arc::new(drp_roster(&keys).unwrap());
    let sim_roster = Arc::new(sim_roster);
    let params = cfg.epoch_params();
    let honest: Vec<bool> = (0..cfg.validators).map(|v| faults(v).is_none()).collect();
    let nodes: Vec<Validator<DrpRandomness>> = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let mut protocol = DrpRandomness::new(&k, Arc::clone(&drp), 4);
            if let Some((server, leader)) = faults(i as NodeId) {
                protocol = protocol.with_faults(server, leader);
            }
            Validator::new(
                i as NodeId,
                k,
                Arc::clone(&sim_roster),
                params,
                Behavior::Honest,
                protocol,
            )
        })
        .collect();
    let (default_link, links, partitions) = cfg.network_model().unwrap();
    let net = SimNetwork::new(default_link, links, partitions, seed);
    let mut sim = Simulator::new(nodes, net, Vec::<u8>::new());
    let end = params.epoch_len * epochs;
    let mut records = Vec::new();
    let mut happenings = Vec::new();
    while sim.step(end, &mut happenings).unwrap() {
        for h in happenings.drain(..) {
            if let Happening::Output { at, node, output } = h {
                records.push(Record { at, node, output });
            }
        }
    }
    let checks = checks::check(&records, &honest, cfg, epochs);
    (checks, records, sim.into_trace())
}

fn accepted(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r.output, Output::RandomnessAccepted { .. }))
        .count()
}

#[test]
fn honest_validators_agree_on_drp_randomness_every_epoch() {
    let cfg = config(8);
    let (checks, records, trace) = run(&cfg, 7, 3, |_| None);
    assert!(checks.agreement, "{checks:?}");
    assert!(checks.within_3_delta, "{checks:?}");
    assert_eq!(checks.epochs_with_randomness, 3, "{checks:?}");
    assert_eq!(checks.exclusions, 0);
    assert_eq!(accepted(&records), 3 * 8);
    assert!(checks.randomness_rejects.is_empty(), "{checks:?}");

    // Reproducible from the seed: the same trace byte for byte.
    let (_, _, again) = run(&cfg, 7, 3, |_| None);
    assert_eq!(trace, again);
    let (other, _, _) = run(&cfg, 8, 3, |_| None);
    assert_ne!(other.epochs[0].value, checks.epochs[0].value);
}

#[test]
fn byzantine_drp_servers_are_excluded_and_honest_nodes_still_agree() {
    let cfg = config(8);
    let faulty = |v: NodeId| match v {
        2 => Some((ServerFault::BadEncryptedShare, LeaderFault::Honest)),
        5 => Some((ServerFault::ForgedDecryptionProof, LeaderFault::Honest)),
        _ => None,
    };
    let (checks, _, _) = run(&cfg, 11, 2, faulty);
    assert!(checks.agreement, "{checks:?}");
    assert_eq!(checks.epochs_with_randomness, 2, "{checks:?}");
    assert!(
        checks
            .randomness_rejects
            .contains_key("drp_excluded_dealing"),
        "{:?}",
        checks.randomness_rejects
    );
}

#[test]
fn equivocating_drp_leaders_lose_their_turn() {
    // Every odd validator, when it leads, shows half the servers another choice: the round
    // fails, the candidate is excluded, and a backup delivers.
    let cfg = config(8);
    let faulty = |v: NodeId| {
        (v % 2 == 1).then(|| {
            (
                ServerFault::Honest,
                LeaderFault::EquivocateChoice {
                    servers: vec![0, 2, 4, 6],
                },
            )
        })
    };
    let (checks, _, _) = run(&cfg, 3, 4, faulty);
    assert!(checks.agreement, "{checks:?}");
    assert_eq!(checks.epochs_with_randomness, 4, "{checks:?}");
    for e in &checks.epochs {
        assert!(e.leader.is_some_and(|l| l % 2 == 0), "{e:?}");
    }
    assert!(checks.exclusions > 0, "{checks:?}");
    assert!(
        checks
            .randomness_rejects
            .contains_key("drp_refused_bad_challenge"),
        "{:?}",
        checks.randomness_rejects
    );
}

#[test]
fn lossy_network_keeps_agreement() {
    // 5% of messages lost: some rounds need timers or retries, some nodes miss the reveal and
    // accept nothing, but no two honest nodes ever accept different values.
    let mut cfg = config(10);
    cfg.network.loss = 0.05;
    let (checks, records, _) = run(&cfg, 21, 4, |_| None);
    assert!(checks.agreement, "{checks:?}");
    assert!(checks.within_3_delta, "{checks:?}");
    println!(
        "epochs with randomness {}/4, acceptances {}/40, rejects {:?}",
        checks.epochs_with_randomness,
        accepted(&records),
        checks.randomness_rejects
    );
    assert!(checks.epochs_with_randomness >= 3, "{checks:?}");
}
