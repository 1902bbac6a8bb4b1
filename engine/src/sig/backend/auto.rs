//! The `auto` backend: each batch is split between the CPU and the GPU in proportion to their
//! measured rates (signatures per second, smoothed over batches), the two parts verified at the
//! same time. Without an adapter it is the CPU backend, and says so once.
//!
//! Invariant: never a verdict different from the CPU's (the GPU part goes through the `gpu`
//! backend, which keeps that invariant).

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::gpu::GpuBackend;
use crate::sig::{KeyCache, SigRef, batch};

/// Batches smaller than this stay on the CPU: a GPU round trip (upload, three dispatches,
/// read-back) costs more than verifying a few hundred signatures on a CPU core.
const MIN_GPU_BATCH: usize = 256;
/// While a rate is unmeasured the CPU gets 1/PROBE_DIVISOR of a batch: enough to measure it,
/// little enough not to hold up the batch whatever the two rates turn out to be.
const PROBE_DIVISOR: f64 = 32.0;
/// Weight of the newest measurement in the smoothed rates.
const SMOOTHING: f64 = 0.3;

/// Rates in signatures per second, as f64 bits; 0 means not measured yet.
#[derive(Default)]
struct Rates {
    cpu: AtomicU64,
    gpu: AtomicU64,
}

impl Rates {
    fn get(cell: &AtomicU64) -> f64 {
        f64::from_bits(cell.load(Ordering::Relaxed))
    }

    fn update(cell: &AtomicU64, count: usize, seconds: f64) {
        if count == 0 || seconds <= 0.0 {
            return;
        }
        let rate = count as f64 / seconds;
        let old = Self::get(cell);
        let new = if old == 0.0 {
            rate
        } else {
            old * (1.0 - SMOOTHING) + rate * SMOOTHING
        };
        cell.store(new.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub(crate) struct AutoBackend {
    gpu: GpuBackend,
    rates: Arc<Rates>,
}

impl AutoBackend {
    /// The GPU if there is one; `None` (logged once per process) if not.
    pub fn open(config: Option<iosv_kernels::KernelConfig>) -> Option<Self> {
        match GpuBackend::open(config) {
            Ok(gpu) => Some(Self {
                gpu,
                rates: Arc::new(Rates::default()),
            }),
            Err(error) => {
                static SAID: Once = Once::new();
                SAID.call_once(|| {
                    tracing::warn!(%error, "backend auto: no usable GPU, verifying on the CPU");
                });
                None
            }
        }
    }

    pub fn gpu(&self) -> &GpuBackend {
        &self.gpu
    }

    /// How many of `n` signatures go to the GPU: by the measured rates (so that both parts take
    /// about as long), none for small batches, and while either rate is unmeasured all but a
    /// probe of 1/[`PROBE_DIVISOR`] for the CPU — an even split of the first batches cost a GPU
    /// host (H200, 16 threads, 131,072-signature batches) twice the time of the GPU alone.
    fn gpu_share(&self, n: usize) -> usize {
        if n < MIN_GPU_BATCH {
            return 0;
        }
        let cpu = Rates::get(&self.rates.cpu);
        let gpu = Rates::get(&self.rates.gpu);
        let fraction = if cpu == 0.0 || gpu == 0.0 {
            1.0 - 1.0 / PROBE_DIVISOR
        } else {
            gpu / (cpu + gpu)
        };
        let share = (n as f64 * fraction).round() as usize;
        if share < MIN_GPU_BATCH / 4 {
            0
        } else {
            share.min(n)
        }
    }

    pub fn verify_batch(&self, items: &[SigRef<'_>], cache: &KeyCache) -> Vec<bool> {
        let on_gpu = self.gpu_share(items.len());
        let (gpu_items, cpu_items) = items.split_at(on_gpu);
        let (gpu_verdicts, cpu_verdicts) = std::thread::scope(|scope| {
            let gpu_part = (!gpu_items.is_empty()).then(|| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let v = self.gpu.verify_batch(gpu_items, cache);
                    Rates::update(
                        &self.rates.gpu,
                        gpu_items.len(),
                        started.elapsed().as_secs_f64(),
                    );
                    v
                })
            });
            let started = Instant::now();
            let cpu = batch::verify_batch(cpu_items, cache);
            Rates::update(
                &self.rates.cpu,
                cpu_items.len(),
                started.elapsed().as_secs_f64(),
            );
            let gpu = gpu_part.map_or_else(Vec::new, |h| match h.join() {
                Ok(v) => v,
                Err(_) => batch::verify_batch(gpu_items, cache),
            });
            (gpu, cpu)
        });
        let mut verdicts = gpu_verdicts;
        verdicts.extend(cpu_verdicts);
        verdicts
    }
}
