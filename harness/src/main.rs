//! The `iosv` binary: parses arguments and calls the harness library.

use std::process::ExitCode;

use clap::Parser;
use iosv_harness::cli::Cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    iosv_harness::cli::init_tracing();
    iosv_harness::cli::run(Cli::parse())
}
