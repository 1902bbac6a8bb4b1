//! Flag values that used to crash `iosv` (a panic, an allocation abort or an assertion) are now
//! refused with exit code 2 and a message naming the value, before any work starts.

use std::process::Command;

fn iosv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(args)
        .output()
        .expect("run iosv")
}

#[test]
fn out_of_range_values_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["pipeline", "--tx", "10", "--rate", "0"], "0"),
        (&["pipeline", "--tx", "10", "--rate", "NaN"], "NaN"),
        (&["pipeline", "--tx", "10", "--rate=-5"], "-5"),
        (&["pipeline", "--tx", "10", "--rate", "inf"], "inf"),
        (&["pipeline", "--tx", "10", "--rate", "1e-9"], "1e-9"),
        (&["pipeline", "--tx", "10", "--rate", "1e300"], "1e300"),
        (
            &["pipeline", "--tx", "10", "--keys", "1099511627776"],
            "1099511627776",
        ),
        (
            &["gen-sigs", "--count", "1", "--keys", "1099511627776"],
            "1099511627776",
        ),
        (&["gen-sigs", "--count", "1", "--keys", "0"], "0"),
        (
            &["gen-sigs", "--count", "1", "--msg-len", "1000000000"],
            "1000000000",
        ),
        (&["simulate", "shard-safety", "--fractions", "1.5"], "1.5"),
        (&["simulate", "shard-safety", "--fractions=-0.1"], "-0.1"),
        (&["simulate", "shard-safety", "--fractions", "NaN"], "NaN"),
    ];
    for (args, value) in cases {
        let out = iosv(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "iosv {}: expected exit 2, got {:?}: {stderr}",
            args.join(" "),
            out.status.code()
        );
        assert!(
            stderr.contains(value),
            "iosv {}: the message should name {value}: {stderr}",
            args.join(" ")
        );
        assert!(
            !stderr.contains("panicked"),
            "iosv {}: {stderr}",
            args.join(" ")
        );
    }
}

#[test]
fn in_range_values_still_run() {
    let out = iosv(&["gen-sigs", "--count", "2", "--keys", "3", "--msg-len", "0"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn a_failed_check_exits_1() {
    // Half the messages lost: no epoch gets randomness. "Elected within 3Δ" would pass
    // vacuously; the run must still say FAILED and exit 1.
    let dir = std::env::temp_dir().join(format!("iosv-cli-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("lossy.json");
    std::fs::write(
        &cfg,
        r#"{"validators":16,"shards":2,"delta_ms":100,"network":{"latency_ms":90,"jitter_ms":50,"loss":0.5}}"#,
    )
    .unwrap();
    let out = iosv(&[
        "simulate",
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("randomness in every epoch: FAILED"),
        "{stdout}"
    );
    // A demo configuration does not take the simulator's flags.
    let demo = dir.join("demo.json");
    let printed = iosv(&["demo", "--print-config"]);
    std::fs::write(&demo, &printed.stdout).unwrap();
    for flag in [&["--epochs", "2"][..], &["--realtime"]] {
        let mut args = vec!["simulate", "--config", demo.to_str().unwrap()];
        args.extend_from_slice(flag);
        let out = iosv(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {stderr}");
        assert!(stderr.contains(flag[0]), "{flag:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The demo's `backend` configuration field: `--backend` writes it into the configuration that
/// runs (and that `--print-config` shows, reading back unchanged), a bad name is refused with the
/// name, a local backend from the file runs and is what the report's configuration says, and a
/// remote one from the file where no remote client can be opened (`--sweep`) is refused with why.
#[test]
fn the_demo_backend_is_a_configuration_field() {
    let dir = std::env::temp_dir().join(format!("iosv-demo-backend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let printed = iosv(&["demo", "--print-config", "--backend", "cpu"]);
    assert!(printed.status.success());
    let mut cfg: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(cfg["backend"], "cpu");
    let path = dir.join("demo.json");
    std::fs::write(&path, &printed.stdout).unwrap();
    let again = iosv(&["demo", "--config", path.to_str().unwrap(), "--print-config"]);
    assert_eq!(again.stdout, printed.stdout, "reads back unchanged");

    cfg["backend"] = "fpga".into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let out = iosv(&["demo", "--config", path.to_str().unwrap(), "--print-config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown backend `fpga`"), "{stderr}");

    cfg["backend"] = "cpu".into();
    cfg["shards"] = 2.into();
    cfg["rate"] = 2000.0.into();
    cfg["duration_s"] = 0.3.into();
    cfg["warmup_s"] = 0.1.into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let out_dir = dir.join("out");
    let out = iosv(&[
        "demo",
        "--config",
        path.to_str().unwrap(),
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["config"]["backend"], "cpu");
    assert_eq!(report["invariants_ok"], true);

    cfg["backend"] = "remote:127.0.0.1:9".into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let out = iosv(&[
        "demo",
        "--config",
        path.to_str().unwrap(),
        "--sweep",
        "1000",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a remote backend is opened by `iosv demo`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
