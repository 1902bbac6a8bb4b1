//! `iosv verify`: JSON-lines signatures in, one verdict line per input line out, in order.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};

use anyhow::Context;
use iosv_engine::jsonl::stream::{StreamOptions, verify_stream};
use iosv_engine::sig::{Backend, SigRef, Verifier};

use crate::bench::peers;
use crate::cli::{BackendArg, PeerArg, VerifyArgs};

/// Default batch size on the CPU: measured on the development machine, batches of 1,024 reach
/// 94–98% of the throughput of batches of 4,096 (perf-reports/sigverify.md), and bigger chunks
/// only add latency and memory.
pub const DEFAULT_BATCH: u32 = 1024;
/// Default batch size with a GPU (`gpu`, `auto`): a GPU submission costs tens of microseconds of
/// fixed latency and needs tens of thousands of signatures to fill the device, while every worker
/// thread parses its own batch, so batches must stay small enough for all threads to have one.
/// On the H200 host (perf-reports/gpu.md) 32,768 was the fastest whole-process batch with the
/// old kernels and the sweep in `perf-reports/scripts/gpu-check.sh` re-measures it.
pub const DEFAULT_GPU_BATCH: u32 = 32_768;

/// Input buffer size: large reads keep the reader thread's share of a core small.
const READ_BUFFER: usize = 1 << 20;

pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let backend = match args.backend {
        BackendArg::Cpu => Backend::Cpu,
        BackendArg::Gpu => Backend::Gpu,
        BackendArg::Auto => Backend::Auto,
    };
    let verifier = Verifier::new(backend)?;
    if let Some(adapter) = verifier.gpu_adapter() {
        tracing::info!(%adapter, backend = ?verifier.backend(), "verifying with the GPU");
    }
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let batch = args.batch.unwrap_or(match verifier.backend() {
        Backend::Cpu => DEFAULT_BATCH,
        Backend::Gpu | Backend::Auto => DEFAULT_GPU_BATCH,
    });
    let options = StreamOptions {
        batch: batch as usize,
        threads,
    };
    let check = checker(|items| match args.peer {
        None => verifier.verify_batch(items),
        Some(PeerArg::Ed25519DalekBatch) => peers::dalek_verify_batch(items),
        Some(PeerArg::Ed25519ConsensusBatch) => peers::consensus_batch(items),
    });
    let stdout = io::stdout().lock();
    let output = BufWriter::with_capacity(READ_BUFFER, stdout);
    let summary = match args.input.as_deref() {
        None => verify_stream(stdin_reader(), output, options, &check),
        Some(p) if p.as_os_str() == "-" => verify_stream(stdin_reader(), output, options, &check),
        Some(path) => {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            verify_stream(
                BufReader::with_capacity(READ_BUFFER, file),
                output,
                options,
                &check,
            )
        }
    }
    .context("verification stopped on an I/O error")?;
    tracing::info!(?summary, "done");
    Ok(())
}

/// Pins a closure to the higher-ranked signature `verify_stream` wants.
pub fn checker<F: Fn(&[SigRef<'_>]) -> Vec<bool> + Sync>(f: F) -> F {
    f
}

fn stdin_reader() -> BufReader<io::Stdin> {
    BufReader::with_capacity(READ_BUFFER, io::stdin())
}
