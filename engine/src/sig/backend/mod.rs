//! One verifier, several backends: `cpu` (curve25519-dalek's run-time choice of AVX-512 IFMA, AVX2
//! or serial arithmetic), `gpu` (the WGSL kernels of `iosv-kernels`) and `auto` (both: each batch
//! to the side expected to finish it first, by measured rates and the GPU's queue). Every backend gives the same verdict on every input: the GPU
//! kernels implement the same ZIP-215 rules and are tested against the same vectors and oracle,
//! and whatever the GPU cannot take (messages over its bound, a device failure) is verified on the
//! CPU instead.

#[cfg(feature = "gpu")]
mod auto;
#[cfg(feature = "gpu")]
mod gpu;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

use super::{KeyCache, SigRef, batch};

/// Longest message the GPU verifies; longer ones are verified on the CPU (same verdicts). Equal
/// to `iosv_kernels::MAX_MESSAGE_LEN` (checked at compile time where the kernels are built).
pub const GPU_MAX_MESSAGE_LEN: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Gpu,
    Auto,
    /// Verdicts from outside this process ([`ExternalVerifier`]: the `iosv-service` client).
    Remote,
}

impl FromStr for Backend {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            "auto" => Ok(Self::Auto),
            other => Err(BackendError::Unknown(other.to_string())),
        }
    }
}

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("unknown backend `{0}` (expected cpu, gpu or auto)")]
    Unknown(String),
    #[error(
        "this build has no GPU backend (the engine's `gpu` feature is off); use --backend cpu or auto"
    )]
    GpuNotBuilt,
    #[error("the GPU backend is unavailable: {0}")]
    GpuUnavailable(String),
    #[error("a remote backend is built from its client (`Verifier::external`), not opened by name")]
    RemoteNeedsClient,
}

#[cfg(feature = "gpu")]
type GpuConfig = KernelConfig;
/// Without the GPU backend there are no kernels to configure.
#[cfg(not(feature = "gpu"))]
type GpuConfig = ();

/// A verifier outside the engine, such as the client of `iosv serve` (crate `iosv-service`). The
/// engine asks it for verdicts and nothing else; whatever it answers is what the pipeline acts
/// on, so an implementation must give the verdicts of [`super::verify_single`] (the service's
/// client re-verifies a sample locally and stops trusting an endpoint that lies).
pub trait ExternalVerifier: Send + Sync {
    /// One verdict per item, in order.
    fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool>;
    /// Where the verdicts come from, for reports.
    fn describe(&self) -> String;
}

/// What runs the signatures.
#[derive(Clone)]
enum Engine {
    Cpu,
    External(Arc<dyn ExternalVerifier>),
    #[cfg(feature = "gpu")]
    Gpu(gpu::GpuBackend),
    #[cfg(feature = "gpu")]
    Auto(auto::AutoBackend),
}

/// A signature verifier bound to a backend, with its key cache. Cheap to share across threads.
#[derive(Clone)]
pub struct Verifier {
    backend: Backend,
    engine: Engine,
    cache: Arc<KeyCache>,
    split: Arc<SideCounts>,
}

/// Signatures verified so far by each side of a [`Verifier`] (shared by its clones).
#[derive(Default)]
struct SideCounts {
    cpu: AtomicU64,
    gpu: AtomicU64,
    external: AtomicU64,
}

/// How many signatures each side has verified since a [`Verifier`] was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub cpu: u64,
    pub gpu: u64,
    pub external: u64,
}

#[cfg(feature = "gpu")]
pub use iosv_kernels::{FieldChoice, FieldVariant, KernelConfig};

impl Verifier {
    /// A verifier on `backend`. `Gpu` fails without an adapter; `Auto` then runs on the CPU
    /// (and says so once in the log). The GPU runs the kernels `iosv_kernels::KernelConfig::
    /// from_env` names (by default the adapter's best).
    pub fn new(backend: Backend) -> Result<Self, BackendError> {
        Self::open(backend, None)
    }

    /// A verifier on `backend` whose GPU part runs the kernels `config` names (to compare or
    /// test the variants).
    #[cfg(feature = "gpu")]
    pub fn with_gpu_kernels(backend: Backend, config: KernelConfig) -> Result<Self, BackendError> {
        Self::open(backend, Some(config))
    }

