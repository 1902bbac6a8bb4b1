//! `iosv bench gpu`: signatures per second against batch size on the GPU (the WGSL kernels) and on
//! the CPU backend (one thread, and all threads), on the same signatures; the crossover batch size
//! (the smallest measured batch at which the GPU beats all CPU threads); the adapter; and where
//! the GPU's time goes (upload, kernels, read-back), measured with each phase waited for in turn.
//!
//! Every GPU verdict is compared with the CPU's: a benchmark that disagrees is a failure, not a
//! figure. On a software adapter (lavapipe) the figures say nothing about GPU speed: the report
//! marks them so.

use std::time::{Duration, Instant};

use iosv_engine::sig::{Backend, SigItem, SigRef, Verifier};
use iosv_engine::workload::{KeyReuse, signed_items};
use iosv_kernels::{AdapterDescription, GpuVerifier, SigInput, TimeSplit};
use serde::Serialize;

use super::timing::Spread;

#[derive(Clone, Copy, Debug)]
pub struct GpuPlan {
    pub batch_sizes: &'static [usize],
    pub samples: usize,
}

impl GpuPlan {
    pub const FULL: Self = Self {
        batch_sizes: &[1024, 4096, 16_384, 65_536, 262_144, 1_048_576],
        samples: 5,
    };
    pub const QUICK: Self = Self {
        batch_sizes: &[256, 2048],
        samples: 2,
    };
}

/// Message length of the benchmark's signatures (a signing hash's size).
const MSG_LEN: usize = 32;

/// Largest batch at which one CPU thread is measured too (beyond it, one thread takes seconds per
/// sample and says nothing new).
const ONE_THREAD_MAX_BATCH: usize = 65_536;

#[derive(Debug, Serialize)]
pub struct GpuPoint {
    pub batch: usize,
    /// Whole batches through `GpuVerifier::verify`: packing, upload, kernels and read-back, with
    /// chunks overlapping.
    pub gpu_sigs_per_sec: Spread,
    /// The batch over the kernels' time alone (from the waited-phase run).
    pub gpu_kernel_sigs_per_sec: f64,
    pub cpu_one_thread_sigs_per_sec: Option<Spread>,
    pub cpu_all_threads_sigs_per_sec: Spread,
    /// One run of the batch with every GPU phase waited for in turn.
    pub gpu_time_split_ms: SplitMs,
}

#[derive(Debug, Serialize)]
pub struct SplitMs {
    pub upload: f64,
    pub kernels: f64,
    pub readback: f64,
    /// The stages on the GPU's own clock (timestamps inside the pass), where the adapter has them.
    pub gpu_stages: Option<StagesMs>,
}

#[derive(Debug, Serialize)]
pub struct StagesMs {
    pub hash: f64,
    pub prepare: f64,
    pub window: f64,
    pub finish: f64,
}

