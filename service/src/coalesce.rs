//! Batching across clients: admitted requests are cut into pieces and packed into backend batches
//! of `target` signatures; a batch leaves when it is full or when its oldest piece has waited
//! `max_delay`, so a request's queueing is bounded by the deadline while a busy server (or a GPU,
//! which needs tens of thousands of signatures per dispatch) gets large batches.
//!
//! Threads: one batcher, `workers` verification threads. The batcher hands a batch to the workers
//! through a channel of capacity one, so while every worker is busy the batcher blocks and the
//! requests wait in the (admission-bounded) queue, where they coalesce into the next full batch.
//!
//! A request is answered once every piece has its verdicts. A request whose caller has gone
//! (cancelled, deadline passed, stream closed) is skipped when its pieces come up: no work is
//! spent on it, and its admission permit is freed when its last piece is dropped.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use iosv_engine::sig::{SigRef, Verifier};
use tokio::sync::oneshot;

use crate::admission::Permit;
use crate::metrics::Metrics;
use crate::proto::{BatchVerdicts, Malformed, Verdict};
use crate::wire::{PackedBatch, fill_verdicts};

/// How the batches are formed.
#[derive(Clone, Copy, Debug)]
pub struct CoalesceConfig {
    /// Signatures per backend batch.
    pub target: usize,
    /// Longest a piece waits for its batch to fill.
    pub max_delay: Duration,
    /// Verification threads.
    pub workers: usize,
}

/// One admitted request on its way through the batches.
struct Request {
    batch: PackedBatch,
    verdicts: Mutex<(Vec<u8>, Vec<Malformed>)>,
    pieces_left: AtomicUsize,
    reply: Mutex<Option<oneshot::Sender<BatchVerdicts>>>,
    deadline: Option<Instant>,
    admitted: Instant,
    started: AtomicBool,
    /// Released just before the answer is sent, so the queue never counts an answered request.
    permit: Mutex<Option<Permit>>,
}

impl Request {
    /// Whether someone still waits for the answer.
    fn wanted(&self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        self.reply
            .lock()
            .expect("reply lock")
            .as_ref()
            .is_some_and(|r| !r.is_closed())
    }
}

struct Piece {
    request: Arc<Request>,
    range: Range<usize>,
}

/// The batcher and its workers.
pub struct Coalescer {
    submit: Option<Sender<Arc<Request>>>,
    threads: Vec<JoinHandle<()>>,
    capacity: Arc<Capacity>,
}

/// The workers' measured rate, all workers together (signatures per second; 0 until the first
/// batch): a smoothed per-batch rate times the number of workers.
#[derive(Default)]
pub struct Capacity {
    bits: std::sync::atomic::AtomicU64,
    workers: usize,
}

impl Capacity {
    pub fn per_second(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }

    fn record(&self, signatures: usize, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if signatures == 0 || seconds <= 0.0 {
            return;
        }
        let measured = signatures as f64 / seconds * self.workers as f64;
        let _ = self
            .bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                let old = f64::from_bits(old);
                let new = if old == 0.0 {
                    measured
                } else {
                    0.8 * old + 0.2 * measured
                };
                Some(new.to_bits())
            });
    }
}

