//! Graceful shutdown answers every admitted request, then refuses new ones.

use std::time::Duration;

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_loses_no_admitted_request() {
    let mut c = config();
    c.workers = 1;
    c.batch = 100;
    let server = start(c, slow(Duration::from_millis(30))).await;
    let addr = server.addr;
    let items = signatures(100, 0.2, 8);
    let expected = expected(&items);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let mut client = client(&server).await;
        let req = request(&items);
        tasks.push(tokio::spawn(async move { client.verify_batch(req).await }));
    }
    // Wait until all twelve are admitted (about 360 ms of work queued), then shut down.
    tokio::time::timeout(Duration::from_secs(5), async {
        while server.queued_signatures() < 1200 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("all admitted");
    server.shutdown().await.expect("clean shutdown");
    for t in tasks {
        let answer = t.await.unwrap().expect("admitted request answered");
        assert_eq!(
            iosv_service::wire::verdicts_as_bools(answer.get_ref(), 100).unwrap(),
            expected
        );
    }
    let refused = iosv_service::proto::signature_verifier_client::SignatureVerifierClient::connect(
        format!("http://{addr}"),
    )
    .await;
    assert!(refused.is_err(), "nothing listens after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_after_answering_them() {
    use iosv_service::proto::StreamBatch;
    use tokio_stream::StreamExt;
    let server = start(config(), cpu()).await;
    let mut client = client(&server).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<StreamBatch>(4);
    let mut answers = client
        .verify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let items = signatures(100, 0.2, 12);
    tx.send(StreamBatch {
        id: 1,
        batch: Some(request(&items)),
    })
    .await
    .unwrap();
    let first = answers.next().await.unwrap().unwrap();
    assert_eq!(first.id, 1);
    // The client keeps its side open; shutdown must still finish, and end the answers.
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown does not wait for the client to close its stream")
        .unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(5), answers.next())
        .await
        .expect("the answer stream ends");
    assert!(rest.is_none() || rest.unwrap().is_err());
    drop(tx);
}