impl From<TimeSplit> for SplitMs {
    fn from(t: TimeSplit) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Self {
            upload: ms(t.upload),
            kernels: ms(t.kernels),
            readback: ms(t.readback),
            gpu_stages: t.gpu_stages.map(|s| StagesMs {
                hash: ms(s.hash),
                prepare: ms(s.prepare),
                window: ms(s.window),
                finish: ms(s.finish),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GpuReport {
    pub adapter: AdapterDescription,
    /// The kernels measured: field variant ("u32" or "i64"), windows per dispatch, chunk size.
    pub field: String,
    pub windows_per_dispatch: u32,
    pub max_chunk: usize,
    /// True for a software adapter (lavapipe): correctness only, not GPU speed.
    pub software_adapter: bool,
    pub cpu_threads: usize,
    pub message_len: usize,
    pub points: Vec<GpuPoint>,
    /// Smallest measured batch where the GPU's median rate beats all CPU threads; none if never.
    pub crossover_batch: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum GpuBenchError {
    #[error(transparent)]
    Gpu(#[from] iosv_kernels::GpuError),
    #[error(transparent)]
    Backend(#[from] iosv_engine::sig::BackendError),
    #[error("GPU and CPU verdicts differ at batch {batch}, index {index}: a consensus bug")]
    Disagreement { batch: usize, index: usize },
}

fn rate(count: usize, f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    count as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// Verifies `refs` on all threads, each thread a contiguous slice.
fn cpu_all_threads(cpu: &Verifier, refs: &[SigRef<'_>], threads: usize) -> Vec<bool> {
    let chunk = refs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = refs
            .chunks(chunk)
            .map(|part| s.spawn(move || cpu.verify_batch(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("CPU verifier thread"))
            .collect()
    })
}

pub fn measure(plan: GpuPlan, log: impl Fn(String)) -> Result<GpuReport, GpuBenchError> {
    let gpu = GpuVerifier::new()?;
    let cpu = Verifier::new(Backend::Cpu)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    log(format!(
        "adapter: {} ({}, {} {}); {} field kernels, {} windows per dispatch, chunks of {}",
        gpu.adapter().name,
        gpu.adapter().backend,
        gpu.adapter().driver,
        gpu.adapter().driver_info,
        gpu.field().name(),
        gpu.config().windows_per_dispatch,
        gpu.max_chunk(),
    ));
    let mut points = Vec::new();
    for &batch in plan.batch_sizes {
        let items: Vec<SigItem> = signed_items(batch, MSG_LEN, KeyReuse::Distinct, batch as u64);
        let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
        let inputs: Vec<SigInput<'_>> = items
            .iter()
            .map(|i| SigInput {
                pk: &i.pk,
                msg: &i.msg,
                sig: &i.sig,
            })
            .collect();
        let expected = cpu.verify_batch(&refs);
        let check =
            |verdicts: &[bool]| match (0..batch).find(|&i| verdicts.get(i) != Some(&expected[i])) {
                Some(index) => Err(GpuBenchError::Disagreement { batch, index }),
                None => Ok(()),
            };
        // The GPU's samples run back to back after one unmeasured batch: a GPU left idle while
        // the CPU is measured drops its clocks and takes milliseconds to raise them again, which
        // measured here (H200) as a 4x spread between samples of the same batch.
        check(&gpu.verify(&inputs)?)?;
        let mut g = Vec::new();
        for _ in 0..plan.samples {
            let mut verdicts = Vec::new();
            g.push(rate(batch, || {
                verdicts = gpu.verify(&inputs).unwrap_or_default()
            }));
            check(&verdicts)?;
        }
        let (verdicts, split) = gpu.verify_timed(&inputs)?;
        check(&verdicts)?;
        let (mut c1, mut ca) = (Vec::new(), Vec::new());
        for _ in 0..plan.samples {
            if batch <= ONE_THREAD_MAX_BATCH {
                c1.push(rate(batch, || {
                    cpu.verify_batch(&refs);
                }));
            }
            ca.push(rate(batch, || {
                cpu_all_threads(&cpu, &refs, threads);
            }));
        }
        let point = GpuPoint {
            batch,
            gpu_sigs_per_sec: Spread::of(g),
            gpu_kernel_sigs_per_sec: batch as f64 / split.kernels.as_secs_f64().max(1e-9),
            cpu_one_thread_sigs_per_sec: (!c1.is_empty()).then(|| Spread::of(c1)),
            cpu_all_threads_sigs_per_sec: Spread::of(ca),
            gpu_time_split_ms: split.into(),
        };
        log(format!(
            "batch {batch:>7}: gpu {:>10.0}/s (kernels alone {:>10.0}/s)  cpu 1 thread {:>10.0}/s  \
             cpu {threads} threads {:>10.0}/s  (gpu split ms: upload {:.1}, kernels {:.1}, read-back {:.1})",
            point.gpu_sigs_per_sec.median,
            point.gpu_kernel_sigs_per_sec,
            point
                .cpu_one_thread_sigs_per_sec
                .as_ref()
                .map_or(f64::NAN, |s| s.median),
            point.cpu_all_threads_sigs_per_sec.median,
            point.gpu_time_split_ms.upload,
            point.gpu_time_split_ms.kernels,
            point.gpu_time_split_ms.readback,
        ));
        if let Some(s) = &point.gpu_time_split_ms.gpu_stages {
            log(format!(
                "               GPU clock ms: hash {:.2}, prepare {:.2}, windows {:.2}, finish {:.2}",
                s.hash, s.prepare, s.window, s.finish
            ));
        }
        points.push(point);
    }
    let crossover_batch = points
        .iter()
        .find(|p| p.gpu_sigs_per_sec.median > p.cpu_all_threads_sigs_per_sec.median)
        .map(|p| p.batch);
    Ok(GpuReport {
        software_adapter: gpu.adapter().is_software(),
        adapter: gpu.adapter().clone(),
        field: gpu.field().name().to_string(),
        windows_per_dispatch: gpu.config().windows_per_dispatch,
        max_chunk: gpu.max_chunk(),
        cpu_threads: threads,
        message_len: MSG_LEN,
        points,
        crossover_batch,
    })
}
