//! iosv compute kernels (WGSL) and their wgpu host code: ZIP-215 Ed25519 verification of batches
//! of signatures on a GPU. This crate knows bytes and buffers, not transactions.
//!
//! The work is four compute stages per chunk of signatures, each its own shader module
//! (`src/wgsl/`), one invocation per signature, field elements in registers:
//! 1. `hash`: `k = SHA-512(R ‖ A ‖ M) mod L` over the bytes as given, and `S < L`;
//! 2. `prepare`: A and R decoded with ZIP-215's rules (any encoding of a curve point, y ≥ p and
//!    "negative zero" included, small order included), the table `[0..8](−A)`, the digits of k, S;
//! 3. `window`: `[S]B − [k]A` by Straus' method over 64 signed radix-16 windows, shared
//!    doublings, `B`'s multiples from a table filled once per device; the windows may be split
//!    over several dispatches ([`KernelConfig::windows_per_dispatch`]) with only the running
//!    point stored between them;
//! 4. `finish`: the cofactored `[8]([S]B − [k]A − R) = 0`.
//!
//! Two field variants run the same point formulas (`curve.wgsl`): [`FieldVariant::I64`], ten
//! 25.5-bit limbs with 64-bit products, for adapters with SHADER_INT64 (Vulkan on NVIDIA, AMD,
//! Intel and lavapipe), and [`FieldVariant::U32`], twenty 13-bit limbs with 32-bit products, for
//! the others (Metal, WebGPU). The adapter's best one is chosen unless the caller names one, and
//! the tests run both on lavapipe.
//!
//! Invariants: the verdicts are exactly those of `iosv_engine::sig::verify_single` (the engine's
//! tests hold every variant to RFC 8032, the speccheck cases and `ed25519-consensus`); no
//! subgroup assumption; no divergent control flow in the curve stages (digit 0 adds the identity).
//! Messages longer than [`MAX_MESSAGE_LEN`] are refused with [`GpuError::MessageTooLong`]: the
//! caller verifies those on the CPU.

mod batch;
mod config;
mod device;
mod error;
mod pack;
mod shaders;
mod slot;
mod timestamps;

use std::sync::Arc;

pub use batch::{StageOutputs, TimeSplit};
pub use config::{FieldChoice, FieldVariant, KernelConfig};
pub use device::{AdapterCapabilities, AdapterDescription};
pub use error::GpuError;
pub use slot::DEFAULT_MAX_CHUNK;
pub use timestamps::StageTimes;

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
    pool: Arc<slot::Pool>,
}

impl GpuVerifier {
    /// Opens the best adapter (a real GPU before a software one) with the kernels
    /// [`KernelConfig::from_env`] names (by default the adapter's best field, all windows in one
    /// dispatch), fills the base table and warms the kernels with one small batch, so the first
    /// real batch pays no compilation.
    pub fn new() -> Result<Self, GpuError> {
        Self::with_config(KernelConfig::from_env()?)
    }

    /// [`new`](Self::new) with the kernels `config` names.
    pub fn with_config(config: KernelConfig) -> Result<Self, GpuError> {
        let verifier = Self {
            gpu: Arc::new(device::Gpu::open(config)?),
            pool: Arc::new(slot::Pool::default()),
        };
        let started = std::time::Instant::now();
        batch::fill_base_table(&verifier.gpu, &verifier.pool)?;
        let pk = [0u8; 32];
        let sig = [0u8; 64];
        verifier.verify(&[SigInput {
            pk: &pk,
            msg: &[],
            sig: &sig,
        }])?;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "base table filled, kernels warmed"
        );
        Ok(verifier)
    }

    /// The adapter the kernels run on.
    pub fn adapter(&self) -> &AdapterDescription {
        &self.gpu.adapter
    }

    /// The adapter's features and the limits that shape the kernels' chunks.
    pub fn capabilities(&self) -> &AdapterCapabilities {
        &self.gpu.capabilities
    }

    /// The field variant the kernels run.
    pub fn field(&self) -> FieldVariant {
        self.gpu.field
    }

    /// The kernel configuration, as requested (see [`field`](Self::field) for the field chosen).
    pub fn config(&self) -> KernelConfig {
        self.gpu.config
    }

    /// Most signatures one chunk holds on this device (a batch may be any size: it is cut into
    /// chunks, several of them in flight).
    pub fn max_chunk(&self) -> usize {
        slot::ChunkLimits::for_device(
            &self.gpu.limits,
            self.gpu.field.limbs(),
            self.gpu.config.max_chunk,
        )
        .max_sigs
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

    /// The flags and scalars for `items` run as one chunk (at most [`max_chunk`](Self::max_chunk)
    /// signatures): for diagnosing the kernels in tests.
    pub fn stage_outputs(&self, items: &[SigInput<'_>]) -> Result<StageOutputs, GpuError> {
        pack::check_lengths(items)?;
        batch::run_raw(&self.gpu, &self.pool, items)
    }
}
