//! iosv compute kernels (WGSL) and their wgpu host code: ZIP-215 Ed25519 verification of batches
//! of signatures on a GPU. This crate knows bytes and buffers, not transactions.
//!
//! The work is three compute stages per batch, each its own shader module (`src/wgsl/`):
//! 1. `hash`: `k = SHA-512(R ‖ A ‖ M) mod L` over the bytes as given, and `S < L`;
//! 2. `decompress`: A and R decoded with ZIP-215's rules (any encoding of a curve point, y ≥ p and
//!    "negative zero" included, small order included);
//! 3. `equation`: the cofactored `[8]([S]B − [k]A − R) = 0`.
//!
//! Invariants: the verdicts are exactly those of `iosv_engine::sig::verify_single` (the engine's
//! tests hold every backend to RFC 8032, the speccheck cases and `ed25519-consensus`); arithmetic
//! is on u32/i32 only (no SHADER_INT64, so Metal and WebGPU work too); no subgroup assumption.
//! Messages longer than [`MAX_MESSAGE_LEN`] are refused with [`GpuError::MessageTooLong`]: the
//! caller verifies those on the CPU.

mod batch;
mod device;
mod error;
mod pack;
mod shaders;

use std::sync::Arc;

pub use batch::{MAX_CHUNK, StageOutputs, TimeSplit};
pub use device::AdapterDescription;
pub use error::GpuError;

/// Longest message the GPU path hashes. A signing hash or a transaction body is far shorter; the
/// bound keeps every signature's SHA-512 input within 33 blocks, so one long message cannot hold
/// up its whole workgroup for long. Longer messages go to the CPU (the engine routes them).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// One signature to check, as bytes: public key A, message M, signature R ‖ S.
#[derive(Clone, Copy, Debug)]
pub struct SigInput<'a> {
    pub pk: &'a [u8; 32],
    pub msg: &'a [u8],
    pub sig: &'a [u8; 64],
}

/// A GPU verifier: one device and its compiled pipelines, and a pool of buffers. Cheap to clone
/// and share across threads; batches from several threads are serialized by the device queue.
#[derive(Clone)]
pub struct GpuVerifier {
    gpu: Arc<device::Gpu>,
    pool: Arc<batch::Pool>,
}

impl GpuVerifier {
    /// Opens the best adapter (a real GPU before a software one), compiles the kernels and warms
    /// them with one small batch, so the first real batch pays no compilation.
    pub fn new() -> Result<Self, GpuError> {
        let verifier = Self {
            gpu: Arc::new(device::Gpu::open()?),
            pool: Arc::new(batch::Pool::default()),
        };
        let pk = [0u8; 32];
        let sig = [0u8; 64];
        verifier.verify(&[SigInput {
            pk: &pk,
            msg: &[],
            sig: &sig,
        }])?;
        Ok(verifier)
    }

    /// The adapter the kernels run on.
    pub fn adapter(&self) -> &AdapterDescription {
        &self.gpu.adapter
    }

    /// Most signatures one chunk holds on this device (a batch may be any size: it is cut into
    /// chunks).
    pub fn max_chunk(&self) -> usize {
        batch::ChunkLimits::for_device(&self.gpu.limits).max_sigs
    }

    /// Verifies `items` under ZIP-215 rules; the verdict of `items[i]` is `result[i]`. An error
    /// means no verdicts at all (never partial ones).
    pub fn verify(&self, items: &[SigInput<'_>]) -> Result<Vec<bool>, GpuError> {
        pack::check_lengths(items)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        batch::run(&self.gpu, &self.pool, items)
    }

    /// [`verify`](Self::verify) one chunk at a time with each phase waited for, returning where
    /// the time went. Slower than `verify` (no overlap): for measurements only.
    pub fn verify_timed(&self, items: &[SigInput<'_>]) -> Result<(Vec<bool>, TimeSplit), GpuError> {
        pack::check_lengths(items)?;
        if items.is_empty() {
            return Ok((Vec::new(), TimeSplit::default()));
        }
        batch::run_timed(&self.gpu, &self.pool, items)
    }

    /// Every stage's output for `items` run as one chunk (at most [`max_chunk`](Self::max_chunk)
    /// signatures): for diagnosing the kernels in tests.
    pub fn stage_outputs(&self, items: &[SigInput<'_>]) -> Result<StageOutputs, GpuError> {
        pack::check_lengths(items)?;
        batch::run_raw(&self.gpu, &self.pool, items)
    }
}
