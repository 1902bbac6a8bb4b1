//! Simulation testing over many seeds: each seed draws a configuration (size, latency, jitter,
//! faulty validators with random behaviours, a crash and restart, a minority partition) and the
//! run must keep the guarantees: honest agreement on every epoch's randomness and election within
//! 3Δ per view; and, when no validator is cut off, every epoch gets its randomness.

mod sim_common;

use iosv_harness::epoch::Behavior;
use iosv_harness::sim::SimConfig;
use iosv_harness::sim::config::{CrashConfig, FaultConfig, PartitionConfig};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

const BEHAVIORS: [Behavior; 6] = [
    Behavior::Withhold,
    Behavior::InvalidLottery,
    Behavior::DuplicateLottery,
    Behavior::LateLottery,
    Behavior::WrongEpochLottery,
    Behavior::CorruptAnnouncement,
];

fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

/// A configuration drawn from `seed`; also whether some validator is cut off (crash, partition).
fn draw(seed: u64) -> (SimConfig, bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = 7 + below(&mut rng, 10) as u32;
    let mut cfg = sim_common::config(n);
    cfg.network.latency_ms = 2.0 + below(&mut rng, 15) as f64;
    cfg.network.jitter_ms = below(&mut rng, 20) as f64;
    let epoch_ms = cfg.epoch_params().epoch_len / 1000;
    // Fewer than a third faulty, on distinct nodes.
    let faulty = below(&mut rng, u64::from((n - 1) / 3) + 1) as u32;
    let mut nodes: Vec<u32> = (0..n).collect();
    for i in 0..faulty as usize {
        let j = i + below(&mut rng, (nodes.len() - i) as u64) as usize;
        nodes.swap(i, j);
        cfg.faults.push(FaultConfig {
            node: nodes[i],
            behavior: BEHAVIORS[below(&mut rng, BEHAVIORS.len() as u64) as usize],
        });
    }
    let mut cut_off = false;
    if below(&mut rng, 2) == 0 {
        let at = below(&mut rng, 2 * epoch_ms);
        cfg.crashes.push(CrashConfig {
            node: nodes[faulty as usize],
            at_ms: at,
            restart_ms: Some(at + 1 + below(&mut rng, epoch_ms)),
        });
        cut_off = true;
    }
    if below(&mut rng, 2) == 0 {
        let size = 1 + below(&mut rng, u64::from((n - 1) / 3)) as usize;
        let start = below(&mut rng, 2 * epoch_ms);
        cfg.partitions.push(PartitionConfig {
            start_ms: start,
            end_ms: start + below(&mut rng, epoch_ms),
            groups: vec![nodes[n as usize - size..].to_vec()],
        });
        cut_off = true;
    }
    (cfg, cut_off)
}

#[test]
fn guarantees_hold_across_seeds() {
    let mut cut = 0;
    for seed in 0..24 {
        let (cfg, cut_off) = draw(seed);
        let r = sim_common::run(&cfg, seed, 3);
        assert!(
            r.checks.agreement,
            "seed {seed}: {cfg:?}\n{:?}",
            r.checks.epochs
        );
        assert!(
            r.checks.within_3_delta,
            "seed {seed}: {} µs after the close",
            r.checks.max_elapsed_us
        );
        if cut_off {
            cut += 1;
        } else {
            assert_eq!(r.checks.epochs_with_randomness, 3, "seed {seed}: {cfg:?}");
        }
    }
    assert!(
        (4..20).contains(&cut),
        "the sweep mixes runs with and without cut-off nodes: {cut}"
    );
}

/// Beyond synchrony: 3% loss and per-hop delays that can exceed Δ/3 (so the placeholder's three
/// hops may not fit in a candidate's window). Liveness may suffer; agreement may not (the lock:
/// each node vouches for one round per epoch).
#[test]
fn agreement_survives_loss_and_slow_links() {
    for seed in 100..116 {
        let (mut cfg, _) = draw(seed);
        cfg.network.loss = 0.03;
        cfg.network.jitter_ms = 2.0 * cfg.network.jitter_ms + 10.0;
        let r = sim_common::run(&cfg, seed, 3);
        assert!(
            r.checks.agreement,
            "seed {seed}: {cfg:?}\n{:?}",
            r.checks.epochs
        );
        assert!(r.checks.within_3_delta, "seed {seed}");
    }
}
