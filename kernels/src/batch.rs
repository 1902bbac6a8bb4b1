//! Running batches: pooled buffer sets ("slots"), chunking within the adapter's limits, and
//! double-buffered submission.
//!
//! A batch is cut into chunks of at most [`MAX_CHUNK`] signatures (fewer where the adapter's
//! buffer limits say so). Chunk `i` is packed on the CPU while the device still runs chunk
//! `i - 1`; then chunk `i` is submitted (upload, three dispatches, copy of the flags into a
//! mappable buffer), and only then are chunk `i - 1`'s verdicts read back. Two slots alternate, so
//! packing, compute and read-back overlap. Slots return to a pool and keep their buffers, so a
//! steady stream of batches allocates nothing on the device.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use wgpu::{Buffer, BufferUsages};

use crate::device::Gpu;
use crate::pack::{self, JOB_WORDS};
use crate::{GpuError, SigInput};

/// Most signatures per chunk. The field registers take 7.5 KiB per signature (SCRATCH_BYTES), so
/// 8,192 signatures make a 63 MB scratch buffer, within every adapter's 128 MiB binding limit,
/// while still giving 128 workgroups of 64 invocations per dispatch.
pub const MAX_CHUNK: usize = 8_192;
/// Field registers per invocation (the equation stage's NREG, the larger of the two stages).
const REGISTERS: usize = 96;
/// Scratch bytes per signature: REGISTERS field elements of 20 i32 limbs.
const SCRATCH_BYTES: usize = REGISTERS * 20 * 4;
/// Threads per workgroup, as `@workgroup_size` in the WGSL stages.
const WORKGROUP: usize = 64;
/// Bytes per signature in the `points` buffer: 4 field elements of 20 i32 limbs.
const POINT_BYTES: usize = 80 * 4;
/// Bit set in `flags` for a valid signature (all four stage bits).
const ALL_FLAGS: u32 = 0b1111;

/// Where a batch's time went, summed over its chunks. Measured with each phase waited for in turn
/// (no overlap), so the parts add up to the whole.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TimeSplit {
    /// Packing on the CPU and copying the inputs to the device.
    pub upload: Duration,
    /// The three compute stages.
    pub kernels: Duration,
    /// Copying the verdicts back and reading them.
    pub readback: Duration,
}

/// One set of device buffers sized for `capacity` signatures and `input_capacity` input bytes.
pub(crate) struct Slot {
    capacity: usize,
    input_capacity: usize,
    input: Buffer,
    jobs: Buffer,
    scalars: Buffer,
    points: Buffer,
    flags: Buffer,
    params: Buffer,
    readback: Buffer,
    /// Kept alive for the bind group; only the kernels touch it.
    _scratch: Buffer,
    bind_group: wgpu::BindGroup,
    /// Host-side packing buffers, reused.
    host_input: Vec<u8>,
    host_jobs: Vec<u32>,
}

impl Slot {
    fn new(gpu: &Gpu, capacity: usize, input_capacity: usize) -> Self {
        let device = &gpu.device;
        let buffer = |label: &str, size: usize, usage: BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let storage_in = BufferUsages::STORAGE | BufferUsages::COPY_DST;
        let input = buffer("iosv input", input_capacity, storage_in);
        let jobs = buffer("iosv jobs", capacity * JOB_WORDS * 4, storage_in);
        let scalars = buffer(
            "iosv scalars",
            capacity * 32,
            BufferUsages::STORAGE | BufferUsages::COPY_SRC,
        );
        let points = buffer(
            "iosv points",
            capacity * POINT_BYTES,
            BufferUsages::STORAGE | BufferUsages::COPY_SRC,
        );
        let flags = buffer(
            "iosv flags",
            capacity * 4,
            BufferUsages::STORAGE | BufferUsages::COPY_SRC,
        );
        let params = buffer(
            "iosv params",
            16,
            BufferUsages::UNIFORM | BufferUsages::COPY_DST,
        );
        let readback = buffer(
            "iosv readback",
            capacity * 4,
            BufferUsages::MAP_READ | BufferUsages::COPY_DST,
        );
        let scratch = buffer(
            "iosv scratch",
            capacity * SCRATCH_BYTES,
            BufferUsages::STORAGE,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("iosv verifier"),
            layout: &gpu.layout,
            entries: &[
                entry(0, &input),
                entry(1, &jobs),
                entry(2, &scalars),
                entry(3, &points),
                entry(4, &flags),
                entry(5, &params),
                entry(6, &scratch),
            ],
        });
        Self {
            capacity,
            input_capacity,
            input,
            jobs,
            scalars,
            points,
            flags,
            params,
            readback,
            _scratch: scratch,
            bind_group,
            host_input: Vec::new(),
            host_jobs: Vec::new(),
        }
    }

    fn fits(&self, count: usize, input_bytes: usize) -> bool {
        count <= self.capacity && input_bytes <= self.input_capacity
    }
}

