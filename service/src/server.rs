//! The gRPC service: `VerifyBatch`, `VerifyStream`, `VerifyTransactions`, plus `grpc.health.v1`.
//!
//! Order of work for every request: check the layout ([`crate::wire`]; `INVALID_ARGUMENT`),
//! admit against the bounded queue ([`crate::admission`]; `RESOURCE_EXHAUSTED` at once when it is
//! full), then hand it to the cross-client batcher ([`crate::coalesce`]) and wait. A caller that
//! goes away (cancellation, its deadline) drops the wait, and the batcher skips its signatures.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iosv_engine::tx::Transaction;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::admission::Admission;
use crate::coalesce::Coalescer;
use crate::metrics::Metrics;
use crate::proto::signature_verifier_server::SignatureVerifier;
use crate::proto::{
    BatchVerdicts, SignatureBatch, StreamBatch, StreamVerdicts, TransactionBatch,
    TransactionVerdict, TransactionVerdicts, Verdict,
};
use crate::wire::{PackedBatch, WireError, WireLimits};

/// The request handlers and what they share.
pub struct VerifyService {
    pub(crate) admission: Arc<Admission>,
    pub(crate) coalescer: Arc<Coalescer>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: WireLimits,
    /// Batches one stream may have admitted and unanswered; the stream is not read further until
    /// one is answered, so HTTP/2 flow control pushes back on the client.
    pub(crate) stream_in_flight: usize,
    /// Flips to `true` when the server begins shutting down: streams stop taking new batches.
    pub(crate) stopping: watch::Receiver<bool>,
}

const BATCH: &str = "VerifyBatch";
const STREAM: &str = "VerifyStream";
const TRANSACTIONS: &str = "VerifyTransactions";

fn wire_status(e: WireError) -> Status {
    match e {
        WireError::TooManySignatures { .. } => Status::resource_exhausted(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

/// The caller's deadline from its `grpc-timeout` header, if any (`<digits><unit>`, unit one of
/// H M S m u n; malformed headers are ignored as if absent).
fn deadline_of<T>(request: &Request<T>) -> Option<Instant> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    };
    Instant::now().checked_add(timeout)
}

impl VerifyService {
    /// Checks, admits and verifies one batch. The error is the status for the request.
    async fn verify_packed(
        &self,
        batch: PackedBatch,
        deadline: Option<Instant>,
    ) -> Result<BatchVerdicts, Status> {
        let n = batch.len();
        // A request that would still be queued near its deadline is refused now, while the
        // caller has time to go elsewhere, instead of taking a place it cannot use: the work for
        // a request answered after its deadline is lost. A quarter of the time left is kept for
        // what the estimate does not see (the answer's way back, a busy scheduler); measured on
        // the 2-core machine at 1.5x overload with 2 s deadlines, admitting up to the whole time
        // left let a third of the admitted requests expire.
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let queued = self.admission.queued_signatures() + n;
            if let Some(wait) = self.coalescer.expected_wait(queued)
                && wait > left.mul_f64(0.75)
            {
                self.metrics.shed_signatures.inc_by(n as u64);
                return Err(Status::resource_exhausted(format!(
                    "the queue holds about {} ms of work, past this request's deadline ({} ms left)",
                    wait.as_millis(),
                    left.as_millis()
                )));
            }
        }
        let Some(permit) = self.admission.try_admit(n, batch.byte_len()) else {
            self.metrics.shed_signatures.inc_by(n as u64);
            return Err(Status::resource_exhausted(format!(
                "the queue is full ({} of {} signatures admitted): retry later or elsewhere",
                self.admission.queued_signatures(),
                self.admission.max_signatures()
            )));
        };
        let answer = self.coalescer.submit(batch, permit, deadline);
        let verdicts = answer.await.map_err(|_| {
            // Dropped unanswered: skipped past its deadline, or the workers stopped.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                Status::deadline_exceeded("the deadline passed while the batch was queued")
            } else {
                Status::unavailable("the service stopped before verifying this batch")
            }
        })?;
        let (mut valid, mut invalid, mut malformed) = (0, 0, 0);
        for &v in verdicts.verdicts.iter() {
            match Verdict::try_from(i32::from(v)) {
                Ok(Verdict::Valid) => valid += 1,
                Ok(Verdict::Malformed) => malformed += 1,
                _ => invalid += 1,
            }
        }
        self.metrics.verdicts(valid, invalid, malformed);
        Ok(verdicts)
    }
}

/// Counts a request once: with its outcome when it finishes, or as `cancelled` when its future
/// is dropped first (the caller cancelled, its deadline passed, the connection closed).
struct Outcome {
    metrics: Arc<Metrics>,
    method: &'static str,
    started: Instant,
    done: bool,
}

impl Outcome {
    fn new(metrics: &Arc<Metrics>, method: &'static str) -> Self {
        Self {
            metrics: Arc::clone(metrics),
            method,
            started: Instant::now(),
            done: false,
        }
    }

    fn finish<T>(mut self, result: &Result<T, Status>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(s) => match s.code() {
                tonic::Code::ResourceExhausted => "shed",
                tonic::Code::InvalidArgument => "invalid_argument",
                tonic::Code::Cancelled | tonic::Code::DeadlineExceeded => "cancelled",
                _ => "unavailable",
            },
        };
        self.metrics.request(self.method, outcome);
        self.metrics
            .observe_latency(self.method, self.started.elapsed());
        self.done = true;
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        if !self.done {
            self.metrics.request(self.method, "cancelled");
        }
    }
}

type VerdictStream = Pin<Box<dyn Stream<Item = Result<StreamVerdicts, Status>> + Send>>;

