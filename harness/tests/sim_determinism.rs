//! The simulator is deterministic: the same seed and configuration give a byte-identical trace,
//! through the library and through `iosv simulate --trace`; another seed gives another trace.

mod sim_common;

use std::process::Command;

use iosv_harness::sim::config::{CrashConfig, PartitionConfig};
use iosv_harness::sim::{self, SimConfig};

/// A configuration that exercises every source of nondeterminism the simulator must tame:
/// jitter, loss, a partition, a crash and a restart, several shards and TransEpoch.
fn busy_config() -> SimConfig {
    let mut cfg = sim_common::config(16);
    cfg.network.jitter_ms = 20.0;
    cfg.network.loss = 0.02;
    cfg.partitions.push(PartitionConfig {
        start_ms: 2_500,
        end_ms: 3_000,
        groups: vec![
            vec![0, 1, 2],
            vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        ],
    });
    cfg.crashes.push(CrashConfig {
        node: 5,
        at_ms: 1_000,
        restart_ms: Some(3_300),
    });
    cfg
}

fn trace_of(cfg: &SimConfig, seed: u64) -> Vec<u8> {
    sim::run(cfg, seed, 3, Vec::new()).expect("runs").1
}

#[test]
fn same_seed_gives_a_byte_identical_trace() {
    let cfg = busy_config();
    let a = trace_of(&cfg, 11);
    let b = trace_of(&cfg, 11);
    assert!(
        a.len() > 10_000,
        "trace too short to mean anything: {} bytes",
        a.len()
    );
    assert!(a == b, "two runs with seed 11 wrote different traces");
    let text = String::from_utf8(a).expect("utf-8");
    for ev in [
        "\"ev\":\"send\"",
        "\"ev\":\"deliver\"",
        "\"ev\":\"drop\"",
        "\"ev\":\"timer\"",
        "\"ev\":\"crash\"",
        "\"ev\":\"restart\"",
        "\"ev\":\"partition_start\"",
        "\"ev\":\"output\"",
        "\"ev\":\"shard_block\"",
        "\"ev\":\"transepoch_batch\"",
        "\"reason\":\"loss\"",
        "\"reason\":\"partition\"",
        "\"reason\":\"receiver_down\"",
    ] {
        assert!(text.contains(ev), "trace has no {ev}");
    }
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
}

#[test]
fn another_seed_gives_another_trace() {
    let cfg = busy_config();
    assert!(trace_of(&cfg, 11) != trace_of(&cfg, 12));
}

#[test]
fn the_command_writes_the_same_trace_twice() {
    let dir = std::env::temp_dir().join(format!("iosv-sim-det-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Without loss, so the guarantees hold and the command exits 0 (the placeholder randomness
    // protocol has no collective sign-off: a lost lottery can split the honest nodes' rankings).
    let mut cfg = busy_config();
    cfg.network.loss = 0.0;
    let config = dir.join("config.json");
    std::fs::write(&config, serde_json::to_string(&cfg).unwrap()).unwrap();
    let run = |name: &str| {
        let trace = dir.join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_iosv"))
            .args(["simulate", "--seed", "5", "--epochs", "2", "--config"])
            .arg(&config)
            .arg("--trace")
            .arg(&trace)
            .output()
            .expect("iosv runs");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::read(trace).unwrap()
    };
    let (a, b) = (run("a.jsonl"), run("b.jsonl"));
    assert!(!a.is_empty() && a == b);
    assert_eq!(
        a,
        sim::run(&cfg, 5, 2, Vec::new()).unwrap().1,
        "CLI and library agree"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn configuration_is_strict_json() {
    let cfg = busy_config();
    let text = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<SimConfig>(&text).unwrap(), cfg);
    assert!(serde_json::from_str::<SimConfig>(r#"{"validatorz": 4}"#).is_err());
    let partial: SimConfig = serde_json::from_str(r#"{"validators": 12, "delta_ms": 50}"#).unwrap();
    assert_eq!(
        (partial.validators, partial.delta_ms, partial.shards),
        (12, 50, 2)
    );
    let bad = SimConfig {
        validators: 3,
        ..SimConfig::default()
    };
    assert!(sim::run(&bad, 1, 1, std::io::sink()).is_err());
    let unknown = sim_common::with_faults(
        sim_common::config(8),
        &[8],
        iosv_harness::epoch::Behavior::Withhold,
    );
    assert!(sim::run(&unknown, 1, 1, std::io::sink()).is_err());
}
