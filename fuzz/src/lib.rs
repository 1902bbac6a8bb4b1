//! Shared support of the fuzz targets: a bounded global allocator, fixtures (keys, rosters)
//! built once per process, and the small binary container the bootstrap target reads.
//!
//! Every target links this crate, so every target runs under [`BoundedAlloc`]: any single
//! allocation over [`MAX_ALLOC`] aborts the process (libFuzzer reports the abort as a crash and
//! saves the input), which turns "allocates what the input claims" bugs into findings even though
//! no sanitizer runtime is linked.

pub mod alloc;
pub mod container;
pub mod fixtures;

pub use alloc::{BoundedAlloc, MAX_ALLOC};

/// Called first by every target: links this crate (and so [`BoundedAlloc`]) into the target.
#[inline]
pub fn init() {}

/// The input as UTF-8 text, for the JSON targets (the harness reads files as `String`s, so
/// non-UTF-8 never reaches its parsers).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A scratch file path for targets that must write files: in `/dev/shm` where it exists (so in
/// memory), named after the process. The caller removes the file after use, so nothing is left
/// behind when libFuzzer exits.
pub fn scratch_file(name: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("iosv-fuzz-{}-{name}", std::process::id()))
}

/// With `IOSV_FUZZ_TRACE` set, prints `what` to stderr: a way to see which outcomes a corpus
/// reaches (`IOSV_FUZZ_TRACE=1 <target> -runs=0 <corpus> 2>&1 | grep '^trace' | sort | uniq -c`).
pub fn trace(what: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("IOSV_FUZZ_TRACE").is_some()) {
        eprintln!("trace {}", what());
    }
}
