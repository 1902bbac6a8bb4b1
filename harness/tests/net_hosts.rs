//! The hosts-file path of `iosv net`, exercised on loopback: a ledger network whose odd nodes
//! run on a "remote" host reached through `IOSV_SSH` and `IOSV_SCP`. Here they point at two small
//! scripts that do what ssh and scp would — run the command line, copy the files — on this
//! machine, recording every call; so the launcher's remote steps (make the folder, copy the
//! node files, start the node over SSH with its output carried back, SIGKILL and SIGTERM it
//! with `pkill` on its host, copy its store back for the checks) all run, and the network
//! settles its load and passes its checks with one remote node killed and restarted; `iosv net
//! report` then gives the same figures and checks from the logs and stores alone.
//!
//! The by-hand path: `iosv net init` writes a league, its nodes are started as plain
//! `iosv node` processes, `iosv net down` stops them all (SIGTERM, found by their configuration),
//! and `iosv net report` checks their stores.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

mod net_common;

use net_common::{free_ports, report_of, scratch};

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_ledger_network_runs_on_the_hosts_of_a_hosts_file() {
    let dir = scratch("hosts");
    let tools = scratch("hosts-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let calls = tools.join("calls");
    // ssh DEST -- LINE: record the call, run LINE here.
    script(
        &tools.join("fake-ssh"),
        &format!(
            "#!/bin/sh\necho \"ssh $*\" >> {calls}\ndest=\"$1\"; shift\n[ \"$1\" = \"--\" ] && shift\nexec sh -c \"$*\"\n",
            calls = calls.display()
        ),
    );
    // scp SRC... DEST: record the call, copy with every `HOST:` prefix taken off.
    script(
        &tools.join("fake-scp"),
        &format!(
            "#!/bin/sh\necho \"scp $*\" >> {calls}\nfor a; do dest=\"$a\"; done\ndest=\"${{dest#*:}}\"\n\
             while [ $# -gt 1 ]; do\n  src=\"${{1#*:}}\"; shift\n  \
             if [ -d \"$dest\" ]; then t=\"$dest/$(basename \"$src\")\"; else t=\"$dest\"; fi\n  \
             [ \"$src\" -ef \"$t\" ] || cp \"$src\" \"$t\" || exit 1\ndone\n",
            calls = calls.display()
        ),
    );
    let hosts = tools.join("hosts");
    std::fs::write(
        &hosts,
        "# node i runs on line i mod 2\nlocal 127.0.0.1\nops@host-b 127.0.0.1\n",
    )
    .unwrap();
    let base = free_ports(4);
    let out = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .env("IOSV_SSH", tools.join("fake-ssh"))
        .env("IOSV_SCP", tools.join("fake-scp"))
        .args(["net", "load", "--shards", "2", "--gateways", "2"])
        .args(["--rate", "200", "--load-seconds", "2", "--seconds", "120"])
        // Node 1, on host-b, SIGKILLed on its host 0.8 s in and started again 0.3 s later.
        .args(["--kill-restart", "1@800+300"])
        .args(["--base-port", &base.to_string()])
        .arg("--hosts")
        .arg(&hosts)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let report = report_of(out);
    assert_eq!(report["drained"], true, "{report}");
    assert_eq!(report["check"]["violations"], serde_json::json!([]));
    assert_eq!(report["starts"], serde_json::json!([1, 2, 1, 1]));
    assert_eq!(report["figures"]["forged_committed"], 0);

    // The remote steps ran for host-b's nodes (1 and 3), and only for them.
    let calls = std::fs::read_to_string(&calls).unwrap();
    let dir = dir.canonicalize().unwrap();
    let d = dir.display();
    // The folder as the pkill pattern writes it (a regular expression: dots escaped).
    let de = d.to_string().replace('.', "\\.");
    for expected in [
        format!("ssh ops@host-b -- mkdir -p {d}"),
        format!("scp {d}/node-1.json {d}/node-1.key {d}/node-1.cosi ops@host-b:{d}/"),
        format!(
            "ops@host-b -- {} node --config {d}/node-1.json",
            env!("CARGO_BIN_EXE_iosv")
        ),
        format!(
            "ops@host-b -- {} node --config {d}/node-3.json",
            env!("CARGO_BIN_EXE_iosv")
        ),
        format!("ops@host-b -- pkill -KILL -f '[n]ode --config {de}/node-1\\.json$'"),
        format!("ops@host-b -- pkill -TERM -f '[n]ode --config {de}/node-3\\.json$'"),
        format!("scp ops@host-b:{d}/node-1.redb {d}/node-1.redb"),
    ] {
        assert!(
            calls.contains(&expected),
            "no call {expected:?} in:\n{calls}"
        );
    }
    assert!(!calls.contains("node-0.json") && !calls.contains("node-2.json"));
    // `net report` rebuilds the same report from the logs and stores alone.
    let out = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["net", "report", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    for key in ["drained", "starts", "check"] {
        assert_eq!(again[key], report[key], "{key}");
    }
    assert_eq!(again["figures"], report["figures"]);
    // The killed remote node came back from its store.
    let log = std::fs::read_to_string(dir.join("node-1.log")).unwrap();
    assert!(log.contains("\"incarnation\":1"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&tools);
}

#[test]
fn a_league_started_by_hand_stops_with_net_down_and_reports() {
    let dir = scratch("by-hand");
    let base = free_ports(4);
    let iosv = env!("CARGO_BIN_EXE_iosv");
    let init = Command::new(iosv)
        .args([
            "net",
            "init",
            "--nodes",
            "4",
            "--base-port",
            &base.to_string(),
        ])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut nodes: Vec<_> = (0..4)
        .map(|i| {
            let log = std::fs::File::create(dir.join(format!("node-{i}.log"))).unwrap();
            Command::new(iosv)
                .arg("node")
                .arg("--config")
                .arg(dir.join(format!("node-{i}.json")))
                .stdout(log)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Until every node logged 20 finalized heights (or a minute).
    let finalized = |i: usize| {
        std::fs::read_to_string(dir.join(format!("node-{i}.log")))
            .unwrap_or_default()
            .matches("\"event\":\"finalized\"")
            .count()
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while (0..4).any(|i| finalized(i) < 20) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        (0..4).all(|i| finalized(i) >= 20),
        "the league did not finalize 20 heights"
    );
    let down = Command::new(iosv)
        .args(["net", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let stopped: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&down.stdout).trim()).unwrap();
    assert_eq!(stopped.as_array().unwrap().len(), 4, "{stopped}");
    assert!(
        stopped
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["killed"] == false),
        "every node stops on SIGTERM: {stopped}"
    );
    for node in &mut nodes {
        assert!(
            node.wait().unwrap().success(),
            "a node exits cleanly on SIGTERM"
        );
    }
    let report = Command::new(iosv)
        .args(["net", "report", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&report.stdout).trim()).unwrap();
    assert_eq!(report["nodes"], 4);
    let heights = report["check"]["heights"].as_array().unwrap();
    assert!(
        heights.iter().all(|h| h.as_u64().unwrap() >= 20),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
