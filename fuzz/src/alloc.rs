//! The global allocator of every fuzz target: the system allocator, refusing any single
//! allocation larger than [`MAX_ALLOC`] by aborting with a message.
//!
//! libFuzzer's own `-malloc_limit_mb` needs the sanitizer allocator hooks, which a Rust build
//! without ASan does not have; this wrapper gives the same per-allocation bound, and
//! `-rss_limit_mb` (run.sh passes 1024) bounds the total.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// Largest single allocation a decoder may make while fuzzing: 64 MiB. No input a target
/// accepts (libFuzzer's `-max_len` is far smaller) justifies more.
pub const MAX_ALLOC: usize = 64 << 20;

/// The bounded allocator (installed below as `#[global_allocator]`).
pub struct BoundedAlloc;

#[global_allocator]
static GLOBAL: BoundedAlloc = BoundedAlloc;

#[cold]
fn too_large(size: usize) -> ! {
    // No allocation here: format into a stack buffer, write to stderr unbuffered, abort.
    let mut buf = [0u8; 128];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(
        cursor,
        "\n==iosv-fuzz== allocation of {size} bytes exceeds the {MAX_ALLOC}-byte limit\n"
    );
    let end = cursor.position() as usize;
    let _ = std::io::stderr().write_all(&buf[..end]);
    std::process::abort();
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the wrapper only refuses (by aborting) sizes over the limit.
unsafe impl GlobalAlloc for BoundedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            too_large(layout.size());
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            too_large(layout.size());
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes through it).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC {
            too_large(new_size);
        }
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
