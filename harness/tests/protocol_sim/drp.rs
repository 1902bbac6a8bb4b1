//! The DRP's leader and servers as `node::Node`s under the simulator, over lossy, jittery,
//! duplicating links with a server crashed and restarted. Checked at the end: every server that
//! reports an output reports the leader's, the leader's transcript verifies to it, a restarted
//! server sits the session out (it cannot remember what it co-signed), and the same seed gives a
//! byte-identical trace.

use iosv_harness::drp::{Dest, DrpMsg, SessionParams};
use iosv_harness::node::{MICROS_PER_MS, NodeId, Time};
use iosv_harness::sim::drp_net::{DrpCrash, DrpNet, DrpNetwork};
use iosv_harness::sim::network::LinkModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SERVERS: u32 = 8;
const MS: Time = MICROS_PER_MS;

fn params(epoch: u64) -> SessionParams {
    SessionParams {
        epoch,
        previous: [epoch as u8; 32],
        group_size: 4,
    }
}

/// What a run ended with.
struct Ended {
    trace: Vec<u8>,
    leader_output: Option<[u8; 32]>,
    server_outputs: Vec<(u32, [u8; 32])>,
    signers: Vec<u32>,
}

fn run(seed: u64, network: &DrpNetwork) -> Ended {
    let mut net = DrpNet::new(SERVERS, params(seed), seed).unwrap();
    let mut trace = Vec::new();
    net.run_on(network, &mut trace).unwrap();
    let leader = net.leader();
    let leader_output = match leader.result() {
        Some(Ok(output)) => {
            let transcript = leader
                .transcript()
                .expect("a finished leader has a transcript");
            assert_eq!(transcript.verify(), Ok(*output), "seed {seed}");
            Some(*output)
        }
        other => {
            eprintln!("seed {seed}: leader ended with {other:?}");
            None
        }
    };
    let signers = leader
        .transcript()
        .map(|t| {
            let mask = &t.choice_signature[64..];
            (0..SERVERS)
                .filter(|&i| mask[i as usize / 8] >> (i % 8) & 1 == 1)
                .collect()
        })
        .unwrap_or_default();
    Ended {
        trace,
        leader_output,
        server_outputs: net.server_outputs(),
        signers,
    }
}

/// Safety: every output reported is the leader's (or, without one from the leader, they all
/// agree: servers recover the output from each other's shares).
fn check_agreement(e: &Ended, seed: u64) {
    let mut values: Vec<[u8; 32]> = e.server_outputs.iter().map(|(_, o)| *o).collect();
    values.extend(e.leader_output);
    values.dedup();
    assert!(
        values.len() <= 1,
        "seed {seed}: outputs disagree: {values:?}"
    );
}

/// Jittery, duplicating links that lose `loss` of the messages, and server 5 crashed early and
/// restarted.
fn faulty(seed: u64, loss: f64) -> DrpNetwork {
    DrpNetwork {
        link: LinkModel {
            latency: 2 * MS,
            jitter: 3 * MS,
            loss,
            duplicate: 0.02,
        },
        seed,
        crashes: vec![DrpCrash {
            node: 5,
            at: 3 * MS,
            restart_at: Some(400 * MS),
        }],
    }
}

#[test]
fn drp_over_jitter_duplication_and_a_restarted_server_finishes() {
    // The DRP assumes links that deliver (a transport retransmits); over those, with reordering,
    // duplicates and one server down, the session ends with an output everyone else computed.
    for seed in [1u64, 2, 3] {
        let a = run(seed, &faulty(seed, 0.0));
        let b = run(seed, &faulty(seed, 0.0));
        assert!(!a.trace.is_empty());
        assert!(a.trace == b.trace, "seed {seed}: traces differ");
        check_agreement(&a, seed);
        assert!(a.leader_output.is_some(), "seed {seed}: no output");
        // The restarted server is retired: it neither co-signs nor reports.
        assert!(!a.signers.contains(&5), "seed {seed}: {:?}", a.signers);
        assert!(a.server_outputs.iter().all(|(s, _)| *s != 5), "seed {seed}");
        assert_eq!(
            a.server_outputs.len(),
            7,
            "seed {seed}: {:?}",
            a.server_outputs
        );
    }
}

#[test]
fn drp_over_lossy_links_never_splits_and_replays_identically() {
    // 3% of the messages lost as well: a session may now end without output (too few
    // commitments: the embedding layer starts another), never with two.
    let mut finished = 0;
    for seed in [1u64, 2, 3, 4] {
        let a = run(seed, &faulty(seed, 0.03));
        let b = run(seed, &faulty(seed, 0.03));
        assert!(a.trace == b.trace, "seed {seed}: traces differ");
        check_agreement(&a, seed);
        finished += usize::from(a.leader_output.is_some());
    }
    assert!(finished >= 1, "no session finished over 3% loss");
}

#[test]
fn a_server_restarted_after_its_dealing_sits_the_session_out() {
    // Server 2 deals at 1 µs (its dealing arrives at 2 µs), crashes at 3 µs and is back at 4 µs,
    // before the choice (the leader's dealings phase lasts a virtual second).
    let network = DrpNetwork {
        crashes: vec![DrpCrash {
            node: 2,
            at: 3,
            restart_at: Some(4),
        }],
        ..DrpNetwork::default()
    };
    let e = run(40, &network);
    check_agreement(&e, 40);
    assert!(e.leader_output.is_some());
    assert_eq!(e.signers, vec![0, 1, 3, 4, 5, 6, 7]);
    assert_eq!(e.server_outputs.len(), 7);
    assert!(e.server_outputs.iter().all(|(s, _)| *s != 2));
}

#[test]
fn the_hook_sees_every_message_as_sent() {
    // Through the simulator's adversary, the hook sees each message once, with the roles the
    // driver promises (the leader is node `SERVERS`).
    let mut net = DrpNet::new(SERVERS, params(9), 9).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    net.set_hook(Box::new(move |e| {
        log.lock()
            .unwrap()
            .push((e.from, e.to, std::mem::discriminant(&e.msg)));
        vec![e]
    }));
    net.run();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, net.delivered());
    let announce = std::mem::discriminant(&DrpMsg::Announce { session: [0; 32] });
    let announces: Vec<_> = seen.iter().filter(|(_, _, k)| *k == announce).collect();
    assert_eq!(announces.len(), SERVERS as usize);
    assert!(announces.iter().all(|(from, _, _)| *from == Dest::Leader));
}

#[test]
fn random_faults_never_split_the_output() {
    // Loss up to 8%, jitter up to 10 ms, duplication up to 10%, up to two servers or the leader
    // crashed (some restarted): whatever happens, no two different outputs.
    for seed in 300..308u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let crashes = (0..rng.random_range(0..=2))
            .map(|_| DrpCrash {
                node: rng.random_range(0..=SERVERS) as NodeId,
                at: rng.random_range(0..1_500 * MS),
                restart_at: rng
                    .random_bool(0.5)
                    .then(|| rng.random_range(1_500 * MS..3_000 * MS)),
            })
            .collect();
        let network = DrpNetwork {
            link: LinkModel {
                latency: rng.random_range(1..5 * MS),
                jitter: rng.random_range(0..10 * MS),
                loss: rng.random_range(0.0..0.08),
                duplicate: rng.random_range(0.0..0.10),
            },
            seed,
            crashes,
        };
        let e = run(seed, &network);
        check_agreement(&e, seed);
    }
}