impl Coalescer {
    pub fn start(verifier: Verifier, config: CoalesceConfig, metrics: Arc<Metrics>) -> Self {
        let target = config.target.max(1);
        let (submit, requests) = channel::unbounded::<Arc<Request>>();
        let (to_workers, batches) = channel::bounded::<Vec<Piece>>(1);
        let capacity = Arc::new(Capacity {
            bits: Default::default(),
            workers: config.workers.max(1),
        });
        let mut threads = Vec::with_capacity(config.workers + 1);
        threads.push(
            std::thread::Builder::new()
                .name("iosv-batcher".into())
                .spawn(move || batcher(requests, to_workers, target, config.max_delay))
                .expect("spawn the batcher"),
        );
        for n in 0..config.workers.max(1) {
            let batches = batches.clone();
            let verifier = verifier.clone();
            let metrics = Arc::clone(&metrics);
            let capacity = Arc::clone(&capacity);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("iosv-verify-{n}"))
                    .spawn(move || worker(batches, verifier, metrics, capacity))
                    .expect("spawn a verification worker"),
            );
        }
        Self {
            submit: Some(submit),
            threads,
            capacity,
        }
    }

    /// How long `queued` signatures take at the measured rate (`None` before the first batch).
    pub fn expected_wait(&self, queued: usize) -> Option<Duration> {
        let rate = self.capacity.per_second();
        (rate > 0.0).then(|| Duration::from_secs_f64(queued as f64 / rate))
    }

    /// Queues `batch` (already admitted under `permit`); the receiver gets its verdicts, or is
    /// dropped unanswered if the caller went away first.
    pub fn submit(
        &self,
        batch: PackedBatch,
        permit: Permit,
        deadline: Option<Instant>,
    ) -> oneshot::Receiver<BatchVerdicts> {
        let (reply, answer) = oneshot::channel();
        let n = batch.len();
        let request = Arc::new(Request {
            verdicts: Mutex::new((vec![Verdict::Unspecified as u8; n], Vec::new())),
            batch,
            pieces_left: AtomicUsize::new(0),
            reply: Mutex::new(Some(reply)),
            deadline,
            admitted: Instant::now(),
            started: AtomicBool::new(false),
            permit: Mutex::new(Some(permit)),
        });
        if n == 0 {
            finish(&request);
        } else if let Some(submit) = &self.submit {
            // Fails only after shutdown began; the receiver then reports the service closing.
            let _ = submit.send(request);
        }
        answer
    }

    /// Finishes every queued request, then stops the threads.
    pub fn shutdown(mut self) {
        self.submit = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Coalescer {
    fn drop(&mut self) {
        self.submit = None;
    }
}

fn batcher(
    requests: Receiver<Arc<Request>>,
    to_workers: Sender<Vec<Piece>>,
    target: usize,
    max_delay: Duration,
) {
    let mut waiting: VecDeque<Piece> = VecDeque::new();
    let mut waiting_sigs = 0usize;
    let mut open = true;
    let cut = |request: Arc<Request>, waiting: &mut VecDeque<Piece>, sigs: &mut usize| {
        let n = request.batch.len();
        let pieces = n.div_ceil(target);
        request.pieces_left.store(pieces, Ordering::Release);
        for p in 0..pieces {
            let range = p * target..((p + 1) * target).min(n);
            *sigs += range.len();
            waiting.push_back(Piece {
                request: Arc::clone(&request),
                range,
            });
        }
    };
    loop {
        if waiting.is_empty() {
            if !open {
                return;
            }
            match requests.recv() {
                Ok(r) => cut(r, &mut waiting, &mut waiting_sigs),
                Err(_) => return,
            }
        }
        let leave_by = waiting
            .front()
            .map(|p| p.request.admitted)
            .expect("waiting")
            + max_delay;
        while open && waiting_sigs < target {
            match requests.recv_deadline(leave_by) {
                Ok(r) => cut(r, &mut waiting, &mut waiting_sigs),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        let mut batch = Vec::new();
        let mut size = 0;
        while size < target {
            let Some(piece) = waiting.pop_front() else {
                break;
            };
            size += piece.range.len();
            batch.push(piece);
        }
        waiting_sigs -= size;
        if to_workers.send(batch).is_err() {
            return;
        }
    }
}

/// Lowers this thread's scheduling priority (Linux: nice 10 for the thread alone), so that when
/// the cores are saturated the network threads — reading requests, shedding, writing verdicts —
/// still run promptly and verification takes what is left.
fn yield_to_network_threads() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; failure only leaves the
    // priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

fn worker(
    batches: Receiver<Vec<Piece>>,
    verifier: Verifier,
    metrics: Arc<Metrics>,
    capacity: Arc<Capacity>,
) {
    yield_to_network_threads();
    for pieces in batches {
        let live: Vec<Piece> = pieces.into_iter().filter(|p| p.request.wanted()).collect();
        if live.is_empty() {
            continue;
        }
        let now = Instant::now();
        for p in &live {
            if !p.request.started.swap(true, Ordering::AcqRel) {
                metrics
                    .queue_wait
                    .observe(now.duration_since(p.request.admitted).as_secs_f64());
            }
        }
        let refs: Vec<SigRef<'_>> = live
            .iter()
            .flat_map(|p| p.range.clone().map(|i| p.request.batch.get(i)))
            .collect();
        metrics.backend_batch.observe(refs.len() as f64);
        let started = Instant::now();
        let ok = verifier.verify_batch(&refs);
        capacity.record(refs.len(), started.elapsed());
        drop(refs);
        let mut offset = 0;
        for p in &live {
            let len = p.range.len();
            {
                let mut guard = p.request.verdicts.lock().expect("verdict lock");
                let (verdicts, malformed) = &mut *guard;
                fill_verdicts(
                    &p.request.batch,
                    p.range.start,
                    &ok[offset..offset + len],
                    verdicts,
                    malformed,
                );
            }
            offset += len;
            if p.request.pieces_left.fetch_sub(1, Ordering::AcqRel) == 1 {
                finish(&p.request);
            }
        }
    }
}

/// Sends the request's verdicts to whoever waits for them.
fn finish(request: &Request) {
    let (verdicts, mut malformed) =
        std::mem::take(&mut *request.verdicts.lock().expect("verdict lock"));
    malformed.sort_unstable_by_key(|m| m.index);
    drop(request.permit.lock().expect("permit lock").take());
    if let Some(reply) = request.reply.lock().expect("reply lock").take() {
        let _ = reply.send(BatchVerdicts {
            verdicts: Bytes::from(verdicts),
            malformed,
        });
    }
}
