//! Over its queue the server sheds at once with RESOURCE_EXHAUSTED and its queue never passes
//! the bound; deadlines and cancellations free their places.

use std::time::Duration;

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_and_the_queue_stays_bounded() {
    let mut c = config();
    c.max_request_sigs = 512;
    c.max_queue_sigs = 2048;
    c.workers = 1;
    // 20 ms per backend batch: far slower than the clients send.
    let server = start(c, slow(Duration::from_millis(20))).await;
    let items = signatures(512, 0.1, 3);
    let expected = expected(&items);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let mut client = client(&server).await;
        let req = request(&items);
        tasks.push(tokio::spawn(async move { client.verify_batch(req).await }));
    }
    let (mut ok, mut shed) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(answer) => {
                let got = iosv_service::wire::verdicts_as_bools(answer.get_ref(), 512).unwrap();
                assert_eq!(got, expected);
                ok += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("queue is full"));
                shed += 1;
            }
        }
    }
    assert!(ok >= 4, "at least a full queue's worth is answered ({ok})");
    assert!(
        shed > 0,
        "40 x 512 signatures into a queue of 2048 must shed"
    );
    assert!(server.peak_queued_signatures() <= 2048);
    assert_eq!(server.queued_signatures(), 0);
    let text = server.metrics.render();
    assert!(
        text.contains(&format!("outcome=\"shed\"}} {shed}")),
        "{text}"
    );
    // Over the per-request limit: refused whatever the queue holds.
    let mut client = client(&server).await;
    let status = client
        .verify_batch(request(&signatures(513, 0.0, 4)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status.message().contains("over the limit of 512"),
        "{}",
        status.message()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_and_cancellations_free_their_places() {
    let mut c = config();
    c.workers = 1;
    c.batch = 64;
    let server = start(c, slow(Duration::from_millis(50))).await;
    let items = signatures(64, 0.0, 5);
    // Requests with a 30 ms deadline behind a 50 ms batch: each one expires in the queue, or
    // (once the server has measured its rate) is refused at once as past its deadline.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let mut client = client(&server).await;
        let mut req = tonic::Request::new(request(&items));
        req.set_timeout(Duration::from_millis(30));
        tasks.push(tokio::spawn(async move { client.verify_batch(req).await }));
    }
    let mut expired = 0;
    for t in tasks {
        if let Err(status) = t.await.unwrap() {
            assert!(
                matches!(
                    status.code(),
                    tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
                ),
                "{status:?}"
            );
            expired += 1;
        }
    }
    assert!(expired >= 8, "{expired} of 10 expired");
    // Cancelled by the caller: the future is dropped while queued.
    for _ in 0..5 {
        let mut client = client(&server).await;
        let req = request(&items);
        let task = tokio::spawn(async move { client.verify_batch(req).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        task.abort();
    }
    // Every place comes back, and the expired requests cost at most the batches already running.
    let freed = async {
        while server.queued_signatures() != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), freed)
        .await
        .expect("queue drains");
    let text = server.metrics.render();
    assert!(text.contains("outcome=\"cancelled\""), "{text}");
    let batches = text
        .lines()
        .find_map(|l| l.strip_prefix("iosv_backend_batch_signatures_count "))
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(
        batches < 15,
        "cancelled work was skipped ({batches} backend batches)"
    );
    // With the rate measured, a request that cannot make its deadline is refused at once.
    let mut client = client(&server).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = client.clone();
        let req = request(&items);
        tasks.push(tokio::spawn(async move { c.verify_batch(req).await }));
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut late = tonic::Request::new(request(&items));
    late.set_timeout(Duration::from_millis(40));
    let status = client.verify_batch(late).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("deadline"),
        "{}",
        status.message()
    );
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // And the server still answers.
    let got = client.verify_batch(request(&items)).await.unwrap();
    assert!(got.get_ref().verdicts.iter().all(|&v| v == 1));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_byte_limit_is_refused_before_it_is_buffered() {
    let mut c = config();
    c.max_request_bytes = 64 << 10;
    let server = start(c, cpu()).await;
    let mut client = client(&server).await;
    // ~500 signatures with messages of 0-80 bytes: well over 64 KiB.
    let status = client
        .verify_batch(request(&signatures(500, 0.0, 6)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert_eq!(server.queued_signatures(), 0);
    let small = signatures(50, 0.1, 7);
    let got = client.verify_batch(request(&small)).await.unwrap();
    assert_eq!(
        iosv_service::wire::verdicts_as_bools(got.get_ref(), 50).unwrap(),
        expected(&small)
    );
    server.shutdown().await.unwrap();
}
