//! `iosv load --stream`: the same open-loop schedule over one `VerifyStream` per connection.
//! Batches go out with their request number as id; a reader per stream matches each answer to
//! its scheduled time and known verdicts. The server's per-stream in-flight limit pushes back
//! through HTTP/2 flow control: a batch that cannot be queued on its stream at its time is
//! counted as not sent, as in the unary mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::{LoadConfig, LoadReport, Prepared, Recorder, Schedule};
use crate::proto::StreamBatch;
use crate::proto::signature_verifier_client::SignatureVerifierClient;

/// Per request id: when it was scheduled and which pool batch it carries.
type Pending = Arc<Mutex<HashMap<u64, (Instant, usize)>>>;

pub(super) async fn drive(
    config: &LoadConfig,
    pool: Arc<Vec<Prepared>>,
    clients: Vec<SignatureVerifierClient<tonic::transport::Channel>>,
) -> LoadReport {
    let schedule = Schedule::of(config);
    let start = Instant::now();
    let recorder = Arc::new(Recorder::new(start));
    let pending: Pending = Arc::default();
    let mut senders = Vec::new();
    let mut readers = tokio::task::JoinSet::new();
    for mut client in clients {
        let (tx, rx) = mpsc::channel::<StreamBatch>(64);
        match client.verify_stream(ReceiverStream::new(rx)).await {
            Ok(response) => {
                let mut answers = response.into_inner();
                let (pending, recorder, pool) = (
                    Arc::clone(&pending),
                    Arc::clone(&recorder),
                    Arc::clone(&pool),
                );
                readers.spawn(async move {
                    while let Some(item) = answers.next().await {
                        let answer = match item {
                            Ok(answer) => answer,
                            Err(status) => {
                                recorder.failed(format!("the stream ended: {status}"));
                                return;
                            }
                        };
                        let Some((scheduled, index)) =
                            pending.lock().expect("pending lock").remove(&answer.id)
                        else {
                            recorder.failed(format!("an answer for unknown id {}", answer.id));
                            continue;
                        };
                        let p = &pool[index];
                        match answer.verdicts {
                            Some(v) => recorder.answered(p, &v.verdicts, scheduled),
                            None => recorder.refused(
                                tonic::Code::from(answer.error_code as i32),
                                &answer.error_message,
                                p.expected.len() as u64,
                            ),
                        }
                    }
                });
                senders.push(tx);
            }
            Err(status) => recorder.failed(format!("cannot open a stream: {status}")),
        }
    }
    let mut not_sent = 0u64;
    for i in 0..schedule.total {
        let scheduled = start + schedule.interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        if senders.is_empty()
            || pending.lock().expect("pending lock").len() >= schedule.max_outstanding
        {
            not_sent += 1;
            continue;
        }
        let index = i as usize % pool.len();
        pending
            .lock()
            .expect("pending lock")
            .insert(i, (scheduled, index));
        let batch = StreamBatch {
            id: i,
            batch: Some(pool[index].request.clone()),
        };
        if senders[i as usize % senders.len()].try_send(batch).is_err() {
            pending.lock().expect("pending lock").remove(&i);
            not_sent += 1;
        }
    }
    // Answers still due get the request timeout, then the streams close.
    let give_up = Instant::now() + config.timeout;
    while !pending.lock().expect("pending lock").is_empty() && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(senders);
    let unanswered: Vec<u64> = pending
        .lock()
        .expect("pending lock")
        .drain()
        .map(|(id, _)| id)
        .collect();
    for _ in unanswered {
        recorder.failed(format!("no answer within {:?}", config.timeout));
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while readers.join_next().await.is_some() {}
    })
    .await;
    readers.abort_all();
    recorder.report(config, schedule.total, not_sent)
}
