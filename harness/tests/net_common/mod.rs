//! Helpers shared by the tests that start node processes on loopback.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh scratch folder for test `name` of this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iosv-net-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The lowest port the kernel hands out to outgoing connections (Linux's
/// `ip_local_port_range`; 32,768 where it cannot be read).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A base port with `n` free ports after it (probed by binding them), below the kernel's
/// ephemeral range and apart from every other call in this process. Below the ephemeral range,
/// because the nodes' own outgoing connections take their local ports from it: a port probed
/// free there can be taken by a connection before the node that is to listen on it starts
/// (seen as "Address already in use"). Apart, because the tests of one binary run at once and
/// each releases its probed ports before its nodes bind them.
pub fn free_ports(n: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FLOOR: u32 = 10_000;
    const STRIDE: u32 = 64;
    let span = ephemeral_low().saturating_sub(FLOOR + u32::from(n));
    assert!(
        span > STRIDE && u32::from(n) <= STRIDE,
        "no room for {n} ports below the ephemeral range"
    );
    // Different test processes start at different places (the id spreads them).
    let start = std::process::id().wrapping_mul(2_654_435_761) % span;
    for _ in 0..200 {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = FLOOR + (start + k * STRIDE) % span;
        let held: Vec<_> = (0..u32::from(n))
            .map_while(|i| TcpListener::bind(("127.0.0.1", (base + i) as u16)).ok())
            .collect();
        if held.len() == n as usize {
            return base as u16;
        }
    }
    panic!("no {n} consecutive free ports below the ephemeral range");
}

/// The JSON report an `iosv net …` command printed, after checking that it exited with success
/// (its output shown if not).
pub fn report_of(out: std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "iosv net failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}