#[tonic::async_trait]
impl SignatureVerifier for Arc<VerifyService> {
    async fn verify_batch(
        &self,
        request: Request<SignatureBatch>,
    ) -> Result<Response<BatchVerdicts>, Status> {
        let outcome = Outcome::new(&self.metrics, BATCH);
        let deadline = deadline_of(&request);
        let result = match PackedBatch::check(request.into_inner(), self.limits) {
            Ok(batch) => self.verify_packed(batch, deadline).await,
            Err(e) => Err(wire_status(e)),
        };
        outcome.finish(&result);
        result.map(Response::new)
    }

    type VerifyStreamStream = VerdictStream;

    async fn verify_stream(
        &self,
        request: Request<Streaming<StreamBatch>>,
    ) -> Result<Response<Self::VerifyStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let in_flight = self.stream_in_flight.max(1);
        let (out, outbound) = mpsc::channel::<Result<StreamVerdicts, Status>>(in_flight);
        let slots = Arc::new(Semaphore::new(in_flight));
        let service = Arc::clone(self);
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            loop {
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let message = tokio::select! {
                    m = inbound.message() => m,
                    _ = stopping.wait_for(|s| *s) => return,
                    _ = out.closed() => return,
                };
                let item = match message {
                    Ok(Some(item)) => item,
                    Ok(None) => return,
                    Err(status) => {
                        let _ = out.send(Err(status)).await;
                        return;
                    }
                };
                let service = Arc::clone(&service);
                let out = out.clone();
                tokio::spawn(async move {
                    let outcome = Outcome::new(&service.metrics, STREAM);
                    let id = item.id;
                    let checked =
                        PackedBatch::check(item.batch.unwrap_or_default(), service.limits)
                            .map_err(wire_status);
                    let result = match checked {
                        Ok(batch) => tokio::select! {
                            r = service.verify_packed(batch, None) => r,
                            _ = out.closed() => return,
                        },
                        Err(status) => Err(status),
                    };
                    outcome.finish(&result);
                    let reply = match result {
                        Ok(verdicts) => StreamVerdicts {
                            id,
                            verdicts: Some(verdicts),
                            ..Default::default()
                        },
                        Err(status) => StreamVerdicts {
                            id,
                            verdicts: None,
                            error_code: status.code() as u32,
                            error_message: status.message().to_string(),
                        },
                    };
                    let _ = out.send(Ok(reply)).await;
                    drop(slot);
                });
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(outbound))))
    }

    async fn verify_transactions(
        &self,
        request: Request<TransactionBatch>,
    ) -> Result<Response<TransactionVerdicts>, Status> {
        let outcome = Outcome::new(&self.metrics, TRANSACTIONS);
        let deadline = deadline_of(&request);
        let result = self
            .transactions(request.into_inner().transactions, deadline)
            .await;
        outcome.finish(&result);
        result.map(Response::new)
    }
}

impl VerifyService {
    /// Decodes each transaction with the engine's strict decoder, verifies every input's signature
    /// over its signing hash in one admitted batch, and folds the verdicts back per transaction.
    async fn transactions(
        &self,
        encoded: Vec<bytes::Bytes>,
        deadline: Option<Instant>,
    ) -> Result<TransactionVerdicts, Status> {
        if encoded.len() > self.limits.max_signatures {
            return Err(Status::resource_exhausted(format!(
                "{} transactions in one request, over the limit of {}",
                encoded.len(),
                self.limits.max_signatures
            )));
        }
        let mut verdicts = Vec::with_capacity(encoded.len());
        let mut checks = Vec::new();
        // Per transaction: the range of its inputs in `checks`, or None if it did not decode.
        let mut ranges = Vec::with_capacity(encoded.len());
        for bytes in &encoded {
            match Transaction::decode(bytes) {
                Ok(tx) => {
                    let start = checks.len();
                    checks.extend(tx.signature_checks());
                    ranges.push(Some(start..checks.len()));
                    verdicts.push(TransactionVerdict {
                        verdict: Verdict::Valid as i32,
                        ..Default::default()
                    });
                }
                Err(e) => {
                    ranges.push(None);
                    verdicts.push(TransactionVerdict {
                        verdict: Verdict::Malformed as i32,
                        failed_input: 0,
                        reason: format!("does not decode: {e}"),
                    });
                }
            }
            if checks.len() > self.limits.max_signatures {
                return Err(Status::resource_exhausted(format!(
                    "over {} signatures in one request",
                    self.limits.max_signatures
                )));
            }
        }
        drop(encoded);
        let refs: Vec<_> = checks
            .iter()
            .map(|(pk, msg, sig)| iosv_engine::sig::SigRef { pk, msg, sig })
            .collect();
        let batch = PackedBatch::check(PackedBatch::encode(&refs), self.limits)
            .map_err(|e| Status::internal(format!("packing the signatures: {e}")))?;
        drop(refs);
        let signature_verdicts = self.verify_packed(batch, deadline).await?;
        let malformed: std::collections::HashMap<u32, &str> = signature_verdicts
            .malformed
            .iter()
            .map(|m| (m.index, m.reason.as_str()))
            .collect();
        for (verdict, range) in verdicts.iter_mut().zip(ranges) {
            let Some(range) = range else { continue };
            let first_bad = range
                .clone()
                .find(|&i| signature_verdicts.verdicts[i] != Verdict::Valid as u8);
            if let Some(i) = first_bad {
                let input = i - range.start;
                verdict.verdict = Verdict::Invalid as i32;
                verdict.failed_input = input as u32;
                verdict.reason = match malformed.get(&(i as u32)) {
                    Some(why) => format!("input {input}: {why}"),
                    None => format!("input {input}: the signature does not verify"),
                };
            }
        }
        Ok(TransactionVerdicts { verdicts })
    }
}
