//! Verdicts through the service equal the engine's on the known-answer vectors, on random and
//! mutated signatures, through every method (batch, stream, transactions); health and metrics.

#[path = "../../../engine/tests/vectors/mod.rs"]
mod vectors;

use ed25519_consensus::{Signature, VerificationKey};
use iosv_engine::sig::{SigItem, zip215};
use iosv_service::proto::{StreamBatch, TransactionBatch, Verdict};
use iosv_service::wire::verdicts_as_bools;
use tokio_stream::StreamExt;

use super::common::*;

/// The RFC 8032 vectors, each with one bit flipped in every byte of key, R, S and message, and
/// the ed25519-speccheck edge cases (small-order and non-canonical encodings).
fn known_answer_items() -> Vec<SigItem> {
    let mut items = Vec::new();
    for v in &vectors::RFC8032_VECTORS {
        let item = v.item();
        items.push(item.clone());
        for i in 0..32 {
            let mut m = item.clone();
            m.pk[i] ^= 1 << (i % 8);
            items.push(m);
        }
        for i in 0..64 {
            let mut m = item.clone();
            m.sig[i] ^= 1 << (i % 8);
            items.push(m);
        }
        if !item.msg.is_empty() {
            let mut m = item.clone();
            m.msg[0] ^= 1;
            items.push(m);
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/tests/vectors/ed25519-speccheck-cases.json"
    );
    #[derive(serde::Deserialize)]
    struct Case {
        message: String,
        pub_key: String,
        signature: String,
    }
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("speccheck vectors")).unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        items.push(SigItem {
            pk: vectors::decode("pk", &c.pub_key),
            msg: hex::decode(&c.message).unwrap(),
            sig: vectors::decode("sig", &c.signature),
        });
    }
    items
}

/// ZIP-215 according to ed25519-consensus (the second oracle).
fn consensus_says_valid(item: &SigItem) -> bool {
    VerificationKey::try_from(item.pk)
        .and_then(|vk| vk.verify(&Signature::from(item.sig), &item.msg))
        .is_ok()
}

/// Whether the bytes can be a ZIP-215 signature at all (what MALFORMED means).
fn well_formed(item: &SigItem) -> bool {
    zip215::canonical_s(&item.sig).is_some()
        && zip215::decompress(item.sig[..32].try_into().unwrap()).is_some()
        && zip215::decompress(&item.pk).is_some()
}

