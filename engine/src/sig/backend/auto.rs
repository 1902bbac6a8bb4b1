//! The `auto` backend: each batch goes whole to the side expected to finish it first — the GPU,
//! behind the signatures already queued there, at its measured device throughput, or the
//! calling thread's CPU at its measured rate. Without an adapter it is the CPU backend, and says
//! so once.
//!
//! Why whole batches and not a split of each: the callers that feed many batches at once (the
//! JSON-lines verifier's worker threads, the pipeline's verifier pool) are what load the GPU; a
//! per-batch split by per-call rates measured under that concurrency gave the CPU work the
//! GPU could have absorbed, and the whole process ran up to 17% slower than `gpu` alone (H200
//! host, 16 threads, 1,000,000 signatures, perf-reports/gpu.md). Routing whole batches by
//! expected completion uses the CPU exactly when the GPU is saturated or slow (a software
//! adapter), so `auto` is never much slower than the faster of the two alone.
//!
//! Invariant: never a verdict different from the CPU's (the GPU side goes through the `gpu`
//! backend, which keeps that invariant).

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use super::gpu::GpuBackend;
use crate::sig::{KeyCache, SigRef, batch};

/// Batches smaller than this stay on the CPU: a GPU round trip (upload, four stages, read-back)
/// costs more than verifying a few hundred signatures on a CPU core.
const MIN_GPU_BATCH: usize = 256;
/// One CPU thread's rate assumed until one is measured: about a core of the development machine
/// and of the H200 host with AVX-512 IFMA (130,000–180,000 signatures/s measured there), rounded
/// down so that an unmeasured CPU does not take work a GPU could have done.
const ASSUMED_CPU_RATE: f64 = 100_000.0;
/// The GPU probe at open stops at a batch that takes this long (seconds) ...
const PROBE_TIME: f64 = 0.004;
/// ... or at this many signatures (where an H200 takes ~5 ms).
const PROBE_MAX: usize = 65_536;
/// Weight of the newest measurement in the smoothed rates.
const SMOOTHING: f64 = 0.3;
/// Every EXPLORE-th batch routed to the CPU goes to an idle GPU instead, so that a GPU estimate
/// made in a bad moment is measured again.
const EXPLORE: u64 = 64;

/// Rates in signatures per second, as f64 bits; 0 means not measured yet.
#[derive(Default)]
struct State {
    /// One CPU thread's rate.
    cpu: AtomicU64,
    /// The GPU's device throughput: signatures completed (this batch and those queued ahead of
    /// it) per second of a call.
    gpu: AtomicU64,
    /// Signatures submitted to the GPU and not yet returned.
    gpu_queued: AtomicUsize,
    /// Batches routed to the CPU so far (for exploration).
    cpu_batches: AtomicU64,
}

fn rate(cell: &AtomicU64) -> f64 {
    f64::from_bits(cell.load(Ordering::Relaxed))
}

fn update(cell: &AtomicU64, count: usize, seconds: f64) {
    if count == 0 || seconds <= 0.0 {
        return;
    }
    let measured = count as f64 / seconds;
    let old = rate(cell);
    let new = if old == 0.0 {
        measured
    } else {
        old * (1.0 - SMOOTHING) + measured * SMOOTHING
    };
    cell.store(new.to_bits(), Ordering::Relaxed);
}

/// Whether the GPU, at `gpu` signatures/s with `queued` signatures ahead, finishes a batch of
/// `n` no later than one CPU thread at `cpu` signatures/s (0: unmeasured, taken as
/// [`ASSUMED_CPU_RATE`]); never for batches under [`MIN_GPU_BATCH`], always while the GPU is
/// unmeasured.
fn gpu_finishes_first(n: usize, queued: usize, gpu: f64, cpu: f64) -> bool {
    if n < MIN_GPU_BATCH {
        return false;
    }
    if gpu == 0.0 {
        return true;
    }
    let cpu = if cpu == 0.0 { ASSUMED_CPU_RATE } else { cpu };
    (queued + n) as f64 / gpu <= n as f64 / cpu
}

#[derive(Clone)]
pub(crate) struct AutoBackend {
    gpu: GpuBackend,
    state: Arc<State>,
}

impl AutoBackend {
    /// The GPU if there is one; `None` (logged once per process) if not.
    pub fn open(config: Option<iosv_kernels::KernelConfig>) -> Option<Self> {
        match GpuBackend::open(config) {
            Ok(gpu) => {
                let auto = Self {
                    gpu,
                    state: Arc::new(State::default()),
                };
                auto.probe_gpu();
                Some(auto)
            }
            Err(error) => {
                static SAID: Once = Once::new();
                SAID.call_once(|| {
                    tracing::warn!(%error, "backend auto: no usable GPU, verifying on the CPU");
                });
                None
            }
        }
    }

