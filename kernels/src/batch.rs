//! Running batches: chunking within the device's limits, the stages of a chunk, and several
//! chunks in flight.
//!
//! A batch is cut into chunks of at most `max_chunk` signatures (fewer where the adapter's
//! buffer limits or the slot memory budget say so). A chunk is packed on the CPU (several threads
//! for large chunks, straight into the upload buffer) while the device still runs earlier ones;
//! then it is submitted: hash, prepare, the window dispatches (`windows_per_dispatch` windows
//! each), finish, and the copy of the flags into a mappable buffer. Up to [`IN_FLIGHT`] chunks
//! are queued before the oldest one's verdicts are read back, so packing, compute and read-back
//! overlap.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use wgpu::Buffer;

use crate::device::Gpu;
use crate::pack::{self, JOB_BYTES};
use crate::slot::{ChunkLimits, PARAM_ENTRIES, Pool, Slot, WORKGROUP};
use crate::timestamps::{StageTimes, Timestamps};
use crate::{GpuError, SigInput};

/// Chunks submitted before the oldest one is waited for: one being packed, one computing, one
/// being read back.
const IN_FLIGHT: usize = 3;
/// Bit set in `flags` for a valid signature (all four stage bits).
const ALL_FLAGS: u32 = 0b1111;

/// Where a batch's time went, summed over its chunks. Measured with each phase waited for in turn
/// (no overlap), so the parts add up to the whole.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TimeSplit {
    /// Packing on the CPU and copying the inputs to the device.
    pub upload: Duration,
    /// The compute stages.
    pub kernels: Duration,
    /// Copying the verdicts back and reading them.
    pub readback: Duration,
    /// The stages' time on the GPU's own clock, where the adapter has timestamps inside passes.
    pub gpu_stages: Option<StageTimes>,
}

/// A chunk of a batch: `items[start..end]`, with `input_bytes` of padded SHA-512 input.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    start: usize,
    end: usize,
    input_bytes: usize,
}

