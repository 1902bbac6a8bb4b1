//! The load generator against a real server, unary and streamed: every verdict checked.

use std::time::Duration;

use iosv_service::LoadConfig;

use super::common::*;

/// Requests sent in the one-second run.
const REQUESTS: u64 = 8;

fn run_load(addr: std::net::SocketAddr, stream: bool) -> iosv_service::LoadReport {
    let config = LoadConfig {
        targets: vec![addr.to_string()],
        tls: None,
        // Low enough for a debug-build server sharing two cores with other test binaries to
        // answer everything: this test checks verdicts, not capacity.
        rate: REQUESTS as f64 * 250.0,
        duration: Duration::from_secs(1),
        batch: 250,
        connections: 2,
        bad_fraction: 0.1,
        timeout: Duration::from_secs(30),
        seed: 3,
        stream,
    };
    iosv_service::load::run(&config).unwrap()
}

#[test]
fn unary_and_streamed_load_get_every_verdict_right() {
    let server = Isolated::start(config(), cpu());
    for stream in [false, true] {
        let report = run_load(server.addr, stream);
        assert_eq!(report.wrong_verdicts, 0, "{report:?}");
        assert_eq!(report.requests_sent, REQUESTS, "{report:?}");
        assert_eq!(report.requests_ok, REQUESTS, "stream {stream}: {report:?}");
        assert_eq!(report.signatures_ok, REQUESTS * 250);
        assert!(report.latency_ms_p50 > 0.0);
    }
    server.kill();
}

#[test]
fn load_against_nothing_reports_failures() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    for stream in [false, true] {
        let report = run_load(addr, stream);
        assert_eq!(report.requests_ok, 0, "{report:?}");
        assert!(
            report.requests_failed > 0 || report.requests_not_sent > 0,
            "{report:?}"
        );
    }
}
