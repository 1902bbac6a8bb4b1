//! The remote verifier: balancing, failover when a server dies, local fallback, and spot checks
//! that catch a lying server.

use std::sync::Arc;
use std::time::Duration;

use iosv_engine::sig::{ExternalVerifier, Verifier};
use iosv_service::{ClientConfig, RemoteVerifier};

use super::common::*;

/// Runs `f` on a blocking thread at once (the client blocks; it is called from ordinary
/// threads); await the handle for its result.
fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = T> {
    let handle = tokio::task::spawn_blocking(f);
    async move { handle.await.unwrap() }
}

#[test]
fn with_three_servers_and_one_killed_every_batch_is_right() {
    let mut servers: Vec<Isolated> = (0..3).map(|_| Isolated::start(config(), cpu())).collect();
    let endpoints: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    let mut config = ClientConfig::new(endpoints);
    config.timeout = Duration::from_millis(1500);
    let remote = Arc::new(RemoteVerifier::new(config).unwrap());
    let verifier: Verifier = Arc::clone(&remote).into_verifier();
    for round in 0..60u64 {
        if round == 20 {
            servers.remove(1).kill();
        }
        let items = signatures(200, 0.2, 1000 + round);
        assert_eq!(
            verifier.verify_batch(&refs(&items)),
            expected(&items),
            "round {round}"
        );
    }
    let stats = remote.stats();
    assert_eq!(
        stats.remote_signatures + stats.fallback_signatures,
        60 * 200
    );
    assert!(stats.remote_signatures >= 40 * 200, "{stats:?}");
    assert!(
        stats.failed_calls >= 1,
        "the killed server was noticed: {stats:?}"
    );
    assert!(stats.mismatches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_server_reachable_the_cpu_verifies() {
    // Ports nobody listens on (bound, then closed).
    let mut endpoints = Vec::new();
    for _ in 0..2 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        endpoints.push(l.local_addr().unwrap().to_string());
    }
    let stats = blocking(move || {
        let remote = Arc::new(RemoteVerifier::new(ClientConfig::new(endpoints)).unwrap());
        for seed in 0..5 {
            let items = signatures(100, 0.3, seed);
            assert_eq!(remote.verify_batch(&refs(&items)), expected(&items));
        }
        remote.stats()
    })
    .await;
    assert_eq!(stats.fallback_signatures, 500);
    assert_eq!(stats.remote_signatures, 0);
}

/// Spot-checks `batches` batches against a liar and an honest server; returns the statistics and
/// how many answers were wrong.
async fn against_a_liar(
    spot_check: f64,
    batches: u64,
) -> (iosv_service::RemoteStats, usize, String) {
    let liar = start(config(), Verifier::external(Arc::new(Liar))).await;
    let honest = start(config(), cpu()).await;
    let endpoints = vec![liar.addr.to_string(), honest.addr.to_string()];
    let liar_name = endpoints[0].clone();
    let (stats, wrong) = blocking(move || {
        let mut config = ClientConfig::new(endpoints);
        config.spot_check = spot_check;
        let remote = Arc::new(RemoteVerifier::new(config).unwrap());
        let mut wrong = 0;
        for seed in 0..batches {
            let items = signatures(200, 0.3, 500 + seed);
            if remote.verify_batch(&refs(&items)) != expected(&items) {
                wrong += 1;
            }
        }
        (remote.stats(), wrong)
    })
    .await;
    liar.shutdown().await.unwrap();
    honest.shutdown().await.unwrap();
    (stats, wrong, liar_name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_server_is_caught_and_its_verdicts_never_used_under_full_checks() {
    let (stats, wrong, liar) = against_a_liar(1.0, 10).await;
    assert_eq!(wrong, 0, "every lie is caught before use");
    assert!(!stats.mismatches.is_empty(), "{stats:?}");
    assert!(
        stats
            .mismatches
            .iter()
            .all(|m| m.endpoint == liar && m.remote_said_valid)
    );
    assert_eq!(stats.untrusted, vec![liar]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_server_is_caught_by_sampled_spot_checks() {
    // 5% of 200 signatures, 30% of them bad: a lying batch escapes with probability
    // 0.7^10 < 3%, so within 30 batches the liar is caught (and then never asked again).
    let (stats, wrong, liar) = against_a_liar(0.05, 30).await;
    assert!(!stats.mismatches.is_empty(), "{stats:?}");
    assert_eq!(stats.untrusted, vec![liar]);
    assert!(
        wrong <= 3,
        "{wrong} lying answers slipped through before the catch"
    );
    assert!(stats.spot_checked >= 10 * 30);
}
