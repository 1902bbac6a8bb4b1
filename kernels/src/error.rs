//! Errors of the GPU path. None of them is a verdict: a caller that gets one must verify the same
//! signatures another way (the engine falls back to the CPU).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter with compute shaders was found (install a Vulkan, Metal or DX12 driver, or Mesa's lavapipe)"
    )]
    NoAdapter,
    #[error("the GPU adapter refused a device: {0}")]
    RequestDevice(String),
    #[error("the requested kernels cannot run here: {0}")]
    Unsupported(String),
    #[error("the GPU rejected the kernels: {0}")]
    Pipeline(String),
    #[error(
        "message {index} is {len} bytes, longer than the GPU path's bound of {max} bytes \
         (verify it on the CPU)"
    )]
    MessageTooLong {
        index: usize,
        len: usize,
        max: usize,
    },
    #[error("the GPU device failed: {0}")]
    Device(String),
    #[error("reading verdicts back from the GPU failed: {0}")]
    Readback(String),
}
