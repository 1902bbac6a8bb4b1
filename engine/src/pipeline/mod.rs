//! The validation pipeline: admission → decode and signing hash → dedup → signature verification
//! → UTXO validation → commit, as independent stages joined by bounded crossbeam channels.
//!
//! Threads per stage: admission, dedup/batching and commit are one thread each and do only what
//! must follow admission order (numbering, one hash-set operation, the UTXO overlay pass);
//! decoding and hashing run on [`PipelineConfig::decode_workers`] threads, signature verification
//! on [`PipelineConfig::verify_workers`], and the commit stage's lookups and writes spread over the
//! ledger's own threads (sharded by outpoint, see [`crate::utxo::UtxoSet::with_threads`]); one
//! more thread frees committed batches, so the commit thread does not spend its time in the
//! allocator.
//!
//! Invariants:
//! - **Backpressure, nothing unbounded.** Every channel is bounded; a full stage blocks the one
//!   before it, up to [`Submitter::submit`] (or makes [`Submitter::try_submit`] return `Full`).
//! - **Order where the rules need it.** Transactions reach dedup and the ledger in admission order:
//!   chunks and batches carry sequence numbers and the stages after parallel workers re-order
//!   them, so which copy of a resubmission counts, chained spends and the winner of a double
//!   spend do not depend on which worker was faster. The pipeline commits exactly what one thread
//!   judging the submissions in order would (`engine/tests/pipeline_props.rs`).
//! - **Nothing admitted is lost.** Every submission that `submit` accepted comes out of
//!   [`Pipeline::outcomes`] exactly once — committed or rejected with its reason — and shutdown
//!   (dropping every [`Submitter`]) drains every stage before the threads end.
//! - **Batching by size and deadline.** The ingest stage closes a signature batch when it holds
//!   `sig_batch` signatures or when its oldest transaction has waited `batch_deadline`.
//!
//! Files: [`stages`] (the thread loops), [`dedup`] (recently seen transactions), [`metrics`]
//! (per-stage throughput, busy time, queue depth, latency histogram), [`ledger`] (the interface of
//! the commit stage's state).

pub mod dedup;
pub mod ledger;
pub mod metrics;
pub mod stages;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, Sender, TrySendError};
use thiserror::Error;

pub use dedup::{Dedup, DedupKey, DedupKeyer};
pub use ledger::{Ledger, LedgerVerdict};
pub use metrics::{PipelineMetrics, PipelineReport, StageReport};

use crate::sig::Verifier;
use crate::tx::{TxDecodeError, TxId};

#[derive(Clone, Copy, Debug)]
pub struct PipelineConfig {
    /// Signatures per verification batch (the batch closes earlier at its deadline).
    pub sig_batch: usize,
    /// Longest wait of a transaction for its batch to fill.
    pub batch_deadline: Duration,
    /// Capacity of the submission queue, in transactions.
    pub submit_queue: usize,
    /// Capacity of the queues between later stages, in batches.
    pub batch_queue: usize,
    /// Decoding and signing-hash threads.
    pub decode_workers: usize,
    /// Signature verification threads.
    pub verify_workers: usize,
    /// How many recent transactions the dedup stage remembers.
    pub dedup_window: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            // 1,024: where the multiscalar multiplication's per-signature cost flattens out.
            sig_batch: 1024,
            // 5 ms: a small fraction of a block interval, so latency stays low at low load.
            batch_deadline: Duration::from_millis(5),
            submit_queue: 16_384,
            batch_queue: 4,
            // Decoding costs a fraction of verification (~1.6 µs per transaction against several
            // per signature on a CPU): a quarter of the cores keeps it ahead.
            decode_workers: cores.div_ceil(4),
            verify_workers: cores,
            dedup_window: 1 << 20,
        }
    }
}

/// Why a transaction was not committed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RejectReason {
    #[error("cannot decode: {0}")]
    Decode(#[from] TxDecodeError),
    #[error("duplicate of a recently submitted transaction")]
    Duplicate,
    #[error("invalid signature on input {input}")]
    BadSignature { input: usize },
    #[error("{0}")]
    Ledger(String),
}

/// What became of one submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Committed {
        txid: TxId,
        /// Admission to commit.
        latency: Duration,
    },
    Rejected {
        /// Absent when the bytes did not decode.
        txid: Option<TxId>,
        reason: RejectReason,
    },
}

/// A transaction on its way through the pipeline.
pub(crate) struct Submission {
    pub bytes: Vec<u8>,
    pub admitted: Instant,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("the pipeline is full")]
    Full(Vec<u8>),
    #[error("the pipeline has shut down")]
    Closed(Vec<u8>),
}

/// The entry of the pipeline. Cloneable; the pipeline shuts down when every clone is dropped.
#[derive(Clone)]
pub struct Submitter {
    tx: Sender<Submission>,
}

