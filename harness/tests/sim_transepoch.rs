//! TransEpoch in the simulator: validators move between shards in batches while the shards keep
//! committing real signed transactions; a batch of a third of a shard or more is refused.

mod sim_common;

use iosv_harness::epoch::Behavior;
use iosv_harness::sim::SimConfig;
use sim_common::{assert_guarantees, run, with_faults};

/// 24 validators in 3 shards of 8; joiners take 100 ms to sync; 4 epochs.
fn cfg() -> SimConfig {
    SimConfig {
        validators: 24,
        shards: 3,
        ..SimConfig::default()
    }
}

const EPOCHS: u64 = 4;

#[test]
fn throughput_never_stops_and_shards_keep_two_thirds_ready() {
    let r = run(&cfg(), 31, EPOCHS);
    assert_guarantees(&r);
    let m = &r.shard_metrics;
    let done: Vec<_> = m
        .transitions
        .iter()
        .filter(|t| t.refused.is_none())
        .collect();
    assert_eq!(
        done.len() as u64,
        EPOCHS,
        "one transition per epoch: {:?}",
        m.transitions
    );
    assert!(
        done.iter()
            .all(|t| t.moves > 0 && t.batches > 1 && t.end.is_some())
    );
    assert!(!m.transition_slices.is_empty());
    for (shard, min) in m.min_committed_in_transition.iter().enumerate() {
        let min = min.expect("transitions ran");
        assert!(
            min > 0,
            "shard {shard} committed nothing in a slice during TransEpoch"
        );
    }
    assert_eq!(m.safety_violations, 0);
    assert!(m.min_ready_fraction > 2.0 / 3.0, "{}", m.min_ready_fraction);
    assert!(
        m.min_ready_fraction < 1.0,
        "batches did take members out of service"
    );
    assert_eq!(m.stalled_slots, 0);
    // Every slot of every shard committed its block of real transactions.
    let slots = r.epoch_len_us * EPOCHS / 50_000;
    for &c in &r.committed_per_shard {
        assert_eq!(c, slots * 4);
    }
}

#[test]
fn a_swap_batch_of_a_third_or_more_is_refused() {
    let mut cfg = cfg();
    cfg.transepoch.batch_size = Some(3); // 3 of 8 is more than a third
    let r = run(&cfg, 31, 2);
    assert_guarantees(&r);
    let m = &r.shard_metrics;
    assert_eq!(m.transitions.len(), 2);
    for t in &m.transitions {
        let why = t.refused.as_deref().expect("refused");
        assert!(why.contains("third or more"), "{why}");
        assert_eq!(t.moves, 0);
    }
    assert!(m.transition_slices.is_empty(), "no membership change ran");
    assert_eq!(m.stalled_slots, 0);
    assert!(r.committed_per_shard.iter().all(|&c| c > 0));
}

/// The safety measurement is not vacuous: with the largest allowed batch (2 of 8) and faulty
/// members eating the same margin, some shard does drop to two thirds or fewer ready, and the
/// simulation reports it (and stalls rather than commit without a quorum).
#[test]
fn faults_plus_the_largest_batch_are_detected_as_unsafe() {
    let mut cfg = with_faults(cfg(), &[0, 5, 10, 15, 20], Behavior::DuplicateLottery);
    cfg.transepoch.batch_size = Some(2);
    let r = run(&cfg, 31, EPOCHS);
    let m = &r.shard_metrics;
    assert!(m.safety_violations > 0, "{m:?}");
    assert!(m.min_ready_fraction <= 2.0 / 3.0);
    assert!(m.stalled_slots > 0);
}