impl Chunk {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Cuts `items` into chunks within `limits` (lengths already checked, so one item always fits).
fn chunks(items: &[SigInput<'_>], limits: ChunkLimits) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let len = pack::padded_len(item.msg.len());
        if i > start && (i - start == limits.max_sigs || bytes + len > limits.max_input_bytes) {
            out.push(Chunk {
                start,
                end: i,
                input_bytes: bytes,
            });
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    if start < items.len() {
        out.push(Chunk {
            start,
            end: items.len(),
            input_bytes: bytes,
        });
    }
    out
}

/// The window ranges of one chunk: `(first, last)` from 63 down to 0, `per` windows each.
fn window_ranges(per: u32) -> impl Iterator<Item = (u32, u32)> {
    let per = per.clamp(1, 64);
    (0..64u32.div_ceil(per)).map(move |i| {
        let first = 63 - i * per;
        (first, first.saturating_sub(per - 1))
    })
}

/// A mapped view of the queue's staging memory for the first `bytes` of `buffer`.
fn staging(
    gpu: &Gpu,
    buffer: &Buffer,
    bytes: usize,
) -> Result<wgpu::QueueWriteBufferView, GpuError> {
    wgpu::BufferSize::new(bytes as u64)
        .and_then(|size| gpu.queue.write_buffer_with(buffer, 0, size))
        .ok_or_else(|| GpuError::Device(format!("no staging memory for {bytes} bytes")))
}

/// Packs `chunk` straight into the staging memory of `slot`'s input and job buffers, and writes
/// the parameter entries (entry 0 for the whole-chunk stages, then one per window range).
fn upload(gpu: &Gpu, slot: &Slot, items: &[SigInput<'_>], chunk: Chunk) -> Result<(), GpuError> {
    let count = chunk.len();
    {
        let mut input = staging(gpu, &slot.input, chunk.input_bytes)?;
        let mut jobs = staging(gpu, &slot.jobs, count * JOB_BYTES)?;
        let part = &items[chunk.start..chunk.end];
        pack::pack(part, input.slice(..), jobs.slice(..), gpu.pack_threads);
    }
    let align = gpu.param_align() as usize;
    let mut params = staging(gpu, &slot.params, PARAM_ENTRIES * align)?;
    let mut put = |entry: usize, first: u32, last: u32| {
        let words = [count as u32, slot.capacity as u32, first, last];
        params
            .slice(entry * align..entry * align + 16)
            .copy_from_slice(bytemuck::cast_slice(&words));
    };
    put(0, 63, 0);
    for (i, (first, last)) in window_ranges(gpu.config.windows_per_dispatch).enumerate() {
        put(i + 1, first, last);
    }
    Ok(())
}

/// Encodes the stages on `slot` for `count` signatures, then (if `copy_out`) the copy of the
/// flags into the mappable buffer; with `stamps`, a timestamp before and after each stage and
/// their resolution.
fn encode(
    gpu: &Gpu,
    slot: &Slot,
    count: usize,
    copy_out: bool,
    stamps: Option<&Timestamps>,
) -> wgpu::CommandBuffer {
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("iosv verify"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("iosv verify"),
            timestamp_writes: None,
        });
        let groups = count.div_ceil(WORKGROUP) as u32;
        let align = gpu.param_align() as u32;
        let p = &gpu.pipelines;
        let stamp = |pass: &mut wgpu::ComputePass<'_>, index: u32| {
            if let Some(t) = stamps {
                pass.write_timestamp(&t.set, index);
            }
        };
        stamp(&mut pass, 0);
        pass.set_bind_group(0, &slot.bind_group, &[0]);
        pass.set_pipeline(&p.hash);
        pass.dispatch_workgroups(groups, 1, 1);
        stamp(&mut pass, 1);
        pass.set_pipeline(&p.prepare);
        pass.dispatch_workgroups(groups, 1, 1);
        stamp(&mut pass, 2);
        pass.set_pipeline(&p.window);
        for i in 0..window_ranges(gpu.config.windows_per_dispatch).count() {
            pass.set_bind_group(0, &slot.bind_group, &[(i as u32 + 1) * align]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        stamp(&mut pass, 3);
        pass.set_bind_group(0, &slot.bind_group, &[0]);
        pass.set_pipeline(&p.finish);
        pass.dispatch_workgroups(groups, 1, 1);
        stamp(&mut pass, 4);
    }
    if let Some(t) = stamps {
        t.resolve(&mut encoder);
    }
    if copy_out {
        encoder.copy_buffer_to_buffer(&slot.flags, 0, &slot.readback, 0, (count * 4) as u64);
    }
    encoder.finish()
}

/// Fills the device's base table [0..8]B (once, when the verifier opens).
pub(crate) fn fill_base_table(gpu: &Gpu, pool: &Pool) -> Result<(), GpuError> {
    let limits = ChunkLimits::for_device(&gpu.limits, gpu.field.limbs(), 1);
    let slot = pool.take(gpu, 1, pack::padded_len(0), limits);
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("iosv base table"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("iosv base table"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &slot.bind_group, &[0]);
        pass.set_pipeline(&gpu.pipelines.base_table);
        pass.dispatch_workgroups(1, 1, 1);
    }
    let submission = gpu.queue.submit([encoder.finish()]);
    let waited = wait(gpu, Some(submission));
    pool.give_back(slot);
    waited?;
    check_fault(gpu)
}

fn copy_out(gpu: &Gpu, slot: &Slot, count: usize) -> wgpu::CommandBuffer {
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("iosv read-back"),
        });
    encoder.copy_buffer_to_buffer(&slot.flags, 0, &slot.readback, 0, (count * 4) as u64);
    encoder.finish()
}

fn wait(gpu: &Gpu, submission: Option<wgpu::SubmissionIndex>) -> Result<(), GpuError> {
    gpu.device
        .poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: None,
        })
        .map(|_| ())
        .map_err(|e| GpuError::Device(e.to_string()))
}

