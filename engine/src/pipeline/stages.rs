//! The stage loops. Each runs on its own thread(s) and ends when its input channel disconnects
//! after draining it, so shutdown propagates front to back and loses nothing.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender};

use super::dedup::Dedup;
use super::ledger::Ledger;
use super::metrics::PipelineMetrics;
use super::{Outcome, PipelineConfig, RejectReason, Submission};
use crate::sig::{SigRef, Verifier};
use crate::tx::{Transaction, TxId};

/// A decoded, deduplicated transaction with its identifier (= its signing hash).
pub(crate) struct Decoded {
    tx: Transaction,
    txid: TxId,
    admitted: Instant,
}

/// Transactions in admission order, numbered so the commit stage can restore that order.
pub(crate) struct Batch {
    seq: u64,
    txs: Vec<Decoded>,
}

/// A batch after signature verification: the transactions whose every signature is valid, and
/// the rejected ones with their reasons (emitted by the commit stage, the one writer of a batch's
/// outcomes, so a verify worker never blocks on the outcome queue while holding a batch).
pub(crate) struct VerifiedBatch {
    seq: u64,
    txs: Vec<Decoded>,
    rejected: Vec<(TxId, RejectReason)>,
}

/// Decode, identify and deduplicate; cut signature batches by size and deadline.
pub(crate) fn ingest(
    config: PipelineConfig,
    input: Receiver<Submission>,
    output: Sender<Batch>,
    outcomes: Sender<Outcome>,
    metrics: &PipelineMetrics,
) {
    let mut dedup = Dedup::new(config.dedup_window);
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
        metrics.ingest.queue_depth(input.len());
        let received = match deadline {
            None => input.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => input.recv_deadline(d),
        };
        let submission = match received {
            Ok(s) => s,
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
        let start = Instant::now();
        match Transaction::decode(&submission.bytes) {
            Err(e) => reject(&outcomes, metrics, None, RejectReason::Decode(e)),
            Ok(tx) => {
                let txid = tx.txid();
                if dedup.admit(&tx, txid) {
                    signatures += tx.inputs.len();
                    if deadline.is_none() {
                        deadline = Some(start + config.batch_deadline);
                    }
                    batch.push(Decoded {
                        tx,
                        txid,
                        admitted: submission.admitted,
                    });
                } else {
                    reject(&outcomes, metrics, Some(txid), RejectReason::Duplicate);
                }
            }
        }
        metrics.ingest.record(1, start.elapsed());
        if signatures >= config.sig_batch && !flush(&mut batch, &mut signatures, &mut deadline) {
            return;
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
        let start = Instant::now();
        let refs: Vec<SigRef<'_>> = batch
            .txs
            .iter()
            .flat_map(|d| {
                d.tx.inputs.iter().map(move |i| SigRef {
                    pk: &i.owner,
                    msg: &d.txid.0,
                    sig: &i.signature,
                })
            })
            .collect();
        let signatures = refs.len();
        let verdicts = verifier.verify_batch(&refs);
        drop(refs);
        let mut verdicts = verdicts.into_iter();
        let mut kept = Vec::with_capacity(batch.txs.len());
        let mut rejected = Vec::new();
        for d in batch.txs {
            // Consume every verdict of this transaction, keeping the first failing input.
            let first_bad = verdicts
                .by_ref()
                .take(d.tx.inputs.len())
                .enumerate()
                .fold(None, |bad, (input, ok)| bad.or((!ok).then_some(input)));
            match first_bad {
                None => kept.push(d),
                Some(input) => rejected.push((d.txid, RejectReason::BadSignature { input })),
            }
        }
        metrics.verify.record(signatures, start.elapsed());
        let batch = VerifiedBatch {
            seq: batch.seq,
            txs: kept,
            rejected,
        };
        if output.send(batch).is_err() {
            return;
        }
    }
}

/// Apply verified batches to the ledger in admission order; report each transaction's outcome.
pub(crate) fn commit(
    input: Receiver<VerifiedBatch>,
    outcomes: Sender<Outcome>,
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
            let start = Instant::now();
            let (txs, meta): (Vec<Transaction>, Vec<(TxId, Instant)>) = ready
                .txs
                .into_iter()
                .map(|d| (d.tx, (d.txid, d.admitted)))
                .unzip();
            let txids: Vec<TxId> = meta.iter().map(|(txid, _)| *txid).collect();
            let verdicts = ledger.apply(&txs, &txids);
            let now = Instant::now();
            let mut latencies: Vec<Duration> = Vec::with_capacity(meta.len());
            let mut results = Vec::with_capacity(meta.len());
            for ((txid, admitted), verdict) in meta.into_iter().zip(verdicts) {
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
            metrics.commit.record(txs.len(), start.elapsed());
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

fn reject(
    outcomes: &Sender<Outcome>,
    metrics: &PipelineMetrics,
    txid: Option<TxId>,
    reason: RejectReason,
) {
    metrics.rejected.fetch_add(1, Ordering::Relaxed);
    let _ = outcomes.send(Outcome::Rejected { txid, reason });
}
