//! The stage loops. Each runs on its own thread(s) and ends when its input channel disconnects
//! after draining it, so shutdown propagates front to back and loses nothing.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender};

use super::dedup::{Dedup, DedupKey, DedupKeyer};
use super::ledger::Ledger;
use super::metrics::PipelineMetrics;
use super::{Outcome, PipelineConfig, RejectReason, Submission};
use crate::platform::CpuStopwatch;
use crate::sig::Verifier;
use crate::tx::{Transaction, TxDecodeError, TxId, verify_tx_signatures};

/// Submissions in admission order, numbered so that the stages after the parallel decoders can
/// restore that order.
pub(crate) struct Chunk {
    seq: u64,
    items: Vec<Submission>,
}

/// A decoded transaction with its identifier (= its signing hash).
pub(crate) struct Decoded {
    tx: Transaction,
    txid: TxId,
    admitted: Instant,
}

/// A chunk after decoding: each submission decoded with its dedup key, or why it did not decode.
pub(crate) struct DecodedChunk {
    seq: u64,
    items: Vec<Result<(Decoded, DedupKey), TxDecodeError>>,
}

/// Transactions in admission order, numbered so the commit stage can restore that order.
pub(crate) struct Batch {
    seq: u64,
    txs: Vec<Decoded>,
}

/// A batch after signature verification: the transactions whose every signature is valid, laid
/// out as the ledger takes them (transactions, their txids, their admission times: index `i` of
/// each is one transaction, built on the parallel verify workers so the commit thread does not
/// re-pack them), and the rejected ones with their reasons (emitted by the commit stage, the one
/// writer of a batch's outcomes, so a verify worker never blocks on the outcome queue while
/// holding a batch).
pub(crate) struct VerifiedBatch {
    seq: u64,
    txs: Vec<Transaction>,
    txids: Vec<TxId>,
    admitted: Vec<Instant>,
    rejected: Vec<(TxId, RejectReason)>,
}

/// Most submissions in one chunk. The admission thread never waits to fill a chunk (it takes what
/// is queued), so at low load chunks are small and add no latency; at high load 256 spreads the
/// per-chunk channel and allocation costs thin while keeping every decoder busy.
const CHUNK: usize = 256;

/// Cut the submission queue into numbered chunks of what is waiting: the one serial step before
/// decoding, a move per submission.
pub(crate) fn admit(input: Receiver<Submission>, output: Sender<Chunk>, metrics: &PipelineMetrics) {
    let mut seq = 0u64;
    while let Ok(first) = input.recv() {
        metrics.admit.queue_depth(input.len());
        let start = CpuStopwatch::start();
        let mut items = Vec::with_capacity(input.len().clamp(1, CHUNK));
        items.push(first);
        while items.len() < CHUNK {
            match input.try_recv() {
                Ok(s) => items.push(s),
                Err(_) => break,
            }
        }
        metrics.admit.record(items.len(), start.elapsed());
        if output.send(Chunk { seq, items }).is_err() {
            return;
        }
        seq += 1;
    }
}

