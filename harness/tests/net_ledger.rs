//! A ledger network as separate processes on loopback TCP: `iosv net load` starts two Atomix
//! shards and two client gateways, each its own `iosv node`, sends a signed load with
//! cross-shard and forged transactions, SIGKILLs a shard and a gateway mid-load and starts them
//! again from their stores. Every transaction settles; no forged one commits; the shards'
//! stores, replayed, agree with what the live shards reported and pass the checks across
//! processes (atomicity, no double spend, each shard's books, supply, no locks left). Then the
//! check is shown to fail on a store that lost its last journal entries.
//!
//! The second test runs every validator as its own process (`--every-validator`): shard 0's
//! leader is fraudulent (it accepts forged signatures), its three co-signers each find the fraud
//! in its journal, convict it and hand the lead to the next member, while shard 1's leader and
//! one of its co-signers are SIGKILLed and restarted mid-load. The load still settles, nothing
//! forged commits, and every honest member's history agrees with its shard's.

use std::path::Path;
use std::process::Command;

use iosv_harness::net::config::load;
use iosv_harness::net::ledger_check::check_ledger;

mod net_common;

/// The two networks here would share the 2 cores of a small machine if they ran at once, and
/// their planned kills land at fixed times: one at a time.
static ONE_NETWORK_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_NETWORK_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

use net_common::{free_ports, report_of, scratch};

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Removes the last `n` entries of the journal in the store at `path`.
fn drop_last_entries(path: &Path, n: u64) {
    use redb::{ReadableTableMetadata, TableDefinition};
    const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(JOURNAL).unwrap();
        let len = table.len().unwrap();
        assert!(len > n, "the journal has {len} entries");
        for i in len - n..len {
            table.remove(i).unwrap();
        }
    }
    txn.commit().unwrap();
}