fn check_verdicts(items: &[SigItem], verdicts: &iosv_service::proto::BatchVerdicts) {
    assert_eq!(verdicts.verdicts.len(), items.len());
    let expected = expected(items);
    for (i, item) in items.iter().enumerate() {
        let v = Verdict::try_from(i32::from(verdicts.verdicts[i])).unwrap();
        let want = if expected[i] {
            Verdict::Valid
        } else if well_formed(item) {
            Verdict::Invalid
        } else {
            Verdict::Malformed
        };
        assert_eq!(v, want, "signature {i}: {item:?}");
        assert_eq!(
            expected[i],
            consensus_says_valid(item),
            "oracles disagree on {i}"
        );
    }
    let malformed = verdicts
        .verdicts
        .iter()
        .filter(|&&v| v == Verdict::Malformed as u8)
        .count();
    assert_eq!(
        verdicts.malformed.len(),
        malformed,
        "one reason per malformed verdict"
    );
    assert!(verdicts.malformed.iter().all(|m| !m.reason.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_match_the_engine_on_vectors_random_and_mutated_signatures() {
    let server = start(config(), cpu()).await;
    let mut client = client(&server).await;
    let known = known_answer_items();
    let answer = client
        .verify_batch(request(&known))
        .await
        .unwrap()
        .into_inner();
    check_verdicts(&known, &answer);
    assert!(answer.verdicts.contains(&(Verdict::Valid as u8)));
    assert!(answer.verdicts.contains(&(Verdict::Invalid as u8)));
    assert!(answer.verdicts.contains(&(Verdict::Malformed as u8)));
    // Sizes around the backend batch (256): one signature, a partial batch, several batches.
    for (seed, n) in [(1, 1), (2, 7), (3, 255), (4, 256), (5, 257), (6, 1500)] {
        let items = signatures(n, 0.3, seed);
        let answer = client
            .verify_batch(request(&items))
            .await
            .unwrap()
            .into_inner();
        check_verdicts(&items, &answer);
    }
    let empty = client
        .verify_batch(request(&[]))
        .await
        .unwrap()
        .into_inner();
    assert!(empty.verdicts.is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_layouts_are_refused_with_the_reason() {
    let server = start(config(), cpu()).await;
    let mut client = client(&server).await;
    let mut bad = request(&signatures(3, 0.0, 9));
    bad.message_ends[1] = 0;
    bad.message_ends[0] = 5;
    let status = client.verify_batch(bad).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("below the previous end"),
        "{}",
        status.message()
    );
    let mut bad = request(&signatures(3, 0.0, 9));
    bad.public_keys = bad.public_keys.slice(1..);
    let status = client.verify_batch(bad).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    // The server still answers.
    let items = signatures(10, 0.2, 10);
    check_verdicts(
        &items,
        &client
            .verify_batch(request(&items))
            .await
            .unwrap()
            .into_inner(),
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_answer_every_id() {
    let server = start(config(), cpu()).await;
    let mut client = client(&server).await;
    let batches: Vec<Vec<SigItem>> = (0..40)
        .map(|i| signatures(50 + i, 0.2, 100 + i as u64))
        .collect();
    let mut sent: Vec<StreamBatch> = batches
        .iter()
        .enumerate()
        .map(|(i, b)| StreamBatch {
            id: 1000 + i as u64,
            batch: Some(request(b)),
        })
        .collect();
    // One damaged batch: refused for its id only.
    sent.push(StreamBatch {
        id: 7,
        batch: Some({
            let mut b = request(&signatures(2, 0.0, 1));
            b.message_ends.pop();
            b
        }),
    });
    let mut answers = client
        .verify_stream(tokio_stream::iter(sent))
        .await
        .unwrap()
        .into_inner();
    let mut seen = std::collections::HashSet::new();
    while let Some(answer) = answers.next().await {
        let answer = answer.unwrap();
        assert!(seen.insert(answer.id), "id {} answered twice", answer.id);
        if answer.id == 7 {
            assert_eq!(answer.error_code, tonic::Code::InvalidArgument as u32);
            assert!(answer.verdicts.is_none());
            continue;
        }
        let items = &batches[(answer.id - 1000) as usize];
        check_verdicts(items, answer.verdicts.as_ref().unwrap());
    }
    assert_eq!(seen.len(), 41);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_get_one_verdict_each() {
    use iosv_engine::workload::{KeyReuse, TxWorkload};
    let workload = TxWorkload::generate(30, 2, KeyReuse::Distinct, 5);
    use iosv_engine::tx::Transaction;
    let mut encoded: Vec<bytes::Bytes> = workload.txs.iter().map(|t| t.clone().into()).collect();
    // Transaction 3: input 1's signature damaged. Transaction 8: a non-canonical S on input 0.
    // Transaction 12: not a transaction at all.
    let mut tx = Transaction::decode(&workload.txs[3]).unwrap();
    tx.inputs[1].signature[5] ^= 4;
    encoded[3] = tx.encode().into();
    let mut tx = Transaction::decode(&workload.txs[8]).unwrap();
    tx.inputs[0].signature[63] |= 0xf0;
    encoded[8] = tx.encode().into();
    encoded[12] = bytes::Bytes::from_static(b"not a transaction");
    let server = start(config(), cpu()).await;
    let mut client = client(&server).await;
    let answer = client
        .verify_transactions(TransactionBatch {
            transactions: encoded,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.verdicts.len(), 30);
    for (i, v) in answer.verdicts.iter().enumerate() {
        match i {
            3 => {
                assert_eq!(v.verdict, Verdict::Invalid as i32);
                assert_eq!(v.failed_input, 1);
            }
            8 => {
                assert_eq!(v.verdict, Verdict::Invalid as i32);
                assert_eq!(v.failed_input, 0);
                assert!(v.reason.contains("not canonical"), "{}", v.reason);
            }
            12 => {
                assert_eq!(v.verdict, Verdict::Malformed as i32);
                assert!(v.reason.contains("does not decode"), "{}", v.reason);
            }
            _ => assert_eq!(
                v.verdict,
                Verdict::Valid as i32,
                "transaction {i}: {}",
                v.reason
            ),
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_served() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let mut c = config();
    c.metrics = Some("127.0.0.1:0".parse().unwrap());
    let server = start(c, cpu()).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "iosv.verify.v1.SignatureVerifier".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, 1, "SERVING");
    let mut client = client(&server).await;
    let items = signatures(300, 0.1, 77);
    let answer = client
        .verify_batch(request(&items))
        .await
        .unwrap()
        .into_inner();
    let bools = verdicts_as_bools(&answer, items.len()).unwrap();
    let valid = bools.iter().filter(|&&b| b).count();
    let text = http_get(server.metrics_addr.unwrap(), "/metrics").await;
    assert!(
        text.contains("iosv_requests_total{method=\"VerifyBatch\",outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "iosv_signatures_total{{verdict=\"valid\"}} {valid}"
        )),
        "{text}"
    );
    assert!(
        text.contains("iosv_backend_signatures_total{side=\"cpu\"} 300"),
        "{text}"
    );
    assert!(text.contains("iosv_queue_signatures 0"), "{text}");
    assert!(text.contains("iosv_request_seconds_bucket"), "{text}");
    assert!(text.contains("iosv_queue_wait_seconds_count 1"), "{text}");
    server.shutdown().await.unwrap();
}

/// A minimal HTTP/1.1 GET (the test needs no HTTP client library).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

/// The GPU backend behind the service gives the same verdicts (lavapipe in CI). Without an
/// adapter: SKIPPED, unless IOSV_REQUIRE_GPU=1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gpu_backend_through_the_service_matches_the_engine() {
    let gpu = match iosv_engine::sig::Verifier::new(iosv_engine::sig::Backend::Gpu) {
        Ok(v) => v,
        Err(e) => {
            assert!(
                std::env::var("IOSV_REQUIRE_GPU").as_deref() != Ok("1"),
                "IOSV_REQUIRE_GPU=1 but no GPU backend: {e}"
            );
            eprintln!("SKIPPED the_gpu_backend_through_the_service_matches_the_engine: {e}");
            return;
        }
    };
    let mut c = config();
    c.batch = 4096;
    c.max_delay = std::time::Duration::from_millis(5);
    let server = start(c, gpu).await;
    let mut client = client(&server).await;
    let known = known_answer_items();
    check_verdicts(
        &known,
        &client
            .verify_batch(request(&known))
            .await
            .unwrap()
            .into_inner(),
    );
    // Several clients at once: their requests share GPU batches.
    let mut tasks = Vec::new();
    for seed in 0..4u64 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            let items = signatures(700, 0.2, 300 + seed);
            let answer = c.verify_batch(request(&items)).await.unwrap().into_inner();
            (items, answer)
        }));
    }
    for t in tasks {
        let (items, answer) = t.await.unwrap();
        check_verdicts(&items, &answer);
    }
    let text = server.metrics.render();
    assert!(
        !text.contains("iosv_backend_signatures_total{side=\"gpu\"} 0"),
        "{text}"
    );
    server.shutdown().await.unwrap();
}
