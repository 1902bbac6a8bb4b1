//! Finality, seeded scenarios on 7 nodes (f = 2): a normal run finalizes on the fast path; a
//! crashed sub-leader and a member that commits then goes silent are survived by the star
//! fallback; a crashed leader (and a crashed next primary) end in PBFT; a leader that decides
//! alone and crashes cannot make the others finalize anything else; an equivocating leader
//! finalizes nothing and PBFT decides one value; and over random crash sets
//! no two different values are ever finalized at one height.

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr;
use iosv_harness::finality::messages::cosi_message;
use iosv_harness::finality::{Certificate, Config, Phase, VoteKind};
use iosv_harness::sim::FinalityNet;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const N: usize = 7;
const DEADLINE: u64 = 20_000;

fn net(seed: u64) -> (FinalityNet, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let net = FinalityNet::new(N, Config::default(), &mut rng);
    (net, rng)
}

/// Every certificate checks against the roster alone.
fn certificates_verify(net: &FinalityNet) {
    let roster = net.node(0).expect("member 0").roster();
    let keys = roster.public_keys().to_vec();
    for (node, height, f) in net.finalized() {
        let digest = f.proposal.digest();
        match &f.certificate {
            Certificate::Cosi { prepare, commit } => {
                for (phase, sig) in [(Phase::Prepare, prepare), (Phase::Commit, commit)] {
                    let msg = cosi_message(phase, *height, f.view, &digest);
                    schnorr::verify(roster, Policy::ByzCoin, &msg, sig)
                        .unwrap_or_else(|e| panic!("node {node} height {height}: {e}"));
                }
            }
            Certificate::Pbft { commits } => {
                assert!(commits.len() >= Policy::ByzCoin.required(N));
                let voters: std::collections::BTreeSet<_> =
                    commits.iter().map(|v| v.voter).collect();
                assert_eq!(voters.len(), commits.len());
                for v in commits {
                    assert_eq!(v.kind, VoteKind::Commit);
                    assert_eq!((v.height, v.view, v.digest), (*height, f.view, digest));
                    assert!(v.verify(&keys));
                }
            }
        }
    }
}

fn views_at(net: &FinalityNet, height: u64) -> Vec<(u64, bool)> {
    net.finalized()
        .iter()
        .filter(|(_, h, _)| *h == height)
        .map(|(_, _, f)| (f.view, matches!(f.certificate, Certificate::Cosi { .. })))
        .collect()
}

#[test]
fn a_normal_run_finalizes_on_the_fast_path() {
    let (mut net, _) = net(1);
    assert!(net.run(4, DEADLINE));
    let decided = net.agreement().unwrap();
    assert_eq!(decided.len(), 4);
    for h in 0..4 {
        assert!(views_at(&net, h).iter().all(|&v| v == (0, true)), "{h}");
        assert_eq!(views_at(&net, h).len(), N);
    }
    certificates_verify(&net);
}

#[test]
fn every_message_survives_its_json_encoding() {
    // Fast path, star fallback and PBFT, with every message encoded and decoded on the way.
    let (mut net, _) = net(9);
    net.through_json();
    net.crash(1);
    assert!(net.run(3, DEADLINE));
    let at0 = views_at(&net, 0);
    assert!(at0.iter().all(|&v| v == (0, true)), "{at0:?}");
    let at1 = views_at(&net, 1);
    assert!(
        at1.iter().all(|&(view, cosi)| view >= 1 && !cosi),
        "{at1:?}"
    );
    net.agreement().unwrap();
    certificates_verify(&net);
    let json = serde_json::to_string(&net.finalized()[0].2).unwrap();
    let back: iosv_harness::finality::Finality = serde_json::from_str(&json).unwrap();
    assert_eq!(back, net.finalized()[0].2);
}

#[test]
fn a_crashed_sub_leader_is_survived_by_the_star_fallback() {
    // Height 0: leader 0, tree [0..7) with fan-out 2: node 1 leads the subtree {1, 3, 4}, so
    // without it only 4 < 5 commitments reach the leader.
    let (mut net, _) = net(2);
    net.crash(1);
    assert!(net.run(1, DEADLINE));
    assert!(views_at(&net, 0).iter().all(|&v| v == (0, true)));
    assert_eq!(views_at(&net, 0).len(), N - 1);
    certificates_verify(&net);
}

#[test]
fn a_member_that_commits_then_goes_silent_is_survived() {
    let (mut net, _) = net(3);
    net.crash_after_commitment(3, 0);
    assert!(net.run(2, DEADLINE));
    assert!(views_at(&net, 0).iter().all(|&v| v == (0, true)));
    net.agreement().unwrap();
    certificates_verify(&net);
}