#[test]
fn a_ledger_network_of_processes_settles_its_load_through_kills_and_its_stores_check() {
    let _serial = one_at_a_time();
    let dir = scratch("ledger-load");
    let base = free_ports(4);
    let out = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["net", "load", "--shards", "2", "--gateways", "2"])
        .args(["--rate", "300", "--load-seconds", "3", "--seconds", "120"])
        .args(["--cross-shard", "0.2", "--forged", "0.03"])
        // Shard 0 down from 1.2 s to 1.7 s, gateway 3 from 1.8 s to 2.1 s, mid-load.
        .args([
            "--kill-restart",
            "0@1200+500",
            "--kill-restart",
            "3@1800+300",
        ])
        .args(["--base-port", &base.to_string()])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let report = report_of(out);
    assert_eq!(report["drained"], true, "{report}");
    assert_eq!(
        report["check"]["violations"],
        serde_json::json!([]),
        "{report}"
    );
    assert_eq!(report["starts"], serde_json::json!([2, 1, 1, 2]));
    let figures = &report["figures"];
    let transactions = figures["transactions"].as_u64().unwrap();
    assert!(transactions >= 800, "{figures}");
    assert_eq!(figures["settled"].as_u64().unwrap(), transactions);
    assert_eq!(figures["forged_committed"], 0);
    // Forged transactions exist in the load and were all refused (aborted), with honest ones
    // committing around them.
    assert!(figures["aborted"].as_u64().unwrap() >= 1, "{figures}");
    assert!(
        figures["committed"].as_u64().unwrap() > transactions / 2,
        "{figures}"
    );
    assert_eq!(
        report["check"]["genesis_value"], report["check"]["final_value"],
        "{report}"
    );
    assert_eq!(report["check"]["locks_left"], 0);
    // The killed shard came back from its journal, not from scratch.
    let shard0 = lines(&dir.join("node-0.log"));
    let restarted = shard0
        .iter()
        .find(|v| v["event"] == "started" && v["incarnation"] == 1)
        .expect("shard 0 started a second time");
    assert!(
        restarted["replayed_entries"].as_u64().unwrap() > 0,
        "{restarted}"
    );
    // The killed gateway resumed its load clock where it was, not at 0.
    let gateway = lines(&dir.join("node-3.log"));
    let resumed = gateway
        .iter()
        .find(|v| v["event"] == "started" && v["incarnation"] == 1)
        .expect("gateway 3 started a second time");
    assert!(
        resumed["clock_offset_ms"].as_u64().unwrap() >= 1_000,
        "{resumed}"
    );

    // The check is not vacuous: a shard store that lost its last journal entries (the ends of
    // transactions other shards and the gateways saw) fails it.
    let loaded: Vec<_> = (0..4)
        .map(|i| load(&dir.join(format!("node-{i}.json"))).unwrap())
        .collect();
    assert!(
        check_ledger(&loaded, true, &Default::default())
            .unwrap()
            .ok()
    );
    drop_last_entries(&dir.join("node-1.redb"), 5);
    let damaged = check_ledger(&loaded, true, &Default::default()).unwrap();
    assert!(!damaged.ok(), "{damaged:?}");
    assert!(
        damaged.violations.iter().any(|v| v.contains("not ended")),
        "{:?}",
        damaged.violations
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_validator_a_process_convicts_a_fraudulent_leader_and_survives_kills() {
    let _serial = one_at_a_time();
    let dir = scratch("ledger-every-validator");
    // 2 shards of 4 members each (a leader and 3 co-signers), 2 gateways: 10 processes.
    let base = free_ports(10);
    let out = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["net", "load", "--shards", "2", "--gateways", "2"])
        .args(["--every-validator", "--fraudulent-shard", "0"])
        .args(["--rate", "300", "--load-seconds", "3", "--seconds", "120"])
        .args(["--cross-shard", "0.2", "--forged", "0.03"])
        // Shard 1's leader down from 1.2 s to 1.7 s, its co-signer node 8 from 1.8 s to 2.2 s.
        .args([
            "--kill-restart",
            "1@1200+500",
            "--kill-restart",
            "8@1800+400",
        ])
        .args(["--base-port", &base.to_string()])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let report = report_of(out);
    assert_eq!(report["drained"], true, "{report}");
    let check = &report["check"];
    assert_eq!(check["violations"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["starts"],
        serde_json::json!([1, 2, 1, 1, 1, 1, 1, 1, 2, 1])
    );
    let figures = &report["figures"];
    let transactions = figures["transactions"].as_u64().unwrap();
    assert_eq!(figures["settled"].as_u64().unwrap(), transactions);
    assert_eq!(figures["forged_committed"], 0);
    assert_eq!(check["genesis_value"], check["final_value"], "{report}");
    assert_eq!(check["locks_left"], 0);
    // Shard 0's three co-signers (nodes 4, 5, 6) each convicted leader 0 at the same entry and
    // named the same successor, node 4 (roster member 1), whose journal is shard 0's history.
    let frauds = report["frauds"].as_array().unwrap();
    let mut accusers: Vec<u64> = frauds.iter().map(|f| f["node"].as_u64().unwrap()).collect();
    accusers.sort_unstable();
    assert_eq!(accusers, [4, 5, 6], "{frauds:?}");
    assert!(
        frauds
            .iter()
            .all(|f| f["leader"] == 0 && f["successor"] == 4)
    );
    assert!(frauds.iter().all(|f| f["index"] == frauds[0]["index"]));
    assert_eq!(check["history_of"], serde_json::json!([4, 1]));
    let convicted = &check["convicted"][0];
    assert_eq!(convicted[0], 0, "{check}");
    assert!(
        convicted[2].as_str().unwrap().contains("BadSignature"),
        "{convicted}"
    );
    // The check held every other member's history to be a prefix of its shard's; in each
    // shard some member holds all of it, with the state root the check found for the shard.
    for shard in 0..2 {
        let whole = check["cosigners"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["shard"] == shard && m["applied"] == check["journal_entries"][shard])
            .inspect(|m| assert_eq!(m["state_root"], check["state_roots"][shard], "{m}"))
            .count();
        assert!(whole >= 1, "{check}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
