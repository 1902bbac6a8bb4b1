//! Validators as separate processes on a real network (loopback TCP):
//! - `iosv net up` runs four `iosv node` processes, kills two of them with SIGKILL mid-run and
//!   starts them again from their stores; every node reaches the target height and the stores
//!   agree at every height, each finality carrying a certificate that verifies;
//! - the same through a partition between the two halves that heals, packet loss, message drops
//!   and jitter on every link;
//! - in one process, three honest members on the TCP transport keep finalizing while a
//!   Byzantine fourth member and strangers throw garbage, impostor hellos, silent connections,
//!   oversized and undecodable frames at them — each refused and counted, none fatal, and the
//!   node's Prometheus endpoint reports the same counts.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use iosv_harness::finality::{Config, Finality, Member, ProposalSource};
use iosv_harness::net::channel::{HELLO_LEN, Identity, MAGIC, Members, initiate};
use iosv_harness::net::check::check_logs;
use iosv_harness::net::faults::LinkFaults;
use iosv_harness::net::metrics;
use iosv_harness::net::process::stand_in_proposal;
use iosv_harness::net::transport::{Endpoint, NetConfig, NetCounters, start};
use iosv_harness::runtime::{Drive, RtRecord};

mod net_common;

use net_common::{free_ports, report_of, scratch};

/// Runs `iosv net up` for a 4-node network in `dir` to `heights` with `faults` (flags); returns
/// its JSON report after checking that it succeeded and that the stores agree, certified.
fn net_up(dir: &Path, heights: u64, faults: &[&str]) -> serde_json::Value {
    let base = free_ports(4);
    let out = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["net", "up", "--nodes", "4", "--seconds", "120"])
        .args(["--heights", &heights.to_string()])
        .args(["--base-port", &base.to_string()])
        .arg("--dir")
        .arg(dir)
        .args(faults)
        .output()
        .unwrap();
    let report = report_of(out);
    assert_eq!(report["reached"], true);
    for check in ["disagreements", "uncertified", "misplaced"] {
        assert_eq!(report["check"][check], serde_json::json!([]), "{check}");
    }
    report
}