    /// Measures the GPU's throughput before the first batch: batches of 256, 512, … signatures
    /// until one takes [`PROBE_TIME`] (or [`PROBE_MAX`] signatures), so that a fast GPU is
    /// measured past its fixed latency and a slow one (a software adapter: ~10 ms for the
    /// first 256) costs little. The signatures are all-zero bytes: invalid, but every stage
    /// runs in full for them, so they take as long as valid ones.
    fn probe_gpu(&self) {
        static PK: [u8; 32] = [0; 32];
        static SIG: [u8; 64] = [0; 64];
        let item = SigRef {
            pk: &PK,
            msg: &[],
            sig: &SIG,
        };
        let probe = vec![item; PROBE_MAX];
        let cache = KeyCache::default();
        let mut n = MIN_GPU_BATCH;
        loop {
            let started = Instant::now();
            self.gpu.verify_batch(&probe[..n], &cache);
            let seconds = started.elapsed().as_secs_f64();
            if seconds >= PROBE_TIME || n == PROBE_MAX {
                self.state
                    .gpu
                    .store((n as f64 / seconds.max(1e-9)).to_bits(), Ordering::Relaxed);
                tracing::info!(
                    signatures = n,
                    rate = n as f64 / seconds,
                    "auto: GPU probed"
                );
                return;
            }
            n = (2 * n).min(PROBE_MAX);
        }
    }

    pub fn gpu(&self) -> &GpuBackend {
        &self.gpu
    }

    /// Whether a batch of `n` signatures goes to the GPU, given `queued` signatures ahead of it
    /// there; every [`EXPLORE`]-th batch the rates would send to the CPU goes to an idle GPU.
    fn route_to_gpu(&self, n: usize, queued: usize) -> bool {
        if gpu_finishes_first(n, queued, rate(&self.state.gpu), rate(&self.state.cpu)) {
            return true;
        }
        n >= MIN_GPU_BATCH
            && queued == 0
            && self.state.cpu_batches.fetch_add(1, Ordering::Relaxed) % EXPLORE == EXPLORE - 1
    }

    /// The verdicts, and whether the GPU gave them.
    pub fn verify_batch(&self, items: &[SigRef<'_>], cache: &KeyCache) -> (Vec<bool>, bool) {
        let n = items.len();
        let queued = self.state.gpu_queued.fetch_add(n, Ordering::Relaxed);
        if self.route_to_gpu(n, queued) {
            let started = Instant::now();
            let verdicts = self.gpu.verify_batch(items, cache);
            self.state.gpu_queued.fetch_sub(n, Ordering::Relaxed);
            update(&self.state.gpu, queued + n, started.elapsed().as_secs_f64());
            (verdicts, true)
        } else {
            self.state.gpu_queued.fetch_sub(n, Ordering::Relaxed);
            let started = Instant::now();
            let verdicts = batch::verify_batch(items, cache);
            update(&self.state.cpu, n, started.elapsed().as_secs_f64());
            (verdicts, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_go_where_they_finish_first() {
        // H200-like: 13 M/s behind 15 batches of 16,384, against one core at 150,000/s.
        assert!(gpu_finishes_first(16_384, 15 * 16_384, 13e6, 150_000.0));
        // lavapipe-like: 26,000/s, even with nothing queued.
        assert!(!gpu_finishes_first(16_384, 0, 26_000.0, 150_000.0));
        // A saturated GPU: 10 M signatures queued at 2 M/s take longer than a core's batch.
        assert!(!gpu_finishes_first(16_384, 10_000_000, 2e6, 150_000.0));
        // Small batches stay on the CPU; an unmeasured GPU gets the batch; an unmeasured CPU is
        // taken at the assumed rate.
        assert!(!gpu_finishes_first(MIN_GPU_BATCH - 1, 0, 13e6, 150_000.0));
        assert!(gpu_finishes_first(MIN_GPU_BATCH, 1_000_000, 0.0, 150_000.0));
        assert!(gpu_finishes_first(10_000, 0, ASSUMED_CPU_RATE * 1.01, 0.0));
        assert!(!gpu_finishes_first(10_000, 0, ASSUMED_CPU_RATE * 0.99, 0.0));
    }

    #[test]
    fn smoothed_rate_moves_towards_new_measurements() {
        let cell = AtomicU64::new(0);
        update(&cell, 1000, 1.0);
        assert_eq!(rate(&cell), 1000.0);
        update(&cell, 2000, 1.0);
        assert!((rate(&cell) - 1300.0).abs() < 1e-9);
        update(&cell, 0, 1.0);
        update(&cell, 10, 0.0);
        assert!(
            (rate(&cell) - 1300.0).abs() < 1e-9,
            "empty or instant calls are ignored"
        );
    }
}
