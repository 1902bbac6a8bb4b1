//! Per-stage metrics: items, busy time, largest queue depth seen; and the admission → commit
//! latency histogram.
//!
//! Busy time is the stage threads' own CPU time ([`crate::platform::CpuStopwatch`]), not wall time: it leaves out
//! blocking on a full queue and the time the OS gave the core to another thread, so on a machine
//! with fewer cores than threads it still says how much work each stage does per item. The UTXO
//! set's helper threads (parallel lookups and writes) are not counted in any stage: the commit
//! stage's figure is the part of its work that stays on one thread.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

#[derive(Default)]
pub struct StageCounters {
    items: AtomicU64,
    batches: AtomicU64,
    busy_ns: AtomicU64,
    max_queue: AtomicUsize,
}

impl StageCounters {
    pub fn record(&self, items: usize, busy: Duration) {
        self.items.fetch_add(items as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.busy_ns
            .fetch_add(busy.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Notes the depth of the stage's input queue.
    pub fn queue_depth(&self, depth: usize) {
        self.max_queue.fetch_max(depth, Ordering::Relaxed);
    }

    fn report(&self, name: &'static str, unit: &'static str, serial: bool) -> StageReport {
        let items = self.items.load(Ordering::Relaxed);
        let busy_s = self.busy_ns.load(Ordering::Relaxed) as f64 / 1e9;
        StageReport {
            stage: name,
            unit,
            serial,
            items,
            batches: self.batches.load(Ordering::Relaxed),
            busy_s,
            items_per_busy_s: if busy_s > 0.0 {
                items as f64 / busy_s
            } else {
                0.0
            },
            max_queue_depth: self.max_queue.load(Ordering::Relaxed),
        }
    }
}

pub struct PipelineMetrics {
    pub admit: StageCounters,
    pub decode: StageCounters,
    pub batch: StageCounters,
    pub verify: StageCounters,
    pub commit: StageCounters,
    pub reclaim: StageCounters,
    latency_us: Mutex<Histogram<u64>>,
    pub committed: AtomicU64,
    pub rejected: AtomicU64,
}

impl PipelineMetrics {
    pub fn new() -> Self {
        Self {
            admit: StageCounters::default(),
            decode: StageCounters::default(),
            batch: StageCounters::default(),
            verify: StageCounters::default(),
            commit: StageCounters::default(),
            reclaim: StageCounters::default(),
            // 1 µs to 1 hour, 3 significant digits.
            latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
            committed: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// Records the admission → commit latencies of one committed batch.
    pub fn record_latencies(&self, latencies: impl IntoIterator<Item = Duration>) {
        let mut h = self.latency_us.lock().expect("latency histogram lock");
        for l in latencies {
            h.saturating_record((l.as_micros() as u64).max(1));
        }
    }

    pub fn report(&self, elapsed: Duration, undrained_outcomes: usize) -> PipelineReport {
        let h = self.latency_us.lock().expect("latency histogram lock");
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        PipelineReport {
            elapsed_s: elapsed.as_secs_f64(),
            committed: self.committed.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            undrained_outcomes,
            latency_ms: LatencyReport {
                p50: ms(0.50),
                p95: ms(0.95),
                p99: ms(0.99),
                max: h.max() as f64 / 1000.0,
            },
            stages: vec![
                self.admit
                    .report("admission (chunks)", "transactions", true),
                self.decode.report("decode+txid", "transactions", false),
                self.batch
                    .report("order+dedup+batching", "transactions", true),
                self.verify
                    .report("signature verification", "signatures", false),
                self.commit
                    .report("utxo validation+commit", "transactions", true),
                self.reclaim
                    .report("freeing committed batches", "transactions", true),
            ],
        }
    }
}

impl Default for PipelineMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    pub stage: &'static str,
    pub unit: &'static str,
    /// One thread, in admission order: its busy time per transaction bounds the pipeline's rate
    /// whatever the core count. (The commit stage counts as serial although the UTXO set spreads
    /// its lookups and writes over threads: its busy time is the wall time of the whole step.)
    pub serial: bool,
    pub items: u64,
    pub batches: u64,
    /// CPU seconds of the stage's threads (not waiting), summed over its threads.
    pub busy_s: f64,
    pub items_per_busy_s: f64,
    pub max_queue_depth: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct LatencyReport {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PipelineReport {
    pub elapsed_s: f64,
    pub committed: u64,
    pub rejected: u64,
    /// Outcomes nobody read before shutdown (drained and dropped by `join`).
    pub undrained_outcomes: usize,
    /// Admission → commit, milliseconds.
    pub latency_ms: LatencyReport,
    pub stages: Vec<StageReport>,
}