/// Decode, identify (the signing hash) and key each submission for deduplication; several of
/// these run at once, each on whole chunks.
pub(crate) fn decode(
    input: Receiver<Chunk>,
    output: Sender<DecodedChunk>,
    keyer: &DedupKeyer,
    metrics: &PipelineMetrics,
) {
    for chunk in input.iter() {
        metrics.decode.queue_depth(input.len());
        let start = CpuStopwatch::start();
        let count = chunk.items.len();
        let items = chunk
            .items
            .into_iter()
            .map(|submission| {
                let tx = Transaction::decode(&submission.bytes)?;
                let txid = tx.txid();
                let key = keyer.key(&tx, txid);
                Ok((
                    Decoded {
                        tx,
                        txid,
                        admitted: submission.admitted,
                    },
                    key,
                ))
            })
            .collect();
        metrics.decode.record(count, start.elapsed());
        if output
            .send(DecodedChunk {
                seq: chunk.seq,
                items,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Restore admission order, deduplicate, and cut signature batches by size and deadline.
pub(crate) fn batch(
    config: PipelineConfig,
    mut dedup: Dedup,
    input: Receiver<DecodedChunk>,
    output: Sender<Batch>,
    outcomes: Sender<Outcome>,
    metrics: &PipelineMetrics,
) {
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, DecodedChunk> = BTreeMap::new();
    let mut seq = 0u64;
    let mut batch: Vec<Decoded> = Vec::new();
    let mut signatures = 0usize;
    let mut deadline: Option<Instant> = None;

    let mut flush =
        |batch: &mut Vec<Decoded>, signatures: &mut usize, deadline: &mut Option<Instant>| {
            if batch.is_empty() {
                return true;
            }
            let txs = std::mem::take(batch);
            *signatures = 0;
            *deadline = None;
            let sent = output.send(Batch { seq, txs }).is_ok();
            seq += 1;
            sent
        };

    loop {
        metrics.batch.queue_depth(input.len());
        let received = match deadline {
            None => input.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => input.recv_deadline(d),
        };
        let chunk = match received {
            Ok(chunk) => chunk,
            Err(RecvTimeoutError::Timeout) => {
                if !flush(&mut batch, &mut signatures, &mut deadline) {
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                flush(&mut batch, &mut signatures, &mut deadline);
                return;
            }
        };
        waiting.insert(chunk.seq, chunk);
        while let Some(ready) = waiting.remove(&next) {
            next += 1;
            let start = CpuStopwatch::start();
            let count = ready.items.len();
            for item in ready.items {
                match item {
                    Err(e) => reject(&outcomes, metrics, None, RejectReason::Decode(e)),
                    Ok((decoded, key)) => {
                        if !dedup.admit_key(key) {
                            reject(
                                &outcomes,
                                metrics,
                                Some(decoded.txid),
                                RejectReason::Duplicate,
                            );
                            continue;
                        }
                        signatures += decoded.tx.inputs.len();
                        if deadline.is_none() {
                            deadline = Some(Instant::now() + config.batch_deadline);
                        }
                        batch.push(decoded);
                        if signatures >= config.sig_batch
                            && !flush(&mut batch, &mut signatures, &mut deadline)
                        {
                            return;
                        }
                    }
                }
            }
            metrics.batch.record(count, start.elapsed());
        }
    }
}

/// Verify every signature of each batch; pass on the transactions whose signatures all hold.
pub(crate) fn verify(
    input: Receiver<Batch>,
    output: Sender<VerifiedBatch>,
    verifier: &Verifier,
    metrics: &PipelineMetrics,
) {
    for batch in input.iter() {
        metrics.verify.queue_depth(input.len());
        let start = CpuStopwatch::start();
        let verdicts = verify_tx_signatures(batch.txs.iter().map(|d| (&d.tx, &d.txid)), |refs| {
            verifier.verify_batch(refs)
        });
        let signatures = verdicts.checked();
        let n = batch.txs.len();
        let (mut txs, mut txids, mut admitted) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut rejected = Vec::new();
        for (i, d) in batch.txs.into_iter().enumerate() {
            match verdicts.first_bad_input(i) {
                None => {
                    txs.push(d.tx);
                    txids.push(d.txid);
                    admitted.push(d.admitted);
                }
                Some(input) => rejected.push((d.txid, RejectReason::BadSignature { input })),
            }
        }
        metrics.verify.record(signatures, start.elapsed());
        let batch = VerifiedBatch {
            seq: batch.seq,
            txs,
            txids,
            admitted,
            rejected,
        };
        if output.send(batch).is_err() {
            return;
        }
    }
}

/// Apply verified batches to the ledger in admission order; report each transaction's outcome.
/// The batch's transactions, once applied, go to `reclaim` to be freed on another thread
/// (freeing a thousand transactions' vectors was about a tenth of this thread's time); when that
/// queue is full they are freed here, so nothing waits and nothing piles up.
pub(crate) fn commit(
    input: Receiver<VerifiedBatch>,
    outcomes: Sender<Outcome>,
    reclaim: Sender<Vec<Transaction>>,
    ledger: &dyn Ledger,
    metrics: &PipelineMetrics,
) {
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, VerifiedBatch> = BTreeMap::new();
    for batch in input.iter() {
        metrics.commit.queue_depth(input.len());
        waiting.insert(batch.seq, batch);
        while let Some(ready) = waiting.remove(&next) {
            next += 1;
            for (txid, reason) in ready.rejected {
                reject(&outcomes, metrics, Some(txid), reason);
            }
            let start = CpuStopwatch::start();
            let count = ready.txs.len();
            let verdicts = ledger.apply(&ready.txs, &ready.txids);
            if let Err(full) = reclaim.try_send(ready.txs) {
                drop(full.into_inner());
            }
            let now = Instant::now();
            let mut latencies: Vec<Duration> = Vec::with_capacity(count);
            let mut results = Vec::with_capacity(count);
            for ((txid, admitted), verdict) in
                ready.txids.into_iter().zip(ready.admitted).zip(verdicts)
            {
                match verdict {
                    Ok(()) => {
                        let latency = now - admitted;
                        latencies.push(latency);
                        results.push(Outcome::Committed { txid, latency });
                    }
                    Err(reason) => results.push(Outcome::Rejected {
                        txid: Some(txid),
                        reason: RejectReason::Ledger(reason),
                    }),
                }
            }
            metrics
                .committed
                .fetch_add(latencies.len() as u64, Ordering::Relaxed);
            metrics.record_latencies(latencies);
            metrics.commit.record(count, start.elapsed());
            for o in results {
                if let Outcome::Rejected { .. } = o {
                    metrics.rejected.fetch_add(1, Ordering::Relaxed);
                }
                if outcomes.send(o).is_err() {
                    return;
                }
            }
        }
    }
}

/// Frees what the commit stage has finished with, off its thread. Ends when the commit stage does.
pub(crate) fn reclaim(input: Receiver<Vec<Transaction>>, metrics: &PipelineMetrics) {
    for txs in input.iter() {
        let start = CpuStopwatch::start();
        let count = txs.len();
        drop(txs);
        metrics.reclaim.record(count, start.elapsed());
    }
}

fn reject(
    outcomes: &Sender<Outcome>,
    metrics: &PipelineMetrics,
    txid: Option<TxId>,
    reason: RejectReason,
) {
    metrics.rejected.fetch_add(1, Ordering::Relaxed);
    let _ = outcomes.send(Outcome::Rejected { txid, reason });
}
