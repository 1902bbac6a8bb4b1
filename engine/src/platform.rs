//! What this machine offers the verifiers: CPU features and the arithmetic backend chosen.

use serde::Serialize;

/// The CPU features that matter to the verifiers, detected at run time.
#[derive(Clone, Debug, Serialize)]
pub struct CpuFeatures {
    pub arch: &'static str,
    pub avx2: bool,
    pub avx512f: bool,
    pub avx512vl: bool,
    pub avx512ifma: bool,
    pub sha_ni: bool,
}

impl CpuFeatures {
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Self {
                arch: "x86_64",
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
                avx512vl: std::arch::is_x86_feature_detected!("avx512vl"),
                avx512ifma: std::arch::is_x86_feature_detected!("avx512ifma"),
                sha_ni: std::arch::is_x86_feature_detected!("sha"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self {
                arch: std::env::consts::ARCH,
                avx2: false,
                avx512f: false,
                avx512vl: false,
                avx512ifma: false,
                sha_ni: false,
            }
        }
    }
}

/// The field-arithmetic backend curve25519-dalek runs its multiscalar multiplications on.
///
/// curve25519-dalek does not export its choice; this mirrors its rule (`src/backend.rs`): with the
/// `avx512` cfg it takes AVX-512 IFMA when `avx512ifma` and `avx512vl` are present, else AVX2 when
/// `avx2` is present, else its serial 64-bit code.
pub fn curve_backend() -> &'static str {
    let f = CpuFeatures::detect();
    if cfg!(curve25519_dalek_backend = "avx512") && f.avx512ifma && f.avx512vl {
        "avx512-ifma"
    } else if (cfg!(curve25519_dalek_backend = "avx512") || cfg!(curve25519_dalek_backend = "simd"))
        && f.avx2
    {
        "avx2"
    } else {
        "serial-u64"
    }
}

/// The CPU's vendor (`vendor_id` from /proc/cpuinfo on Linux: `GenuineIntel`, `AuthenticAMD`, …),
/// or "unknown".
pub fn cpu_vendor() -> String {
    cpuinfo_field("vendor_id")
}

/// The CPU's model name (from /proc/cpuinfo on Linux), or "unknown".
pub fn cpu_model() -> String {
    cpuinfo_field("model name")
}

/// The first value of `field` in /proc/cpuinfo, or "unknown".
fn cpuinfo_field(field: &str) -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| {
                    l.split_once(':')
                        .is_some_and(|(name, _)| name.trim_end() == field)
                })
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Measures the CPU time the calling thread spends (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on a
/// machine running more threads than cores, a thread waiting for a core or blocked on a queue is
/// not working. Work handed to other threads is counted on those threads. Falls back to wall time
/// where the clock is unavailable.
pub struct CpuStopwatch {
    cpu: Option<std::time::Duration>,
    wall: std::time::Instant,
}

impl CpuStopwatch {
    pub fn start() -> CpuStopwatch {
        CpuStopwatch {
            cpu: thread_cpu_time(),
            wall: std::time::Instant::now(),
        }
    }

    pub fn elapsed(&self) -> std::time::Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }
}

/// The time of clock `id` (a `clock_gettime` clock).
#[cfg(unix)]
fn clock(id: libc::clockid_t) -> Option<std::time::Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    (rc == 0).then(|| std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// CPU time the calling thread has used, where the platform says.
pub fn thread_cpu_time() -> Option<std::time::Duration> {
    #[cfg(unix)]
    {
        clock(libc::CLOCK_THREAD_CPUTIME_ID)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// CPU time the whole process has used (user + system), where the platform says.
pub fn process_cpu_time() -> Option<std::time::Duration> {
    #[cfg(unix)]
    {
        clock(libc::CLOCK_PROCESS_CPUTIME_ID)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
