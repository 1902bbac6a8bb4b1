//! Facts about the machine a report was measured on.

use iosv_engine::platform;
use iosv_engine::sig::decompress::Decompressor;
use serde::{Deserialize, Serialize};

/// The "machine" object of `report.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    /// As `iosv_engine::platform::CpuFeatures` serializes.
    pub cpu_features: serde_json::Value,
    /// Logical cores of the machine (not of this process: benchmarks are often pinned to one).
    pub cores: usize,
    /// Logical cores this process may run on (fewer when pinned with `taskset`).
    pub cores_available: usize,
    /// `MemTotal` of /proc/meminfo in bytes, where readable.
    pub total_memory_bytes: Option<u64>,
    pub os: String,
    /// `rustc --version` of the compiler that built `iosv`.
    pub rustc: String,
    pub curve_backend: String,
    /// How the engine decompresses points (`Ifma` or `Serial`); empty in reports made before it
    /// had a choice.
    #[serde(default)]
    pub point_decompression: String,
    pub gpu_adapter: String,
}

impl Machine {
    pub fn detect() -> Self {
        Self {
            cpu_model: platform::cpu_model(),
            cpu_features: serde_json::to_value(platform::CpuFeatures::detect())
                .unwrap_or(serde_json::Value::Null),
            cores: machine_cores(),
            cores_available: std::thread::available_parallelism().map_or(1, |n| n.get()),
            total_memory_bytes: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|s| mem_total_bytes(&s)),
            os: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|s| pretty_name(&s))
                .unwrap_or_else(|| std::env::consts::OS.to_string()),
            rustc: env!("IOSV_RUSTC_VERSION").to_string(),
            curve_backend: platform::curve_backend().to_string(),
            point_decompression: format!("{:?}", Decompressor::best()),
            gpu_adapter: "none".to_string(),
        }
    }

    /// A file-name-safe name for the machine: the CPU model and core count, lower case, runs of
    /// other characters as one `-`.
    pub fn slug(&self) -> String {
        let raw = format!("{}-{}c", self.cpu_model, self.cores);
        let mut out = String::new();
        for c in raw.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let out = out.trim_end_matches('-');
        if out.is_empty() {
            "unknown".to_string()
        } else {
            out.chars().take(64).collect()
        }
    }
}

/// `MemTotal` of a /proc/meminfo text, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `PRETTY_NAME` of an os-release text, quotes removed.
fn pretty_name(os_release: &str) -> Option<String> {
    let value = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    Some(value.trim().trim_matches('"').to_string())
}

/// Logical cores of the machine: `processor` lines of /proc/cpuinfo, else what this process sees.
fn machine_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo_and_os_release() {
        assert_eq!(
            mem_total_bytes("MemTotal:       16384 kB\nMemFree: 1 kB\n"),
            Some(16384 * 1024)
        );
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Ubuntu 24.04 LTS\"\n").as_deref(),
            Some("Ubuntu 24.04 LTS")
        );
    }
}
