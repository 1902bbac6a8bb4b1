//! The `iosv` binary: parses arguments and calls the harness library.

use std::process::ExitCode;

use clap::Parser;
use iosv_harness::cli::Cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of standard output goes away
    // (`iosv simulate | head`) instead of panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    iosv_harness::cli::init_tracing();
    iosv_harness::cli::run(Cli::parse())
}