fn entry(binding: u32, buffer: &Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// A chunk of a batch: `items[start..end]`, with `input_bytes` of padded SHA-512 input.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    start: usize,
    end: usize,
    input_bytes: usize,
}

/// Limits that bound a chunk on this device.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkLimits {
    pub max_sigs: usize,
    pub max_input_bytes: usize,
}

impl ChunkLimits {
    pub fn for_device(limits: &wgpu::Limits) -> Self {
        let binding = (limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size)
            .min(usize::MAX as u64) as usize;
        let dispatch = limits.max_compute_workgroups_per_dimension as usize * WORKGROUP;
        Self {
            max_sigs: MAX_CHUNK.min(dispatch).min(binding / SCRATCH_BYTES).max(1),
            max_input_bytes: binding,
        }
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

/// Pooled slots, shared by every clone of a verifier.
#[derive(Default)]
pub(crate) struct Pool {
    slots: Mutex<Vec<Slot>>,
}

impl Pool {
    /// A slot able to hold `count` signatures and `input_bytes` of input: a pooled one if one fits
    /// (or a pooled one replaced by a bigger one), else a new one.
    fn take(&self, gpu: &Gpu, count: usize, input_bytes: usize, limits: ChunkLimits) -> Slot {
        let pooled = self.slots.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(slot) if slot.fits(count, input_bytes) => slot,
            other => {
                let capacity = other.as_ref().map_or(0, |s| s.capacity).max(count);
                let input = other
                    .as_ref()
                    .map_or(0, |s| s.input_capacity)
                    .max(input_bytes)
                    .max(capacity * pack::padded_len(0))
                    .min(limits.max_input_bytes);
                Slot::new(gpu, capacity, input.max(input_bytes))
            }
        }
    }

    fn give_back(&self, slot: Slot) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(slot);
    }
}

/// A submitted chunk waiting for its verdicts.
struct InFlight {
    slot: Slot,
    chunk: Chunk,
    submission: wgpu::SubmissionIndex,
}