impl Submitter {
    /// Admits `bytes`, waiting while the pipeline is full (backpressure).
    pub fn submit(&self, bytes: Vec<u8>) -> Result<(), SubmitError> {
        self.tx
            .send(Submission {
                bytes,
                admitted: Instant::now(),
            })
            .map_err(|e| SubmitError::Closed(e.into_inner().bytes))
    }

    /// Admits `bytes` if there is room now.
    pub fn try_submit(&self, bytes: Vec<u8>) -> Result<(), SubmitError> {
        self.tx
            .try_send(Submission {
                bytes,
                admitted: Instant::now(),
            })
            .map_err(|e| match e {
                TrySendError::Full(s) => SubmitError::Full(s.bytes),
                TrySendError::Disconnected(s) => SubmitError::Closed(s.bytes),
            })
    }

    /// Transactions waiting in the submission queue.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

/// A running pipeline.
pub struct Pipeline {
    outcomes: Receiver<Outcome>,
    threads: Vec<JoinHandle<()>>,
    metrics: Arc<PipelineMetrics>,
    started: Instant,
}

impl Pipeline {
    /// Starts the stage threads. Outcomes must be drained from [`Pipeline::outcomes`] (it is
    /// bounded too: an undrained pipeline stops admitting).
    pub fn start<L: Ledger + 'static>(
        config: PipelineConfig,
        ledger: Arc<L>,
        verifier: Verifier,
    ) -> (Submitter, Pipeline) {
        let metrics = Arc::new(PipelineMetrics::new());
        let queue = config.batch_queue.max(1);
        let decoders = config.decode_workers.max(1);
        let (submit_tx, submit_rx) = channel::bounded(config.submit_queue.max(1));
        // Enough chunks in flight for every decoder to hold one while the next waits.
        let (chunk_tx, chunk_rx) = channel::bounded(2 * decoders);
        let (decoded_tx, decoded_rx) = channel::bounded(2 * decoders);
        let (verify_tx, verify_rx) = channel::bounded(queue);
        let (commit_tx, commit_rx) = channel::bounded(queue);
        let (outcome_tx, outcome_rx) = channel::bounded(config.submit_queue.max(1));
        // Batches waiting to be freed; when full, the commit stage frees its own (see
        // `stages::commit`).
        let (reclaim_tx, reclaim_rx) = channel::bounded(queue);
        let dedup = Dedup::new(config.dedup_window);
        let keyer = dedup.keyer().clone();

        let mut threads = Vec::new();
        {
            let metrics = metrics.clone();
            threads.push(spawn("iosv-admit", move || {
                stages::admit(submit_rx, chunk_tx, &metrics)
            }));
        }
        for i in 0..decoders {
            let (metrics, chunk_rx, decoded_tx, keyer) = (
                metrics.clone(),
                chunk_rx.clone(),
                decoded_tx.clone(),
                keyer.clone(),
            );
            threads.push(spawn(&format!("iosv-decode-{i}"), move || {
                stages::decode(chunk_rx, decoded_tx, &keyer, &metrics)
            }));
        }
        drop((chunk_rx, decoded_tx));
        {
            let (metrics, outcome_tx) = (metrics.clone(), outcome_tx.clone());
            threads.push(spawn("iosv-batch", move || {
                stages::batch(config, dedup, decoded_rx, verify_tx, outcome_tx, &metrics)
            }));
        }
        for i in 0..config.verify_workers.max(1) {
            let (metrics, verify_rx, commit_tx, verifier) = (
                metrics.clone(),
                verify_rx.clone(),
                commit_tx.clone(),
                verifier.clone(),
            );
            threads.push(spawn(&format!("iosv-verify-{i}"), move || {
                stages::verify(verify_rx, commit_tx, &verifier, &metrics)
            }));
        }
        drop((verify_rx, commit_tx));
        {
            let metrics = metrics.clone();
            threads.push(spawn("iosv-commit", move || {
                stages::commit(commit_rx, outcome_tx, reclaim_tx, &*ledger, &metrics)
            }));
        }
        {
            let metrics = metrics.clone();
            threads.push(spawn("iosv-reclaim", move || {
                stages::reclaim(reclaim_rx, &metrics)
            }));
        }
        let pipeline = Pipeline {
            outcomes: outcome_rx,
            threads,
            metrics,
            started: Instant::now(),
        };
        (Submitter { tx: submit_tx }, pipeline)
    }

    /// Every submission's outcome, exactly once. Ends (disconnects) after shutdown has drained.
    pub fn outcomes(&self) -> &Receiver<Outcome> {
        &self.outcomes
    }

    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }

    /// Waits for every stage to finish (after every [`Submitter`] is dropped and the outcomes are
    /// drained) and reports.
    pub fn join(self) -> PipelineReport {
        let Pipeline {
            outcomes,
            threads,
            metrics,
            started,
        } = self;
        // Keep draining while the stages finish, so that none blocks on a full outcome queue.
        let drained: Vec<Outcome> = outcomes.iter().collect();
        for t in threads {
            t.join().expect("pipeline stage panicked");
        }
        metrics.report(started.elapsed(), drained.len())
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .expect("cannot spawn a pipeline thread")
}
