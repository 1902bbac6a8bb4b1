//! Seeded fault runs of `iosv demo`'s believable-first processing, each small enough for CI:
//! every fault is caught or survived, and the invariants hold (supply, no double spend, honest
//! agreement, state trees, no locks left), with nothing lost: every transaction sent is either
//! finalized or refused for a reason the report counts.

use iosv_harness::demo::{self, DemoConfig, DemoReport, Fault, Quiet};
use iosv_harness::pob::LeagueMode;

fn small(seed: u64) -> DemoConfig {
    let mut cfg = DemoConfig {
        shards: 2,
        rate: 2_000.0,
        duration_s: 1.5,
        warmup_s: 0.5,
        cross_shard_fraction: 0.05,
        invalid_fraction: 0.0,
        block_interval_ms: 50,
        accounts_per_shard: 200,
        faults: Vec::new(),
        seed,
        ..DemoConfig::default()
    };
    cfg.policy.sampling_probability = 0.05;
    cfg
}

fn run(cfg: &DemoConfig) -> DemoReport {
    let report = demo::run(cfg, &Quiet).expect("the demo runs");
    let summary = demo::report::summary(&report);
    assert!(report.invariants_ok, "invariants violated:\n{summary}");
    let sent = ((cfg.duration_s + cfg.warmup_s) * cfg.rate).round() as u64;
    assert!(report.sent >= sent);
    let sent = report.sent;
    assert_eq!(
        report.finalized_total
            + report.frauds.excluded_before_finality
            + report.frauds.dropped_by_honest_validators
            + report.frauds.withheld,
        sent,
        "every transaction is finalized or counted as refused:\n{summary}"
    );
    assert!(report.cross_shard.errors.is_empty(), "{summary}");
    report
}

#[test]
fn a_fraudulent_believable_validator_is_caught_slashed_and_its_victims_compensated() {
    // Forged transactions rarer than 1/p: each escapes one sampler with probability 1 - p, all
    // seven with (1 - p)^7 ≈ 0.70; the first caught convicts the producer and the re-check of
    // everything it produced finds the rest.
    let mut cfg = small(11);
    cfg.invalid_fraction = 0.02;
    assert!(cfg.invalid_fraction < cfg.policy.sampling_probability);
    cfg.faults = vec![Fault::Fraudulent { shard: 0 }];
    let r = run(&cfg);
    let f = &r.frauds;
    assert!(f.injected > 0, "the fraudulent validator let forgeries in");
    assert!(f.detected_by_sampling >= 1);
    assert_eq!(
        f.slashed.len(),
        1,
        "exactly the fraudulent validator is slashed"
    );
    assert_eq!(
        f.uncaught, 0,
        "every forgery is excluded or found and compensated"
    );
    assert_eq!(
        f.injected,
        f.excluded_before_finality + f.found_finalized_and_compensated
    );
    assert_eq!(
        f.compensated,
        f.found_finalized_and_compensated * demo::workload::COIN,
        "each victim gets its input back"
    );
    assert!(f.proofs_verified >= 1 && f.proof_bytes > 0);
    assert!(f.seized >= f.compensated);
    // The convicted validator left the believable league; the others carried on.
    assert!(r.verification.recheck_per_tx > 0.0);
    // The validators' links in the real-time demo lose nothing: every auditor answered.
    assert_eq!(r.verification.verdicts_missing, 0);
    assert!(r.verification.sampled_fraction > 0.0);
}

#[test]
fn an_equivocating_believable_validator_is_slashed_and_its_block_discarded() {
    let mut cfg = small(12);
    cfg.faults = vec![Fault::Equivocating { shard: 1, block: 2 }];
    let r = run(&cfg);
    assert_eq!(r.frauds.equivocations, 1);
    assert_eq!(r.frauds.slashed.len(), 1);
    assert!(r.frauds.seized > 0);
}

#[test]
fn finality_survives_a_crashed_sub_leader_a_silent_committer_and_a_crashed_leader() {
    let mut cfg = small(13);
    cfg.faults = vec![
        Fault::SubLeaderCrash {
            shard: 0,
            height: 2,
        },
        Fault::CommitThenSilent {
            shard: 1,
            height: 3,
        },
        Fault::LeaderCrash {
            shard: 1,
            height: 6,
        },
    ];
    let r = run(&cfg);
    assert_eq!(r.finality.faults_injected, 3);
    assert_eq!(
        r.finality.retries, 0,
        "PBFT recovers each height within its deadline"
    );
    assert!(
        r.finality.pbft_heights >= 1,
        "a crashed leader's height is finalized by PBFT"
    );
}

#[test]
fn a_shard_short_of_validators_runs_one_league_over_every_transaction() {
    let mut cfg = small(14);
    cfg.short_shards = vec![1];
    let r = run(&cfg);
    assert_eq!(r.leagues[0].mode, LeagueMode::TwoLeagues);
    assert_eq!(r.leagues[1].mode, LeagueMode::SingleLeague);
    assert_eq!(r.leagues[1].normal, cfg.short_shard_validators);
    assert!(r.verification.single_league_per_tx > 0.0);
    assert!(
        r.finality.pbft_heights > 0,
        "the single league agrees by PBFT"
    );
}

