//! `iosv simulate` without a configuration runs the real DRP as the epoch randomness protocol: the
//! guarantees hold (exit 0), the same seed writes the same trace, and a configuration that asks for
//! a placeholder-only fault with the DRP is refused with a clear error (exit 2).

use std::process::Command;

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iosv"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("iosv runs")
}

#[test]
fn the_default_run_uses_the_drp_and_is_reproducible() {
    let dir = std::env::temp_dir().join(format!("iosv-sim-cli-drp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = |name: &str| {
        let path = dir.join(name);
        let out = simulate(&[
            "--seed",
            "9",
            "--epochs",
            "2",
            "--trace",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("randomness: drp"), "{text}");
        assert!(text.contains("agreement: ok"), "{text}");
        std::fs::read(path).unwrap()
    };
    let (a, b) = (trace("a.jsonl"), trace("b.jsonl"));
    assert!(!a.is_empty());
    assert_eq!(a, b, "same seed, same trace");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_placeholder_only_fault_with_the_drp_is_refused() {
    let dir = std::env::temp_dir().join(format!("iosv-sim-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"randomness": "drp", "faults": [{"node": 3, "behavior": "corrupt_announcement"}]}"#,
    )
    .unwrap();
    let out = simulate(&["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only with the placeholder"));
    std::fs::remove_dir_all(&dir).ok();
}