/// Maps the slot's read-back buffer after `submission` and appends one verdict per signature.
fn read_verdicts(
    gpu: &Gpu,
    slot: &Slot,
    count: usize,
    submission: wgpu::SubmissionIndex,
    out: &mut Vec<bool>,
) -> Result<(), GpuError> {
    let size = (count * 4) as u64;
    let (tx, rx) = mpsc::channel();
    slot.readback
        .map_async(wgpu::MapMode::Read, ..size, move |result| {
            let _ = tx.send(result);
        });
    wait(gpu, Some(submission))?;
    rx.recv()
        .map_err(|e| GpuError::Readback(e.to_string()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    {
        let view = slot
            .readback
            .get_mapped_range(..size)
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let flags: &[u32] = bytemuck::cast_slice(&view);
        out.extend(flags.iter().map(|&f| f == ALL_FLAGS));
    }
    slot.readback.unmap();
    Ok(())
}

fn check_fault(gpu: &Gpu) -> Result<(), GpuError> {
    match gpu.fault() {
        Some(fault) => Err(GpuError::Device(fault)),
        None => Ok(()),
    }
}

/// A submitted chunk waiting for its verdicts.
struct InFlight {
    slot: Slot,
    chunk: Chunk,
    submission: wgpu::SubmissionIndex,
}

fn limits(gpu: &Gpu) -> ChunkLimits {
    ChunkLimits::for_device(&gpu.limits, gpu.field.limbs(), gpu.config.max_chunk)
}

/// Verifies `items` (lengths checked) with up to [`IN_FLIGHT`] chunks queued; one verdict per
/// item, or an error and none.
pub(crate) fn run(gpu: &Gpu, pool: &Pool, items: &[SigInput<'_>]) -> Result<Vec<bool>, GpuError> {
    let limits = limits(gpu);
    let mut verdicts = Vec::with_capacity(items.len());
    let mut queued: VecDeque<InFlight> = VecDeque::with_capacity(IN_FLIGHT);
    let mut result = Ok(());
    for chunk in chunks(items, limits) {
        if queued.len() == IN_FLIGHT {
            let oldest = queued.pop_front().expect("queue is full");
            result = read_verdicts(
                gpu,
                &oldest.slot,
                oldest.chunk.len(),
                oldest.submission,
                &mut verdicts,
            );
            pool.give_back(oldest.slot);
            if result.is_err() {
                break;
            }
        }
        let slot = pool.take(gpu, chunk.len(), chunk.input_bytes, limits);
        if let Err(e) = upload(gpu, &slot, items, chunk) {
            pool.give_back(slot);
            result = Err(e);
            break;
        }
        let submission = gpu
            .queue
            .submit([encode(gpu, &slot, chunk.len(), true, None)]);
        queued.push_back(InFlight {
            slot,
            chunk,
            submission,
        });
    }
    for waiting in queued {
        if result.is_ok() {
            result = read_verdicts(
                gpu,
                &waiting.slot,
                waiting.chunk.len(),
                waiting.submission,
                &mut verdicts,
            );
        } else {
            let _ = wait(gpu, Some(waiting.submission));
        }
        pool.give_back(waiting.slot);
    }
    result?;
    check_fault(gpu)?;
    debug_assert_eq!(verdicts.len(), items.len());
    Ok(verdicts)
}

/// Like [`run`] but one chunk at a time with every phase waited for, to measure each phase.
pub(crate) fn run_timed(
    gpu: &Gpu,
    pool: &Pool,
    items: &[SigInput<'_>],
) -> Result<(Vec<bool>, TimeSplit), GpuError> {
    let limits = limits(gpu);
    let mut verdicts = Vec::with_capacity(items.len());
    let mut split = TimeSplit::default();
    for chunk in chunks(items, limits) {
        let count = chunk.len();
        let slot = pool.take(gpu, count, chunk.input_bytes, limits);
        let t0 = Instant::now();
        let uploaded =
            upload(gpu, &slot, items, chunk).and_then(|()| wait(gpu, Some(gpu.queue.submit([]))));
        let t1 = Instant::now();
        let stamps = gpu
            .timestamps
            .as_ref()
            .map(|t| t.lock().unwrap_or_else(|p| p.into_inner()));
        let computed = uploaded.and_then(|()| {
            let commands = encode(gpu, &slot, count, false, stamps.as_deref());
            let submission = gpu.queue.submit([commands]);
            wait(gpu, Some(submission))
        });
        let computed = computed.and_then(|()| match &stamps {
            Some(t) => {
                let times = t.read(&gpu.device)?;
                split
                    .gpu_stages
                    .get_or_insert_with(StageTimes::default)
                    .add(times);
                Ok(())
            }
            None => Ok(()),
        });
        drop(stamps);
        let t2 = Instant::now();
        let read = computed.and_then(|()| {
            let submission = gpu.queue.submit([copy_out(gpu, &slot, count)]);
            read_verdicts(gpu, &slot, count, submission, &mut verdicts)
        });
        let t3 = Instant::now();
        pool.give_back(slot);
        read?;
        split.upload += t1 - t0;
        split.kernels += t2 - t1;
        split.readback += t3 - t2;
    }
    check_fault(gpu)?;
    Ok((verdicts, split))
}

/// What the stages wrote for a batch, for diagnosing a kernel.
#[derive(Clone, Debug)]
pub struct StageOutputs {
    /// Per signature: S < L (bit 0), A decodes (1), R decodes (2), equation holds (3).
    pub flags: Vec<u32>,
    /// Per signature: k = SHA-512(R ‖ A ‖ M) mod L as 8 little-endian words.
    pub scalars: Vec<u32>,
}

/// Runs `items` as one chunk and reads back the flags and scalars.
pub(crate) fn run_raw(
    gpu: &Gpu,
    pool: &Pool,
    items: &[SigInput<'_>],
) -> Result<StageOutputs, GpuError> {
    let limits = limits(gpu);
    let chunk = Chunk {
        start: 0,
        end: items.len(),
        input_bytes: items.iter().map(|i| pack::padded_len(i.msg.len())).sum(),
    };
    let count = items.len();
    let slot = pool.take(gpu, count, chunk.input_bytes, limits);
    upload(gpu, &slot, items, chunk)?;
    let sizes = [count * 4, count * 32];
    let staging: Vec<Buffer> = sizes
        .iter()
        .map(|&size| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("iosv debug read-back"),
                size: size as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
        .collect();
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    for (src, (dst, &size)) in [&slot.flags, &slot.scalars]
        .into_iter()
        .zip(staging.iter().zip(&sizes))
    {
        encoder.copy_buffer_to_buffer(src, 0, dst, 0, size as u64);
    }
    let submission = gpu
        .queue
        .submit([encode(gpu, &slot, count, false, None), encoder.finish()]);
    for buffer in &staging {
        buffer.map_async(wgpu::MapMode::Read, .., |_| {});
    }
    wait(gpu, Some(submission))?;
    let words = |b: &Buffer| -> Result<Vec<u32>, GpuError> {
        let view = b
            .get_mapped_range(..)
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        Ok(bytemuck::cast_slice(&view).to_vec())
    };
    let flags = words(&staging[0])?;
    let scalars = words(&staging[1])?;
    pool.give_back(slot);
    Ok(StageOutputs { flags, scalars })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_ranges_cover_every_window_once() {
        for per in [1, 3, 8, 63, 64, 100] {
            let mut seen = Vec::new();
            for (first, last) in window_ranges(per) {
                assert!(first >= last);
                seen.extend((last..=first).rev());
            }
            assert_eq!(seen, (0..64).rev().collect::<Vec<u32>>(), "per = {per}");
        }
    }

    #[test]
    fn chunks_respect_count_and_byte_limits() {
        let pk = [0u8; 32];
        let sig = [0u8; 64];
        let short = [0u8; 10];
        let long = [0u8; 300];
        let mut items = vec![
            SigInput {
                pk: &pk,
                msg: &short,
                sig: &sig,
            };
            10
        ];
        items[4].msg = &long;
        let limits = ChunkLimits {
            max_sigs: 3,
            max_input_bytes: 512,
        };
        let got = chunks(&items, limits);
        let spans: Vec<(usize, usize)> = got.iter().map(|c| (c.start, c.end)).collect();
        // 128-byte records, the long one 384: [0, 3) by count, [3, 5) fills 512 bytes exactly.
        assert_eq!(spans, vec![(0, 3), (3, 5), (5, 8), (8, 10)]);
        for c in &got {
            assert!(c.input_bytes <= 512);
            assert_eq!(
                c.input_bytes,
                items[c.start..c.end]
                    .iter()
                    .map(|i| pack::padded_len(i.msg.len()))
                    .sum::<usize>()
            );
        }
    }
}