/// The JSON events of node `node`'s log.
fn events(dir: &Path, node: usize) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("node-{node}.log")))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn node_processes_agree_through_sigkill_and_restart() {
    let dir = scratch("up");
    // Node 1 down from 1 s to 1.3 s, node 3 from 1.6 s to 2 s (every node leads some heights,
    // so the network loses a leader each time).
    // 150 heights: the run goes on after the last restart, so the restarted nodes finalize too.
    let report = net_up(
        &dir,
        150,
        &[
            "--kill-restart",
            "1@1000+300",
            "--kill-restart",
            "3@1600+400",
        ],
    );
    assert_eq!(report["starts"], serde_json::json!([1, 2, 1, 2]));
    let heights: Vec<u64> = report["check"]["heights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap())
        .collect();
    assert!(heights.iter().all(|&h| h >= 150), "{heights:?}");
    // The restarted nodes came back from their stores, not from scratch, and went on finalizing.
    for node in [1, 3] {
        let events = events(&dir, node);
        let restart = events
            .iter()
            .position(|v| v["event"] == "started" && v["incarnation"] == 1)
            .unwrap_or_else(|| panic!("node {node} was not restarted: {events:?}"));
        let recovered = events[restart]["recovered_heights"].as_u64().unwrap();
        assert!(recovered > 0, "node {node} recovered nothing: {events:?}");
        let after = events[restart..]
            .iter()
            .filter(|v| v["event"] == "finalized" && v["height"].as_u64() >= Some(recovered))
            .count();
        assert!(after > 0, "node {node} finalized nothing after restarting");
    }
    // `iosv net check` reads the same stores after the run.
    let checked = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["net", "check", "--nodes", "4", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(checked.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn node_processes_agree_through_a_partition_loss_and_jitter() {
    let dir = scratch("faults");
    // Halves {0, 1} and {2, 3} cut apart from 0.3 s to 1.1 s (no quorum on either side), 5%
    // packet loss (retransmitted an RTO late), 1% of messages dropped for good, 20 ms of jitter
    // on every link.
    let faults = ["--partition", "300+800", "--loss", "0.05", "--drop", "0.01"];
    net_up(&dir, 25, &[&faults[..], &["--jitter-ms", "20"]].concat());
    // The partition and the drops happened: every node says how many messages they cost it.
    let (mut partitioned, mut dropped) = (0, 0);
    for node in 0..4 {
        let stopped = events(&dir, node)
            .into_iter()
            .find(|v| v["event"] == "stopped")
            .unwrap();
        partitioned += stopped["net"]["partitioned"].as_u64().unwrap();
        dropped += stopped["net"]["emulated_drops"].as_u64().unwrap();
    }
    assert!(partitioned > 0 && dropped > 0, "{partitioned} {dropped}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A closed port: dials to it are refused at once.
fn closed_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn honest_members_keep_finalizing_while_peers_send_garbage() {
    let seeds: Vec<[u8; 32]> = (0..4u8).map(|i| [i + 1; 32]).collect();
    let rng_seeds: Vec<[u8; 32]> = (0..4u8).map(|i| [i + 101; 32]).collect();
    let config = Config {
        fanout: 2,
        level_timeout: 20_000,
        view_timeout: 300_000,
        fast_path: true,
    };
    let proposals: ProposalSource = Arc::new(|m, h| Some(stand_in_proposal(m, h)));
    let mut league = Member::league(&seeds, &rng_seeds, config, Arc::clone(&proposals));
    let verifier = Member::league(&seeds, &rng_seeds, config, proposals).swap_remove(0);
    league.truncate(3); // member 3 is the Byzantine one, played by this test
    let keys: Vec<[u8; 32]> = seeds
        .iter()
        .map(|s| SigningKey::from_bytes(s).verifying_key().to_bytes())
        .collect();
    let members = Members::new(&keys).unwrap();
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    addrs.push(closed_addr());
    let mut net_config = NetConfig::for_members(4);
    net_config.handshake_timeout = Duration::from_millis(300);
    let (out_tx, out_rx) = crossbeam::channel::unbounded::<RtRecord<Finality>>();
    let stopped = Arc::new(AtomicBool::new(false));
    let start_at = Instant::now();
    let mut handles = Vec::new();
    let mut counters: Vec<Arc<NetCounters>> = Vec::new();
    for (member, listener) in league.into_iter().zip(listeners) {
        let id = iosv_harness::node::Node::id(&member);
        let endpoint = Endpoint {
            identity: Identity {
                id,
                key: SigningKey::from_bytes(&seeds[id as usize]),
            },
            members: members.clone(),
            addrs: addrs.clone(),
        };
        let (transport, inbox, net) = start::<iosv_harness::finality::Message>(
            listener,
            endpoint,
            net_config.clone(),
            LinkFaults::default(),
        )
        .unwrap();
        counters.push(net.counters());
        let out = out_tx.clone();
        let stopped = Arc::clone(&stopped);
        handles.push(std::thread::spawn(move || {
            let _net = net; // stops the transport when the node ends
            Drive {
                start: start_at,
                limit: Duration::from_secs(60),
                roster: 4,
                stopped: &stopped,
            }
            .node(member, &inbox, transport, &out, |_| true);
        }));
    }
    drop(out_tx);

    // The attacks, against node 0, while the honest three run.
    let target = addrs[0];
    // Garbage instead of a hello.
    let mut s = TcpStream::connect(target).unwrap();
    s.write_all(&[0x42; HELLO_LEN]).unwrap();
    // A stranger (id 9) with the right magic and network.
    let mut s2 = TcpStream::connect(target).unwrap();
    let mut hello = [0u8; HELLO_LEN];
    hello[..8].copy_from_slice(MAGIC);
    hello[8..40].copy_from_slice(&members.network());
    hello[40..44].copy_from_slice(&9u32.to_le_bytes());
    s2.write_all(&hello).unwrap();
    // A connection that never says anything (dropped at the handshake timeout).
    let _silent = TcpStream::connect(target).unwrap();
    // The Byzantine member 3, authenticated: an oversized frame length, then (reconnected) a
    // well-sealed frame that is not a message.
    let byzantine = Identity {
        id: 3,
        key: SigningKey::from_bytes(&seeds[3]),
    };
    let mut s3 = TcpStream::connect(target).unwrap();
    initiate(&mut s3, &byzantine, &members, 0, 1 << 20).unwrap();
    s3.write_all(&u32::MAX.to_le_bytes()).unwrap();
    let waited = Instant::now();
    while counters[0].snapshot().bad_frames == 0 && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut s4 = TcpStream::connect(target).unwrap();
    let (mut sealer, _) = initiate(&mut s4, &byzantine, &members, 0, 1 << 20).unwrap();
    sealer.write(&mut s4, b"{not a finality message").unwrap();
    s4.flush().unwrap();

    let mut logs: Vec<Vec<Finality>> = vec![Vec::new(); 3];
    for record in out_rx.iter() {
        logs[record.node as usize].push(record.output);
        if logs.iter().all(|l| l.len() >= 30) {
            stopped.store(true, Ordering::Release);
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        logs.iter().all(|l| l.len() >= 30),
        "heights: {:?}",
        logs.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let check = check_logs(&logs, |f| verifier.state().finality_is_valid(f));
    assert!(check.ok(), "{check:?}");
    let node0 = counters[0].snapshot();
    assert!(node0.refused >= 3, "{node0:?}");
    assert!(node0.bad_frames >= 2, "{node0:?}");
    // The node's Prometheus endpoint says the same.
    let addr = metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        metrics::registry(Arc::clone(&counters[0]), Arc::default()),
    )
    .unwrap();
    let mut http = TcpStream::connect(addr).unwrap();
    http.write_all(b"GET /metrics HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut http, &mut text).unwrap();
    let refused = format!(
        "iosv_net_connections_total{{outcome=\"refused\"}} {}",
        node0.refused
    );
    let bad = format!(
        "iosv_net_connections_total{{outcome=\"bad_frame\"}} {}",
        node0.bad_frames
    );
    assert!(text.contains(&refused) && text.contains(&bad), "{text}");
}