#[test]
fn a_crashed_leader_falls_back_to_pbft_and_still_finalizes() {
    let (mut net, _) = net(4);
    net.crash(0);
    assert!(net.run(3, DEADLINE));
    let at0 = views_at(&net, 0);
    assert!(
        at0.iter().all(|&(view, cosi)| view >= 1 && !cosi),
        "{at0:?}"
    );
    // Height 1 is led by node 1: fast path again.
    assert!(views_at(&net, 1).iter().all(|&v| v == (0, true)));
    net.agreement().unwrap();
    certificates_verify(&net);

    // The leader and the next primary both down (f = 2): view 2.
    let (mut net, _) = self::net(5);
    net.crash(0);
    net.crash(1);
    assert!(net.run(1, DEADLINE));
    assert!(
        views_at(&net, 0)
            .iter()
            .all(|&(view, cosi)| view >= 2 && !cosi)
    );
    certificates_verify(&net);
}

#[test]
fn a_decision_seen_by_its_leader_alone_is_the_one_pbft_finalizes() {
    let (mut net, _) = net(6);
    net.distinct_candidates();
    net.decide_alone_then_crash(0, 0);
    assert!(net.run(2, DEADLINE));
    let at0 = views_at(&net, 0);
    assert!(
        at0.contains(&(0, true)),
        "the leader finalized on the fast path"
    );
    assert!(
        at0.iter().any(|&(view, _)| view >= 1),
        "the others through PBFT"
    );
    let decided = net.agreement().expect("one value per height");
    let leaders_value = net
        .finalized()
        .iter()
        .find(|(node, h, _)| *node == 0 && *h == 0)
        .map(|(_, _, f)| f.proposal.digest())
        .unwrap();
    assert_eq!(decided[&0], leaders_value);
    certificates_verify(&net);
}

#[test]
fn an_equivocating_leader_finalizes_nothing_of_its_own_and_pbft_decides_one_value() {
    let (mut net, _) = net(8);
    net.distinct_candidates();
    net.equivocate(0, 0);
    assert!(net.run(2, DEADLINE));
    let decided = net.agreement().expect("one value per height");
    let at0 = views_at(&net, 0);
    assert!(
        at0.iter().all(|&(view, cosi)| view >= 1 && !cosi),
        "no fast-path finality for a split announcement: {at0:?}"
    );
    assert_eq!(at0.len(), N);
    // Nobody was prepared (no prepare round completed), so view 1's primary, node 1, proposed
    // its own value.
    let mut primarys_own = iosv_harness::sim::finality_net::proposal_for(0);
    primarys_own.headers.push([1; 32]);
    assert_eq!(decided[&0], primarys_own.digest());
    certificates_verify(&net);
}

#[test]
fn random_crash_sets_never_finalize_two_values_at_one_height() {
    for seed in 0..24u64 {
        let (mut net, mut rng) = net(100 + seed);
        net.distinct_candidates();
        let mut down = std::collections::BTreeSet::new();
        while down.len() < rng.random_range(0..=2) {
            down.insert(rng.random_range(0..N as u32));
        }
        let mut faulty = down.len();
        let silent = rng.random_range(0..N as u32);
        if faulty < 2 && !down.contains(&silent) {
            net.crash_after_commitment(silent, rng.random_range(0..3));
            faulty += 1;
        }
        // The leader of some height decides alone, then crashes.
        let height = rng.random_range(0..3u64);
        let leader = (height % N as u64) as u32;
        if faulty < 2 && !down.contains(&leader) && leader != silent {
            net.decide_alone_then_crash(leader, height);
        }
        for &d in &down {
            net.crash(d);
        }
        let finished = net.run(3, DEADLINE);
        net.agreement()
            .unwrap_or_else(|h| panic!("seed {seed}: two values at height {h}"));
        assert!(finished, "seed {seed}: down {down:?}, silent {silent}");
        certificates_verify(&net);
    }
}

/// The fast path's tree keeps a height's messages linear in the league size; PBFT's all-to-all
/// votes are quadratic. Measured on 16 nodes: one height each way.
#[test]
fn the_fast_path_sends_linearly_many_messages_pbft_quadratically() {
    const NODES: usize = 16;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut fast = FinalityNet::new(NODES, Config::default(), &mut rng);
    assert!(fast.run(1, DEADLINE));
    let mut slow = FinalityNet::new(NODES, Config::default(), &mut rng);
    slow.crash(0);
    assert!(slow.run(1, DEADLINE));
    let n = NODES as u64;
    println!(
        "messages per height, {NODES} nodes: fast path {}, PBFT after a view change {}",
        fast.messages(),
        slow.messages()
    );
    assert!(fast.messages() <= 10 * n, "fast path: {}", fast.messages());
    assert!(
        slow.messages() >= 2 * (n - 1) * (n - 1),
        "PBFT: {}",
        slow.messages()
    );
}

#[test]
fn without_the_fast_path_every_height_is_finalized_by_pbft() {
    // A single-league shard's consensus: view 0 is skipped, PBFT decides every height.
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let config = Config {
        fast_path: false,
        ..Config::default()
    };
    let mut net = FinalityNet::new(N, config, &mut rng);
    assert!(net.run(3, DEADLINE));
    let decided = net.agreement().unwrap();
    assert_eq!(decided.len(), 3);
    for h in 0..3 {
        let views = views_at(&net, h);
        assert_eq!(views.len(), N);
        assert!(views.iter().all(|&(view, _)| view >= 1), "{h}: {views:?}");
    }
    certificates_verify(&net);
}
