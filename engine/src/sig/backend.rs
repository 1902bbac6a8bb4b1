//! One verifier, several backends: `cpu` (curve25519-dalek's run-time choice of AVX-512 IFMA, AVX2
//! or serial arithmetic), `gpu` (WGSL kernels, with their own issue) and `auto`. Every backend gives
//! the same verdict on every input.

use std::str::FromStr;
use std::sync::Arc;

use thiserror::Error;

use super::{KeyCache, SigRef, batch};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Gpu,
    Auto,
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
        "the GPU backend is not available in this build yet: the WGSL kernels are still to come; \
         use --backend cpu (or auto, which runs on the CPU until then)"
    )]
    GpuNotBuilt,
}

/// A signature verifier bound to a backend, with its key cache. Cheap to share across threads.
#[derive(Clone)]
pub struct Verifier {
    backend: Backend,
    cache: Arc<KeyCache>,
}

impl Verifier {
    /// A verifier on `backend`. `Auto` resolves to the CPU while there is no GPU backend.
    pub fn new(backend: Backend) -> Result<Self, BackendError> {
        let resolved = match backend {
            Backend::Cpu | Backend::Auto => Backend::Cpu,
            Backend::Gpu => return Err(BackendError::GpuNotBuilt),
        };
        Ok(Self {
            backend: resolved,
            cache: Arc::new(KeyCache::default()),
        })
    }

    /// The backend that actually runs (after resolving `Auto`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn key_cache(&self) -> &KeyCache {
        &self.cache
    }

    pub fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        batch::verify_batch(items, &self.cache)
    }

    pub fn verify_one(&self, item: SigRef<'_>) -> bool {
        super::verify_single(item)
    }
}