#[test]
fn crashed_clients_and_replayed_atomix_finishes_keep_the_invariants() {
    // One client node, then two (each shard's arrivals and each cross-shard transaction's
    // Atomix client on one of them; the shards route proofs and outcomes by txid).
    for threads in [1, 2] {
        let mut cfg = small(15);
        cfg.cross_shard_fraction = 0.3;
        cfg.client_threads = Some(threads);
        cfg.faults = vec![
            Fault::ClientCrashAfterLock { every: 5 },
            Fault::ReplayAtomixProofs { every: 3 },
        ];
        let r = run(&cfg);
        assert_eq!(r.client_threads, threads);
        let c = &r.cross_shard;
        assert!(c.client_crashes > 0);
        assert_eq!(
            c.recovered, c.client_crashes,
            "every stalled lock is recovered"
        );
        assert!(c.replays_sent > 0);
        assert_eq!(
            c.replays_refused, c.replays_sent,
            "every replayed finish is refused"
        );
        assert!(c.committed > 0);
    }
}

#[test]
fn a_double_spend_across_two_input_shards_commits_at_most_once() {
    let mut cfg = small(17);
    cfg.cross_shard_fraction = 0.2;
    cfg.faults = vec![Fault::CrossShardDoubleSpend { every: 4 }];
    let r = run(&cfg);
    let c = &r.cross_shard;
    let attempts = r.sent - ((cfg.duration_s + cfg.warmup_s) * cfg.rate).round() as u64;
    assert!(attempts > 0);
    // Of each pair one commits at most: every attempt aborts or makes its twin abort.
    assert!(
        c.aborted >= attempts,
        "{} aborted for {attempts} pairs",
        c.aborted
    );
    assert!(r.invariants.no_double_spend);
}

#[test]
fn bad_configurations_are_refused_with_the_field_named() {
    let mut cfg = small(16);
    cfg.rate = -1.0;
    let e = demo::run(&cfg, &Quiet).expect_err("refused").to_string();
    assert!(e.contains("rate"), "{e}");
    let mut cfg = small(16);
    cfg.faults = vec![Fault::Fraudulent { shard: 9 }];
    let e = demo::run(&cfg, &Quiet).expect_err("refused").to_string();
    assert!(e.contains("shard 9"), "{e}");
    let json = serde_json::to_string(&DemoConfig::default()).expect("serializes");
    let back: DemoConfig = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back, DemoConfig::default());
    assert!(serde_json::from_str::<DemoConfig>(&json.replace("\"rate\"", "\"rat\"")).is_err());
}

#[test]
fn the_command_prints_the_summary_and_a_json_last_line() {
    let dir = std::env::temp_dir().join(format!("iosv-demo-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cfg = small(18);
    cfg.duration_s = 0.5;
    let config = dir.join("demo.json");
    std::fs::write(&config, serde_json::to_string(&cfg).expect("serializes")).expect("written");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["demo", "--json", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("iosv runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("invariants:"), "{stdout}");
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a last line")).expect("JSON");
    for key in [
        "final_tps",
        "optimistic_tps",
        "final_p99_ms",
        "invariants_ok",
    ] {
        assert!(last.get(key).is_some(), "{key} missing");
    }
    assert_eq!(last["invariants_ok"], serde_json::Value::Bool(true));
    assert!(dir.join("demo-report.json").exists() && dir.join("demo-summary.md").exists());
    let swept = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["demo", "--sweep", "1000,3000", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("iosv runs");
    assert!(swept.status.success());
    let svg = std::fs::read_to_string(dir.join("demo-sweep.svg")).expect("the plot");
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
    let points: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("demo-sweep.json")).expect("the points"),
    )
    .expect("JSON");
    assert_eq!(points.as_array().map(Vec::len), Some(2));
    // `iosv simulate --config` runs a demo configuration as well.
    let simulated = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["simulate", "--json", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("iosv runs");
    let stdout = String::from_utf8_lossy(&simulated.stdout);
    assert!(simulated.status.success(), "{stdout}");
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a last line")).expect("JSON");
    assert_eq!(last["invariants_ok"], serde_json::Value::Bool(true));
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"shards\": \"two\"}").expect("written");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["simulate", "--config"])
        .arg(&junk)
        .output()
        .expect("iosv runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("a simulation configuration"));
    // The kind is the file's word, never a guess: a demo configuration without "kind" is read as
    // a simulation one (and refused, saying how to mark it), one of an unknown kind is refused,
    // and `iosv demo` refuses a file that says it is a simulation configuration.
    let text = std::fs::read_to_string(&config).expect("the configuration");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        value["kind"], "demo",
        "a written configuration carries its kind"
    );
    for (kind, command, needle) in [
        (None, "simulate", "\"kind\": \"demo\""),
        (Some("sim"), "simulate", "the kinds are"),
        (
            Some("simulation"),
            "demo",
            "where a demo configuration is read",
        ),
    ] {
        match kind {
            None => value.as_object_mut().unwrap().remove("kind"),
            Some(k) => value
                .as_object_mut()
                .unwrap()
                .insert("kind".into(), k.into()),
        };
        let path = dir.join("kind.json");
        std::fs::write(&path, value.to_string()).expect("written");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
            .args([command, "--config"])
            .arg(&path)
            .output()
            .expect("iosv runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{kind:?}: {stderr}");
        assert!(stderr.contains(needle), "{kind:?}: {stderr}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["demo", "--rate", "0"])
        .output()
        .expect("iosv runs");
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
