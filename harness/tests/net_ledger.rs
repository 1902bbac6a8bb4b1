//! A ledger network as separate processes on loopback TCP: `iosv net load` starts two Atomix
//! shards and two client gateways, each its own `iosv node`, sends a signed load with
//! cross-shard and forged transactions, SIGKILLs a shard and a gateway mid-load and starts them
//! again from their stores. Every transaction settles; no forged one commits; the shards'
//! stores, replayed, agree with what the live shards reported and pass the checks across
//! processes (atomicity, no double spend, each shard's books, supply, no locks left). Then the
//! check is shown to fail on a store that lost its last journal entries.

use std::path::Path;
use std::process::Command;

use iosv_harness::net::config::load;
use iosv_harness::net::ledger_check::check_ledger;

mod net_common;

use net_common::{free_ports, scratch};

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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "iosv net load failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
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
    assert!(check_ledger(&loaded, true).unwrap().ok());
    drop_last_entries(&dir.join("node-1.redb"), 5);
    let damaged = check_ledger(&loaded, true).unwrap();
    assert!(!damaged.ok(), "{damaged:?}");
    assert!(
        damaged.violations.iter().any(|v| v.contains("not ended")),
        "{:?}",
        damaged.violations
    );
    let _ = std::fs::remove_dir_all(&dir);
}
