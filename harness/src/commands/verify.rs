//! `iosv verify`: JSON-lines signatures in, one verdict line per input line out, in order.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use anyhow::Context;
use clap::{Args, ValueEnum};
use iosv_engine::jsonl::stream::{StreamOptions, verify_stream};
use iosv_engine::sig::{Backend, BackendError, SigRef, Verifier};

use crate::bench::peers;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Input file, or `-` (the default) for standard input.
    pub input: Option<PathBuf>,
    /// Verification backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    pub backend: BackendArg,
    /// Signatures per verification batch (and lines per chunk of work); default 1,024 on the CPU,
    /// 16,384 with `gpu`, 8,192 with `auto`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub batch: Option<u32>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Verify with a peer library instead of the engine, through the same reading, parsing and
    /// writing: for whole-process comparisons only (peers do not follow ZIP-215 rules).
    #[arg(long, value_enum, conflicts_with = "backend")]
    pub peer: Option<PeerArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeerArg {
    /// ed25519-dalek 3 `verify_batch` (one verify per signature if a batch fails).
    Ed25519DalekBatch,
    /// ed25519-consensus's batch verifier.
    Ed25519ConsensusBatch,
}

/// Default batch size on the CPU: measured on the development machine, batches of 1,024 reach
/// 94–98% of the throughput of batches of 4,096 (perf-reports/sigverify.md), and bigger chunks
/// only add latency and memory.
pub const DEFAULT_BATCH: u32 = 1024;
/// Default batch size with a GPU (`gpu`, `auto`): every worker thread parses its own batch and
/// submits it, so the batches in flight (one per thread) together fill the device while each
/// stays small enough that all threads have work. Measured on the H200 host with 16 threads
/// (perf-reports/gpu.md, `perf-reports/scripts/gpu-check.sh`, 1,000,000 signatures, 3 runs
/// each, device call 2): 16,384 the fastest of 4,096 / 8,192 / 16,384 / 32,768 (0.39–0.44 s against 0.60–0.66,
/// 0.48–0.50 and 0.52–0.58 s).
pub const DEFAULT_GPU_BATCH: u32 = 16_384;
/// Default batch size with `auto`: smaller than `gpu`'s, because `auto` verifies on the CPU while
/// the GPU opens and smaller batches spread that work over all threads sooner. Measured on the
/// H200 host (5 runs each, 1,000,000 signatures, device call 4): 8,192 gave 0.41–0.46 s, 16,384
/// 0.49–0.55 s, 32,768 0.49–0.92 s; `gpu` at its default 0.43–0.49 s (call 5: `auto` at 8,192
/// 0.44–0.64 s, `gpu` 0.43–0.54 s).
pub const DEFAULT_AUTO_BATCH: u32 = 8_192;

/// Signatures `auto` verifies on the CPU at a time while its GPU opens: ~7 ms of one core.
const MEANWHILE_PIECE: usize = 1024;

/// Input buffer size: large reads keep the reader thread's share of a core small.
const READ_BUFFER: usize = 1 << 20;

pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let backend = match args.backend {
        BackendArg::Cpu => Backend::Cpu,
        BackendArg::Gpu => Backend::Gpu,
        BackendArg::Auto => Backend::Auto,
    };
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let batch = args.batch.unwrap_or(match backend {
        Backend::Cpu | Backend::Remote => DEFAULT_BATCH,
        Backend::Gpu => DEFAULT_GPU_BATCH,
        Backend::Auto => DEFAULT_AUTO_BATCH,
    });
    let options = StreamOptions {
        batch: batch as usize,
        threads,
    };
    // Opening a GPU (instance, device, pipelines from the driver's cache, base table) takes a
    // good part of a short run: it happens on its own thread while the input is read and parsed,
    // and the first batch waits for it. If it fails, the stream stops before any output.
    let verifier = OpeningVerifier::start(backend);
    let check = checker(|items| match args.peer {
        None => verifier.verify_batch(items),
        Some(PeerArg::Ed25519DalekBatch) => Ok(peers::dalek_verify_batch(items)),
        Some(PeerArg::Ed25519ConsensusBatch) => Ok(peers::consensus_batch(items)),
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
    .map_err(|e| match verifier.error() {
        Some(opening) => anyhow::anyhow!(opening),
        None => anyhow::Error::new(e).context("verification stopped on an I/O error"),
    })?;
    if args.peer.is_none() && backend == Backend::Gpu {
        // An empty input never asked for the verifier: a GPU that cannot open is still an error
        // (exit 2), as it is with input. (`auto` never fails to open: it falls back to the CPU,
        // and a run that ended before its GPU was ready does not wait for it.)
        verifier.get().map_err(|e| anyhow::anyhow!(e))?;
    }
    tracing::info!(?summary, "done");
    Ok(())
}

/// A verifier being opened on another thread; `get` waits for it. With `auto`, batches are
/// verified on the CPU in pieces of [`MEANWHILE_PIECE`] while the GPU opens, and what is left of
/// a batch once it is ready goes to the GPU (same verdicts): an H200 host opens in ~0.17 s, time
/// in which the CPU verifies a third of a million signatures, and a software adapter may take
/// seconds to compile the kernels, longer than a short run. Pieces keep a thread from starting
/// a long CPU batch just before the GPU becomes ready.
struct OpeningVerifier {
    pending: Mutex<Option<JoinHandle<Result<Verifier, BackendError>>>>,
    opened: OnceLock<Result<Verifier, String>>,
    meanwhile: Option<Verifier>,
}

impl OpeningVerifier {
    fn start(backend: Backend) -> Self {
        let handle = std::thread::spawn(move || {
            let verifier = Verifier::new(backend)?;
            if let Some(adapter) = verifier.gpu_adapter() {
                tracing::info!(%adapter, backend = ?verifier.backend(), "verifying with the GPU");
            }
            Ok(verifier)
        });
        let meanwhile = match backend {
            Backend::Auto => Verifier::new(Backend::Cpu).ok(),
            Backend::Cpu | Backend::Gpu | Backend::Remote => None,
        };
        Self {
            pending: Mutex::new(Some(handle)),
            opened: OnceLock::new(),
            meanwhile,
        }
    }

    fn ready(&self) -> bool {
        self.opened.get().is_some()
            || self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_none_or(JoinHandle::is_finished)
    }

    fn verify_batch(&self, items: &[SigRef<'_>]) -> io::Result<Vec<bool>> {
        let Some(cpu) = &self.meanwhile else {
            return Ok(self.get()?.verify_batch(items));
        };
        let mut verdicts = Vec::with_capacity(items.len());
        let mut rest = items;
        while !rest.is_empty() && !self.ready() {
            let (piece, tail) = rest.split_at(rest.len().min(MEANWHILE_PIECE));
            verdicts.extend(cpu.verify_batch(piece));
            rest = tail;
        }
        if !rest.is_empty() {
            verdicts.extend(self.get()?.verify_batch(rest));
        }
        Ok(verdicts)
    }

    fn get(&self) -> io::Result<&Verifier> {
        let opened = self.opened.get_or_init(|| {
            let handle = self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            match handle.map(JoinHandle::join) {
                Some(Ok(Ok(verifier))) => Ok(verifier),
                Some(Ok(Err(e))) => Err(e.to_string()),
                Some(Err(_)) | None => Err("opening the verifier panicked".to_string()),
            }
        });
        opened.as_ref().map_err(|e| io::Error::other(e.clone()))
    }

    /// Why the verifier could not be opened, if it could not.
    fn error(&self) -> Option<String> {
        self.opened.get().and_then(|o| o.as_ref().err().cloned())
    }
}

/// Pins a closure to the higher-ranked signature `verify_stream` wants.
pub fn checker<F: Fn(&[SigRef<'_>]) -> io::Result<Vec<bool>> + Sync>(f: F) -> F {
    f
}

fn stdin_reader() -> BufReader<io::Stdin> {
    BufReader::with_capacity(READ_BUFFER, io::stdin())
}
