//! Faults at epoch start, each in a seeded simulation, with the guarantees checked every time:
//! honest validators agree on each epoch's randomness, and it is accepted within 3Δ of the
//! view's gossip close.

mod sim_common;

use iosv_harness::epoch::Behavior;
use iosv_harness::sim::config::{CrashConfig, PartitionConfig};
use sim_common::{
    acceptance, assert_guarantees, candidates, config, ranked_by_honest, run, with_faults,
};

const N: u32 = 10;
const EPOCHS: u64 = 3;

#[test]
fn honest_run_elects_the_smallest_lottery_in_view_0() {
    let seed = 1;
    let cfg = config(N);
    let r = run(&cfg, seed, EPOCHS);
    assert_guarantees(&r);
    for epoch in 0..EPOCHS {
        let want = candidates(seed, N, epoch, 0);
        for node in 0..N {
            assert_eq!(
                acceptance(&r, node, epoch).map(|a| (a.0, a.1, a.2)),
                Some((0, 0, want[0])),
                "node {node} epoch {epoch}"
            );
        }
    }
    assert_eq!(r.checks.epochs_with_randomness, EPOCHS);
    assert!(
        r.checks.lottery_rejects.is_empty(),
        "{:?}",
        r.checks.lottery_rejects
    );
}

#[test]
fn withholding_leader_is_excluded_and_the_first_backup_delivers() {
    let seed = 2;
    let leader = candidates(seed, N, 0, 0)[0];
    let backup = candidates(seed, N, 0, 0)[1];
    let cfg = with_faults(config(N), &[leader], Behavior::Withhold);
    let r = run(&cfg, seed, EPOCHS);
    assert_guarantees(&r);
    let delta = r.delta_us;
    for node in (0..N).filter(|&n| n != leader) {
        let (view, rank, who, elapsed) = acceptance(&r, node, 0).expect("accepted");
        assert_eq!((view, rank, who), (0, 1, backup), "node {node}");
        assert!(
            elapsed > delta && elapsed <= 2 * delta,
            "backup's window is (Δ, 2Δ]: {elapsed}"
        );
    }
    assert_eq!(r.checks.epochs[0].excluded, vec![leader]);
}

#[test]
fn when_all_three_candidates_withhold_the_next_view_elects() {
    let seed = 3;
    let top = candidates(seed, N, 0, 0);
    let cfg = with_faults(config(N), &top, Behavior::Withhold);
    let r = run(&cfg, seed, 1);
    assert_guarantees(&r);
    let e = &r.checks.epochs[0];
    assert_eq!(e.failed_views, 1);
    assert_eq!(e.view, Some(1));
    let mut excluded = top.clone();
    excluded.sort_unstable();
    assert_eq!(e.excluded, excluded, "all three excluded for the epoch");
    // View 1 ranks only the lotteries of non-excluded validators.
    for ranking in ranked_by_honest(&r, &cfg, 0, 1) {
        assert!(ranking.iter().all(|c| !top.contains(c)), "{ranking:?}");
    }
    assert_eq!(e.honest_accepted, N - 3);
}

fn rejects_each_epoch(behavior: Behavior, reason: &str, per_epoch_per_receiver: u64) {
    let seed = 4;
    let faulty = 3;
    let cfg = with_faults(config(N), &[faulty], behavior);
    let r = run(&cfg, seed, EPOCHS);
    assert_guarantees(&r);
    let got = r.checks.lottery_rejects.get(reason).copied().unwrap_or(0);
    assert_eq!(
        got,
        EPOCHS * u64::from(N - 1) * per_epoch_per_receiver,
        "{reason}: {:?}",
        r.checks.lottery_rejects
    );
    assert_eq!(r.checks.epochs_with_randomness, EPOCHS);
    (0..EPOCHS).for_each(|e| assert_eq!(r.checks.epochs[e as usize].honest_accepted, N - 1));
}