    /// A verifier whose verdicts come from `external` (backend [`Backend::Remote`]).
    pub fn external(external: Arc<dyn ExternalVerifier>) -> Self {
        Self {
            backend: Backend::Remote,
            engine: Engine::External(external),
            cache: Arc::new(KeyCache::default()),
            split: Arc::default(),
        }
    }

    #[cfg_attr(not(feature = "gpu"), allow(unused_variables))]
    fn open(backend: Backend, config: Option<GpuConfig>) -> Result<Self, BackendError> {
        let (resolved, engine) = match backend {
            Backend::Cpu => (Backend::Cpu, Engine::Cpu),
            Backend::Remote => return Err(BackendError::RemoteNeedsClient),
            #[cfg(feature = "gpu")]
            Backend::Gpu => (Backend::Gpu, Engine::Gpu(gpu::GpuBackend::open(config)?)),
            #[cfg(feature = "gpu")]
            Backend::Auto => match auto::AutoBackend::open(config) {
                Some(auto) => (Backend::Auto, Engine::Auto(auto)),
                None => (Backend::Cpu, Engine::Cpu),
            },
            #[cfg(not(feature = "gpu"))]
            Backend::Gpu => return Err(BackendError::GpuNotBuilt),
            #[cfg(not(feature = "gpu"))]
            Backend::Auto => (Backend::Cpu, Engine::Cpu),
        };
        Ok(Self {
            backend: resolved,
            engine,
            cache: Arc::new(KeyCache::default()),
            split: Arc::default(),
        })
    }

    /// The backend that actually runs (`Auto` resolves to `Cpu` when there is no GPU).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether every signature is verified on this machine's CPU (no GPU, no remote service takes
    /// part): the work per transaction that callers size their threads for.
    pub fn cpu_only(&self) -> bool {
        matches!(self.engine, Engine::Cpu)
    }

    /// The GPU adapter's name, driver and API, when a GPU takes part.
    pub fn gpu_adapter(&self) -> Option<String> {
        match &self.engine {
            Engine::Cpu | Engine::External(_) => None,
            #[cfg(feature = "gpu")]
            Engine::Gpu(g) => Some(g.describe()),
            #[cfg(feature = "gpu")]
            Engine::Auto(a) => Some(a.gpu().describe()),
        }
    }

    /// Where the verdicts come from, in words (`cpu`, the GPU adapter, the remote endpoints).
    pub fn describe(&self) -> String {
        match &self.engine {
            Engine::Cpu => "cpu".to_string(),
            Engine::External(e) => e.describe(),
            #[cfg(feature = "gpu")]
            Engine::Gpu(g) => g.describe(),
            #[cfg(feature = "gpu")]
            Engine::Auto(a) => format!("auto: cpu + {}", a.gpu().describe()),
        }
    }

    pub fn key_cache(&self) -> &KeyCache {
        &self.cache
    }

    pub fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        let n = items.len() as u64;
        let (verdicts, side) = match &self.engine {
            Engine::Cpu => (batch::verify_batch(items, &self.cache), &self.split.cpu),
            Engine::External(e) => (e.verify_batch(items), &self.split.external),
            #[cfg(feature = "gpu")]
            Engine::Gpu(g) => (g.verify_batch(items, &self.cache), &self.split.gpu),
            #[cfg(feature = "gpu")]
            Engine::Auto(a) => match a.verify_batch(items, &self.cache) {
                (verdicts, true) => (verdicts, &self.split.gpu),
                (verdicts, false) => (verdicts, &self.split.cpu),
            },
        };
        side.fetch_add(n, Ordering::Relaxed);
        verdicts
    }

    /// Signatures verified so far on each side (all clones of this verifier together).
    pub fn split(&self) -> Split {
        Split {
            cpu: self.split.cpu.load(Ordering::Relaxed),
            gpu: self.split.gpu.load(Ordering::Relaxed),
            external: self.split.external.load(Ordering::Relaxed),
        }
    }

    /// One signature: on the CPU whatever the backend (a GPU dispatch for one signature costs
    /// far more than the verification).
    pub fn verify_one(&self, item: SigRef<'_>) -> bool {
        super::verify_single(item)
    }
}