/// Packs `chunk` into `slot` and queues its upload.
fn upload(gpu: &Gpu, slot: &mut Slot, items: &[SigInput<'_>], chunk: Chunk) {
    let count = chunk.end - chunk.start;
    pack::pack(
        &items[chunk.start..chunk.end],
        &mut slot.host_input,
        &mut slot.host_jobs,
    );
    gpu.queue.write_buffer(&slot.input, 0, &slot.host_input);
    gpu.queue
        .write_buffer(&slot.jobs, 0, bytemuck::cast_slice(&slot.host_jobs));
    let params = [count as u32, slot.capacity as u32, 0, 0];
    gpu.queue
        .write_buffer(&slot.params, 0, bytemuck::cast_slice(&params));
}

/// Encodes the three stages on `slot` for `count` signatures, then (if `copy_out`) the copy of
/// the flags into the mappable buffer.
fn encode(gpu: &Gpu, slot: &Slot, count: usize, copy_out: bool) -> wgpu::CommandBuffer {
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
        pass.set_bind_group(0, &slot.bind_group, &[]);
        let groups = count.div_ceil(WORKGROUP) as u32;
        for pipeline in &gpu.pipelines {
            pass.set_pipeline(pipeline);
            pass.dispatch_workgroups(groups, 1, 1);
        }
    }
    if copy_out {
        encoder.copy_buffer_to_buffer(&slot.flags, 0, &slot.readback, 0, (count * 4) as u64);
    }
    encoder.finish()
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

/// Verifies `items` (lengths checked) with double-buffered chunks; one verdict per item.
pub(crate) fn run(gpu: &Gpu, pool: &Pool, items: &[SigInput<'_>]) -> Result<Vec<bool>, GpuError> {
    let limits = ChunkLimits::for_device(&gpu.limits);
    let mut verdicts = Vec::with_capacity(items.len());
    let mut in_flight: Option<InFlight> = None;
    let mut result = Ok(());
    for chunk in chunks(items, limits) {
        let count = chunk.end - chunk.start;
        let mut slot = pool.take(gpu, count, chunk.input_bytes, limits);
        upload(gpu, &mut slot, items, chunk);
        let submission = gpu.queue.submit([encode(gpu, &slot, count, true)]);
        if let Some(previous) = in_flight.take() {
            let done = read_verdicts(
                gpu,
                &previous.slot,
                previous.chunk.end - previous.chunk.start,
                previous.submission,
                &mut verdicts,
            );
            pool.give_back(previous.slot);
            if let Err(e) = done {
                result = Err(e);
                in_flight = Some(InFlight {
                    slot,
                    chunk,
                    submission,
                });
                break;
            }
        }
        in_flight = Some(InFlight {
            slot,
            chunk,
            submission,
        });
    }
    if let Some(last) = in_flight.take() {
        if result.is_ok() {
            result = read_verdicts(
                gpu,
                &last.slot,
                last.chunk.end - last.chunk.start,
                last.submission,
                &mut verdicts,
            );
        } else {
            let _ = wait(gpu, Some(last.submission));
        }
        pool.give_back(last.slot);
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
    let limits = ChunkLimits::for_device(&gpu.limits);
    let mut verdicts = Vec::with_capacity(items.len());
    let mut split = TimeSplit::default();
    for chunk in chunks(items, limits) {
        let count = chunk.end - chunk.start;
        let mut slot = pool.take(gpu, count, chunk.input_bytes, limits);
        let t0 = Instant::now();
        upload(gpu, &mut slot, items, chunk);
        let uploaded = gpu.queue.submit([]);
        let waited = wait(gpu, Some(uploaded));
        let t1 = Instant::now();
        let computed = waited.and_then(|()| {
            let submission = gpu.queue.submit([encode(gpu, &slot, count, false)]);
            wait(gpu, Some(submission))
        });
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

/// What each stage wrote for a batch, for diagnosing a kernel.
#[derive(Clone, Debug)]
pub struct StageOutputs {
    /// Per signature: S < L (bit 0), A decodes (1), R decodes (2), equation holds (3).
    pub flags: Vec<u32>,
    /// Per signature: k = SHA-512(R ‖ A ‖ M) mod L as 8 little-endian words.
    pub scalars: Vec<u32>,
    /// Per signature: A.x, A.y, R.x, R.y as 20 signed 13-bit limbs each.
    pub points: Vec<i32>,
}

/// Runs `items` as one chunk and reads back every stage's output.
pub(crate) fn run_raw(
    gpu: &Gpu,
    pool: &Pool,
    items: &[SigInput<'_>],
) -> Result<StageOutputs, GpuError> {
    let limits = ChunkLimits::for_device(&gpu.limits);
    let chunk = Chunk {
        start: 0,
        end: items.len(),
        input_bytes: items.iter().map(|i| pack::padded_len(i.msg.len())).sum(),
    };
    let count = items.len();
    let mut slot = pool.take(gpu, count, chunk.input_bytes, limits);
    upload(gpu, &mut slot, items, chunk);
    let sizes = [count * 4, count * 32, count * POINT_BYTES];
    let staging: Vec<Buffer> = sizes
        .iter()
        .map(|&size| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("iosv debug read-back"),
                size: size as u64,
                usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
        .collect();
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    for (src, (dst, &size)) in [&slot.flags, &slot.scalars, &slot.points]
        .into_iter()
        .zip(staging.iter().zip(&sizes))
    {
        encoder.copy_buffer_to_buffer(src, 0, dst, 0, size as u64);
    }
    let submission = gpu
        .queue
        .submit([encode(gpu, &slot, count, false), encoder.finish()]);
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
    let points = words(&staging[2])?.into_iter().map(|w| w as i32).collect();
    pool.give_back(slot);
    Ok(StageOutputs {
        flags,
        scalars,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
