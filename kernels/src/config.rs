//! Which kernels a verifier runs: the field variant, how the 64 windows are split over
//! dispatches, and the chunk size. Every combination gives the same verdicts (the tests run each
//! on lavapipe); they differ in speed and in what an adapter supports.

use std::str::FromStr;

use serde::Serialize;

use crate::GpuError;
use crate::slot::DEFAULT_MAX_CHUNK;

/// How field elements are held in the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum FieldVariant {
    /// Twenty signed 13-bit limbs, 32-bit products: any adapter (Metal and WebGPU included).
    U32,
    /// Ten signed 25.5-bit limbs, 64-bit products: adapters with SHADER_INT64. A quarter of the
    /// U32 variant's limb products and half its registers.
    I64,
}

impl FieldVariant {
    /// i32 limbs per field element.
    pub fn limbs(self) -> usize {
        match self {
            Self::U32 => 20,
            Self::I64 => 10,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::U32 => "u32",
            Self::I64 => "i64",
        }
    }
}

/// The field a caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum FieldChoice {
    /// I64 where the adapter has SHADER_INT64, else U32.
    Best,
    /// This variant, or an error where the adapter cannot run it.
    Exactly(FieldVariant),
}

impl FieldChoice {
    pub(crate) fn resolve(self, int64: bool) -> Result<FieldVariant, GpuError> {
        match self {
            Self::Best if int64 => Ok(FieldVariant::I64),
            Self::Best => Ok(FieldVariant::U32),
            Self::Exactly(FieldVariant::I64) if !int64 => Err(GpuError::Unsupported(
                "the i64 field needs SHADER_INT64, which this adapter lacks".into(),
            )),
            Self::Exactly(field) => Ok(field),
        }
    }
}

impl FromStr for FieldChoice {
    type Err = GpuError;
    fn from_str(s: &str) -> Result<Self, GpuError> {
        match s {
            "best" => Ok(Self::Best),
            "u32" => Ok(Self::Exactly(FieldVariant::U32)),
            "i64" => Ok(Self::Exactly(FieldVariant::I64)),
            other => Err(GpuError::Unsupported(format!(
                "unknown field variant `{other}` (expected best, u32 or i64)"
            ))),
        }
    }
}

/// The kernels a verifier runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct KernelConfig {
    pub field: FieldChoice,
    /// Windows per dispatch of the window stage, 1 to 64: 64 runs the whole scalar
    /// multiplication in one dispatch (fastest on a GPU); fewer split it, storing the running
    /// point between dispatches (shorter dispatches, for drivers with a watchdog).
    pub windows_per_dispatch: u32,
    /// Most signatures per chunk (the device's limits may allow fewer).
    pub max_chunk: usize,
}

impl Default for KernelConfig {
    fn default() -> Self {
        Self {
            field: FieldChoice::Best,
            windows_per_dispatch: 64,
            max_chunk: DEFAULT_MAX_CHUNK,
        }
    }
}

/// Largest chunk a configuration may ask for: 2^22 signatures = 65,536 workgroups of 64, the
/// most one dispatch dimension holds on common adapters.
const MAX_CHUNK_LIMIT: usize = 1 << 22;

impl KernelConfig {
    /// The default, overridden by `IOSV_GPU_FIELD` (best, u32, i64), `IOSV_GPU_WINDOWS` (1-64)
    /// and `IOSV_GPU_CHUNK` (signatures): for benchmarks and tests that compare variants. A
    /// malformed value is an error, never silently ignored.
    pub fn from_env() -> Result<Self, GpuError> {
        let mut config = Self::default();
        if let Ok(v) = std::env::var("IOSV_GPU_FIELD") {
            config.field = v.parse()?;
        }
        if let Ok(v) = std::env::var("IOSV_GPU_WINDOWS") {
            config.windows_per_dispatch = v
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    GpuError::Unsupported(format!("IOSV_GPU_WINDOWS={v}: expected 1 to 64"))
                })?;
        }
        if let Ok(v) = std::env::var("IOSV_GPU_CHUNK") {
            config.max_chunk = v
                .parse()
                .ok()
                .filter(|n| (1..=MAX_CHUNK_LIMIT).contains(n))
                .ok_or_else(|| {
                    GpuError::Unsupported(format!(
                        "IOSV_GPU_CHUNK={v}: expected 1 to {MAX_CHUNK_LIMIT}"
                    ))
                })?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_choice_resolves_by_adapter() {
        assert_eq!(FieldChoice::Best.resolve(true).unwrap(), FieldVariant::I64);
        assert_eq!(FieldChoice::Best.resolve(false).unwrap(), FieldVariant::U32);
        assert!(
            FieldChoice::Exactly(FieldVariant::I64)
                .resolve(false)
                .is_err()
        );
        assert_eq!(
            FieldChoice::Exactly(FieldVariant::U32)
                .resolve(true)
                .unwrap(),
            FieldVariant::U32
        );
        assert!("i65".parse::<FieldChoice>().is_err());
    }
}
