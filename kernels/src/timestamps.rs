//! The GPU's own clock around each stage of a chunk, for [`verify_timed`]'s split: where the
//! adapter has TIMESTAMP_QUERY and TIMESTAMP_QUERY_INSIDE_PASSES (Vulkan on NVIDIA, AMD, Intel
//! and lavapipe), five timestamps are written inside the compute pass — before the hash stage and
//! after each of hash, prepare, the window dispatches and finish — and their differences are the
//! stages' device times, free of the host's submission and polling overheads.
//!
//! [`verify_timed`]: crate::GpuVerifier::verify_timed

use std::sync::mpsc;
use std::time::Duration;

use serde::Serialize;
use wgpu::{Buffer, BufferUsages, CommandEncoder, QuerySet};

use crate::GpuError;

/// Timestamps per chunk: before the first stage and after each of the four.
pub(crate) const STAMPS: u32 = 5;

/// Device time of each stage, summed over a batch's chunks.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct StageTimes {
    pub hash: Duration,
    pub prepare: Duration,
    pub window: Duration,
    pub finish: Duration,
}

impl StageTimes {
    pub fn total(&self) -> Duration {
        self.hash + self.prepare + self.window + self.finish
    }

    pub(crate) fn add(&mut self, other: StageTimes) {
        self.hash += other.hash;
        self.prepare += other.prepare;
        self.window += other.window;
        self.finish += other.finish;
    }
}

/// A query set for one chunk's timestamps and the buffers to read them back.
pub(crate) struct Timestamps {
    pub set: QuerySet,
    resolve: Buffer,
    read: Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

impl Timestamps {
    /// The features the device must be opened with for timestamps inside passes.
    pub fn features() -> wgpu::Features {
        wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
    }

    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let bytes = u64::from(STAMPS) * 8;
        let buffer = |label: &str, usage: BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Self {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("iosv stage timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: STAMPS,
            }),
            resolve: buffer(
                "iosv timestamps resolve",
                BufferUsages::QUERY_RESOLVE | BufferUsages::COPY_SRC,
            ),
            read: buffer(
                "iosv timestamps read",
                BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            ),
            period: f64::from(queue.get_timestamp_period()),
        }
    }

    /// Encodes the resolution of the timestamps into the mappable buffer.
    pub fn resolve(&self, encoder: &mut CommandEncoder) {
        encoder.resolve_query_set(&self.set, 0..STAMPS, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, u64::from(STAMPS) * 8);
    }

    /// The stage times of the chunk whose commands have completed (the caller waited).
    pub fn read(&self, device: &wgpu::Device) -> Result<StageTimes, GpuError> {
        let (tx, rx) = mpsc::channel();
        self.read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Device(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let ticks: Vec<u64> = {
            let view = self
                .read
                .get_mapped_range(..)
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            bytemuck::cast_slice(&view).to_vec()
        };
        self.read.unmap();
        let span = |i: usize| {
            let t = ticks[i + 1].saturating_sub(ticks[i]) as f64 * self.period;
            Duration::from_nanos(t as u64)
        };
        Ok(StageTimes {
            hash: span(0),
            prepare: span(1),
            window: span(2),
            finish: span(3),
        })
    }
}
