//! The real-time runner drives the same validator state machines on threads with channels, in
//! real time, and they elect the same leaders and accept the same randomness as in the simulator.

mod sim_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iosv_harness::epoch::Output;
use iosv_harness::runtime;
use iosv_harness::sim::{SimConfig, run::validators};

#[test]
fn real_time_run_agrees_with_the_simulator() {
    let seed = 9;
    let cfg = SimConfig {
        validators: 7,
        shards: 1,
        // Δ is generous so a loaded machine's scheduling delays stay well inside it.
        delta_ms: 200,
        epoch_len_ms: Some(2_400),
        ..SimConfig::default()
    };
    let nodes = validators(&cfg, seed).unwrap();
    // Epochs 0 and 1 complete; epoch 2 starts at 4.8 s, after the run.
    let records = runtime::run(nodes, Duration::from_millis(4_000));
    let mut accepted: BTreeMap<u64, BTreeMap<u32, [u8; 32]>> = BTreeMap::new();
    for r in &records {
        if let Output::RandomnessAccepted {
            epoch,
            value,
            elapsed,
            ..
        } = r.output
        {
            assert!(
                elapsed <= 3 * 100_000,
                "accepted {elapsed} µs after the close"
            );
            accepted.entry(epoch).or_default().insert(r.node, value);
        }
    }
    let simulated = sim_common::run(&cfg, seed, 2);
    for epoch in 0..2u64 {
        let by_node = accepted.get(&epoch).expect("epoch accepted in real time");
        assert_eq!(by_node.len(), 7, "every node accepted epoch {epoch}");
        let values: BTreeSet<_> = by_node.values().collect();
        assert_eq!(values.len(), 1, "agreement in epoch {epoch}");
        let sim_value = simulated.checks.epochs[epoch as usize]
            .value
            .clone()
            .unwrap();
        assert_eq!(hex::encode(values.first().unwrap()), sim_value);
    }
}