#[test]
fn invalid_lottery_is_rejected_and_never_ranked() {
    rejects_each_epoch(Behavior::InvalidLottery, "invalid_proof", 1);
    let cfg = with_faults(config(N), &[3], Behavior::InvalidLottery);
    let r = run(&cfg, 4, EPOCHS);
    for epoch in 0..EPOCHS {
        for ranking in ranked_by_honest(&r, &cfg, epoch, 0) {
            assert!(!ranking.contains(&3));
        }
    }
}

#[test]
fn duplicate_lottery_is_rejected() {
    rejects_each_epoch(Behavior::DuplicateLottery, "duplicate", 1);
}

#[test]
fn late_lottery_is_rejected() {
    rejects_each_epoch(Behavior::LateLottery, "late", 1);
}

#[test]
fn lotteries_for_another_epoch_or_view_are_rejected() {
    rejects_each_epoch(Behavior::WrongEpochLottery, "wrong_epoch", 1);
    rejects_each_epoch(Behavior::WrongEpochLottery, "wrong_view", 1);
}

#[test]
fn corrupt_announcement_is_rejected_and_the_leader_excluded() {
    let seed = 6;
    let leader = candidates(seed, N, 0, 0)[0];
    let cfg = with_faults(config(N), &[leader], Behavior::CorruptAnnouncement);
    let r = run(&cfg, seed, 1);
    assert_guarantees(&r);
    assert_eq!(r.checks.epochs[0].excluded, vec![leader]);
    assert_eq!(
        r.checks
            .randomness_rejects
            .get("announce_wrong_value")
            .copied(),
        Some(u64::from(N - 1))
    );
    assert_eq!(r.checks.epochs[0].rank, Some(1));
}

#[test]
fn crashed_node_rejoins_at_the_next_epoch() {
    let seed = 7;
    let mut cfg = config(N);
    let epoch_ms = cfg.epoch_params().epoch_len / 1000;
    cfg.crashes.push(CrashConfig {
        node: 2,
        at_ms: epoch_ms / 2,
        restart_ms: Some(epoch_ms + epoch_ms / 2),
    });
    let r = run(&cfg, seed, EPOCHS);
    assert_guarantees(&r);
    assert!(acceptance(&r, 2, 0).is_some(), "accepted before the crash");
    assert!(
        acceptance(&r, 2, 1).is_none(),
        "down during epoch 1's election"
    );
    assert!(acceptance(&r, 2, 2).is_some(), "back for epoch 2");
    assert_eq!(r.checks.epochs[1].honest_accepted, N - 1);
}

#[test]
fn a_partitioned_minority_accepts_nothing_of_its_own() {
    let seed = 8;
    let mut cfg = config(N);
    let epoch_ms = cfg.epoch_params().epoch_len / 1000;
    // The whole of epoch 1's first two views, with three of ten cut off.
    cfg.partitions.push(PartitionConfig {
        start_ms: epoch_ms,
        end_ms: epoch_ms + 800,
        groups: vec![vec![0, 1, 2]],
    });
    let r = run(&cfg, seed, EPOCHS);
    assert_guarantees(&r);
    for node in 0..3 {
        assert!(
            acceptance(&r, node, 1).is_none(),
            "node {node} is in the minority"
        );
    }
    assert_eq!(r.checks.epochs[1].honest_accepted, N - 3);
    assert_eq!(r.checks.epochs[2].honest_accepted, N, "healed by epoch 2");
}

#[test]
fn lossy_links_keep_agreement_across_seeds() {
    let mut cfg = config(N);
    cfg.network.loss = 0.01;
    cfg.network.jitter_ms = 20.0;
    for seed in 20..26 {
        let r = run(&cfg, seed, EPOCHS);
        assert_guarantees(&r);
        assert!(
            r.checks.epochs_with_randomness >= EPOCHS - 1,
            "seed {seed}: {:?}",
            r.checks.epochs
        );
    }
}
