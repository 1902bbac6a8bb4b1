//! The `gpu` backend: batches go to the WGSL kernels through `iosv-kernels`.
//!
//! Invariant: the verdicts are the CPU's. Signatures whose message is longer than
//! [`MAX_MESSAGE_LEN`] are verified on the CPU (the GPU path hashes only bounded messages), and a
//! batch the device fails on (device lost, out of memory) is verified on the CPU, with an error
//! in the log. The device is opened once per process and shared by every verifier.

use std::sync::{Arc, Mutex};

use iosv_kernels::{GpuError, GpuVerifier, KernelConfig, MAX_MESSAGE_LEN, SigInput};

use super::BackendError;

const _: () = assert!(MAX_MESSAGE_LEN == super::GPU_MAX_MESSAGE_LEN);
use crate::sig::{KeyCache, SigRef, batch};

/// The GPU side of a verifier. Cheap to clone.
#[derive(Clone)]
pub(crate) struct GpuBackend {
    gpu: GpuVerifier,
}

/// The process's GPU verifiers by kernel configuration, or why there is none: opening a device
/// and compiling the kernels takes seconds, so it happens once per configuration (a process
/// normally uses one; the tests use each variant).
type Opened = Result<GpuVerifier, Arc<String>>;
static SHARED: Mutex<Vec<(Option<KernelConfig>, Opened)>> = Mutex::new(Vec::new());

impl GpuBackend {
    /// The verifier with the kernels `config` names, or those `KernelConfig::from_env` names.
    pub fn open(config: Option<KernelConfig>) -> Result<Self, BackendError> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let index = match shared.iter().position(|(c, _)| *c == config) {
            Some(i) => i,
            None => {
                let opened = match config {
                    Some(config) => GpuVerifier::with_config(config),
                    None => GpuVerifier::new(),
                };
                shared.push((
                    config,
                    opened.map_err(|e: GpuError| Arc::new(e.to_string())),
                ));
                shared.len() - 1
            }
        };
        match &shared[index].1 {
            Ok(gpu) => Ok(Self { gpu: gpu.clone() }),
            Err(e) => Err(BackendError::GpuUnavailable(e.to_string())),
        }
    }

    pub fn describe(&self) -> String {
        let a = self.gpu.adapter();
        format!(
            "{} ({}, {} {}, {}; {} field kernels)",
            a.name,
            a.backend,
            a.driver,
            a.driver_info,
            a.device_type,
            self.gpu.field().name()
        )
    }

    pub fn verify_batch(&self, items: &[SigRef<'_>], cache: &KeyCache) -> Vec<bool> {
        let (short, long): (Vec<usize>, Vec<usize>) =
            (0..items.len()).partition(|&i| items[i].msg.len() <= MAX_MESSAGE_LEN);
        let mut verdicts = vec![false; items.len()];
        if !long.is_empty() {
            let long_items: Vec<SigRef<'_>> = long.iter().map(|&i| items[i]).collect();
            for (&i, v) in long.iter().zip(batch::verify_batch(&long_items, cache)) {
                verdicts[i] = v;
            }
        }
        if short.is_empty() {
            return verdicts;
        }
        let inputs: Vec<SigInput<'_>> = short
            .iter()
            .map(|&i| SigInput {
                pk: items[i].pk,
                msg: items[i].msg,
                sig: items[i].sig,
            })
            .collect();
        let short_verdicts = match self.gpu.verify(&inputs) {
            Ok(v) => v,
            Err(error) => {
                tracing::error!(%error, "GPU batch failed: verifying it on the CPU");
                let refs: Vec<SigRef<'_>> = short.iter().map(|&i| items[i]).collect();
                batch::verify_batch(&refs, cache)
            }
        };
        for (&i, v) in short.iter().zip(short_verdicts) {
            verdicts[i] = v;
        }
        verdicts
    }
}
