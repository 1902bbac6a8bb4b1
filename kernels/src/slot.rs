//! Device buffer sets ("slots") sized for a chunk of signatures, their pool, and the limits that
//! bound a chunk on a device.
//!
//! Memory per signature (FE = the variant's limbs × 4 bytes: 80 for u32, 40 for i64): the lane
//! state of 44 field elements (Q, R cached, the table [0..8](-A) cached) = 44 FE, 128 bytes of
//! digits, 32 of k, 40 of job record, 4 + 4 of flags and read-back, and the padded SHA-512 input
//! (128 bytes for a message up to 47 bytes). Slots return to a pool and keep their buffers, so a
//! steady stream of batches allocates nothing on the device.

use std::sync::Mutex;

use wgpu::{Buffer, BufferUsages};

use crate::device::Gpu;
use crate::pack::{self, JOB_BYTES};

/// Field elements of lane state per signature: Q (4), R cached (4), table of 9 cached (36).
const STATE_ELEMENTS: usize = 44;
/// Bytes of packed digits per signature: 64 signed digits of k and of S, a byte each.
const DIGIT_BYTES: usize = 128;
/// Threads per workgroup, as `@workgroup_size` in the WGSL stages.
pub(crate) const WORKGROUP: usize = 64;
/// Parameter entries per slot: entry 0 for the hash, prepare and finish stages, then one per
/// window dispatch (at most 64).
pub(crate) const PARAM_ENTRIES: usize = 65;
/// Bytes of one parameter entry (`struct Params`).
const PARAM_BYTES: u64 = 16;
/// Most signatures per chunk unless configured otherwise: 131,072 lanes fill an H200's 132 SMs
/// about twice at the occupancy these kernels reach (~512 resident invocations per SM with
/// ~128 registers each), so a chunk's tail wave is short, while a slot stays near 300 MB (i64
/// field) and three slots in flight fit a commodity 4 GB card.
pub const DEFAULT_MAX_CHUNK: usize = 131_072;
/// Device memory one slot may take, whatever the adapter's binding limits allow.
const SLOT_BUDGET_BYTES: usize = 1 << 30;

/// Device bytes per signature of a slot, without the SHA-512 input.
pub(crate) fn bytes_per_sig(limbs: usize) -> usize {
    STATE_ELEMENTS * limbs * 4 + DIGIT_BYTES + 32 + JOB_BYTES + 8
}

/// Limits that bound a chunk on this device.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkLimits {
    pub max_sigs: usize,
    pub max_input_bytes: usize,
}

impl ChunkLimits {
    pub fn for_device(limits: &wgpu::Limits, limbs: usize, max_chunk: usize) -> Self {
        let binding = (limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size)
            .min(usize::MAX as u64) as usize;
        let dispatch = limits.max_compute_workgroups_per_dimension as usize * WORKGROUP;
        let state = STATE_ELEMENTS * limbs * 4;
        Self {
            max_sigs: max_chunk
                .min(dispatch)
                .min(binding / state)
                .min(SLOT_BUDGET_BYTES / (bytes_per_sig(limbs) + pack::padded_len(0)))
                .max(1),
            max_input_bytes: binding,
        }
    }
}

/// One set of device buffers sized for `capacity` signatures and `input_capacity` input bytes.
pub(crate) struct Slot {
    pub capacity: usize,
    pub input_capacity: usize,
    pub input: Buffer,
    pub jobs: Buffer,
    pub scalars: Buffer,
    pub flags: Buffer,
    pub params: Buffer,
    pub readback: Buffer,
    pub bind_group: wgpu::BindGroup,
    /// Kept alive for the bind group; only the kernels touch them.
    _state: Buffer,
    _digits: Buffer,
}

impl Slot {
    fn new(gpu: &Gpu, capacity: usize, input_capacity: usize) -> Self {
        let device = &gpu.device;
        let buffer = |label: &str, size: usize, usage: BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(4) as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let storage_in = BufferUsages::STORAGE | BufferUsages::COPY_DST;
        let storage_out = BufferUsages::STORAGE | BufferUsages::COPY_SRC;
        let limbs = gpu.field.limbs();
        let input = buffer("iosv input", input_capacity, storage_in);
        let jobs = buffer("iosv jobs", capacity * JOB_BYTES, storage_in);
        let scalars = buffer("iosv scalars", capacity * 32, storage_out);
        let state = buffer(
            "iosv state",
            capacity * STATE_ELEMENTS * limbs * 4,
            BufferUsages::STORAGE,
        );
        let digits = buffer("iosv digits", capacity * DIGIT_BYTES, BufferUsages::STORAGE);
        let flags = buffer("iosv flags", capacity * 4, storage_out);
        let align = gpu.param_align();
        let params = buffer(
            "iosv params",
            (PARAM_ENTRIES as u64 * align) as usize,
            BufferUsages::UNIFORM | BufferUsages::COPY_DST,
        );
        let readback = buffer(
            "iosv readback",
            capacity * 4,
            BufferUsages::MAP_READ | BufferUsages::COPY_DST,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("iosv verifier"),
            layout: &gpu.layout,
            entries: &[
                entry(0, &input),
                entry(1, &jobs),
                entry(2, &scalars),
                entry(3, &state),
                entry(4, &flags),
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: 0,
                        size: wgpu::BufferSize::new(PARAM_BYTES),
                    }),
                },
                entry(6, &digits),
                entry(7, &gpu.base_table),
            ],
        });
        Self {
            capacity,
            input_capacity,
            input,
            jobs,
            scalars,
            flags,
            params,
            readback,
            bind_group,
            _state: state,
            _digits: digits,
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

/// Pooled slots, shared by every clone of a verifier.
#[derive(Default)]
pub(crate) struct Pool {
    slots: Mutex<Vec<Slot>>,
}

impl Pool {
    /// A slot able to hold `count` signatures and `input_bytes` of input: a pooled one if one fits
    /// (or a pooled one replaced by a bigger one), else a new one.
    pub fn take(&self, gpu: &Gpu, count: usize, input_bytes: usize, limits: ChunkLimits) -> Slot {
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

    pub fn give_back(&self, slot: Slot) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(slot);
    }
}
