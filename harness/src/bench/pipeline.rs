//! The pipeline benchmark: real signed transactions through the engine's pipeline, end to end
//! (admission → commit), at a fixed open-loop rate or as fast as admitted.
//!
//! [`run_once`] is one run (`iosv pipeline` prints it); [`run`] repeats it on the same
//! transactions, each time on a fresh UTXO set, and reports the median and spread of the committed
//! rate, the latency percentiles and each stage's busy time — the stage breakdown that says which
//! stage bounds the rate. [`sweep`] repeats it with the process held to 1, 2, … cores
//! ([`pin_to_cores`]) and reads the scaling limits off the stage breakdown ([`Scaling`]).

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use iosv_engine::pipeline::{Outcome, Pipeline, PipelineConfig, PipelineReport};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::utxo::UtxoSet;
use iosv_engine::workload::{KeyReuse, TxWorkload};
use serde::Serialize;

use super::timing::Spread;

/// One pipeline run.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineRun {
    pub transactions: usize,
    pub inputs_per_tx: usize,
    pub offered_rate: Option<f64>,
    /// Rate at which the submitter actually admitted transactions.
    pub admitted_tps: f64,
    /// Committed transactions per second, from the first admission to the last commit.
    pub committed_tps: f64,
    pub committed: u64,
    pub rejected: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How far the open-loop submitter fell behind its schedule at worst (backpressure).
    pub max_submit_lag_ms: f64,
    /// Threads of each parallel stage.
    pub threads: StageThreads,
    /// Cores the run was held to (`None`: not pinned).
    pub pinned_cores: Option<usize>,
    /// Where the signatures were verified (`cpu`, a GPU adapter, remote endpoints).
    pub backend: String,
    pub pipeline: PipelineReport,
}

/// Threads of the pipeline's parallel stages (the ordered stages are one thread each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StageThreads {
    /// Decoding and signing hash.
    pub decode: usize,
    /// Signature verification.
    pub verify: usize,
    /// The UTXO set's lookups and writes.
    pub utxo: usize,
}

/// Below this many cores, with signatures verified on the CPU, the UTXO stage runs on the commit
/// thread alone. Its helper threads pay only once that thread would bound the pipeline: alone it
/// costs ~2.4 µs per transaction (a ceiling of ~410,000 tx/s) against ~8 µs of CPU per
/// transaction in all (AMD EPYC with AVX-512 IFMA, 2026-12-06, `perf-reports/scaling.md`), so 3
/// cores (~375,000 tx/s) do not reach it, while on 2 cores the helpers' hand-offs cost more than
/// they spread (217–241k against 257–273k tx/s committed, two runs each).
pub const MIN_CORES_FOR_UTXO_HELPERS: usize = 4;

impl StageThreads {
    /// What a machine with `cores` cores gets by default: a verifier per core, a decoder per four
    /// (decoding costs a fraction of verifying), UTXO threads per core up to the set's limit, or
    /// one (no helpers) when the signatures are verified on the CPU and there are fewer than
    /// [`MIN_CORES_FOR_UTXO_HELPERS`] cores. With the signatures elsewhere (a GPU, a remote
    /// service) the CPU's work per transaction shrinks to about the commit thread's, so the
    /// helpers are used from 2 cores.
    pub fn for_cores(cores: usize, signatures_on_cpu: bool) -> StageThreads {
        let cores = cores.max(1);
        let utxo = if signatures_on_cpu && cores < MIN_CORES_FOR_UTXO_HELPERS {
            1
        } else {
            cores.min(16)
        };
        StageThreads {
            decode: cores.div_ceil(4),
            verify: cores,
            utxo,
        }
    }

    /// [`StageThreads::for_cores`] of this machine.
    pub fn machine(signatures_on_cpu: bool) -> StageThreads {
        StageThreads::for_cores(
            thread::available_parallelism().map_or(1, |n| n.get()),
            signatures_on_cpu,
        )
    }
}

/// Holds the calling thread, and every thread it spawns afterwards, to the first `cores` CPUs it
/// may run on (Linux `sched_setaffinity`); returns how many it got. Elsewhere: an error.
pub fn pin_to_cores(cores: usize) -> anyhow::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain data; the libc calls get a valid pointer and its size.
        unsafe {
            let mut allowed: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) != 0
            {
                anyhow::bail!("sched_getaffinity: {}", std::io::Error::last_os_error());
            }
            let mut wanted: libc::cpu_set_t = std::mem::zeroed();
            let mut got = 0;
            for cpu in 0..libc::CPU_SETSIZE as usize {
                if got == cores {
                    break;
                }
                if libc::CPU_ISSET(cpu, &allowed) {
                    libc::CPU_SET(cpu, &mut wanted);
                    got += 1;
                }
            }
            if got == 0 {
                anyhow::bail!("no CPU to run on");
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &wanted) != 0 {
                anyhow::bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
            }
            Ok(got)
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cores;
        anyhow::bail!("holding a run to some cores is implemented on Linux only")
    }
}

/// Runs `f` on a thread of its own held to `cores` CPUs ([`pin_to_cores`]; `f` gets how many it
/// got); threads `f` spawns inherit the pinning.
pub fn on_cores<T: Send>(
    cores: usize,
    f: impl FnOnce(usize) -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    thread::scope(|scope| {
        scope
            .spawn(|| f(pin_to_cores(cores)?))
            .join()
            .map_err(|_| anyhow::anyhow!("the pinned run panicked"))?
    })
}

/// [`run_once`] with the run's threads held to `cores` CPUs (the pipeline's threads inherit the
/// pinning), so a 1-core run really has one core.
pub fn run_pinned(
    workload: &TxWorkload,
    inputs_per_tx: usize,
    rate: Option<f64>,
    cores: usize,
    threads: StageThreads,
    verifier: Verifier,
) -> anyhow::Result<PipelineRun> {
    on_cores(cores, |got| {
        let mut run = run_once(workload, inputs_per_tx, rate, threads, verifier)?;
        run.pinned_cores = Some(got);
        Ok(run)
    })
}

/// Runs `workload` through a fresh pipeline on a fresh UTXO set holding its genesis outputs.
pub fn run_once(
    workload: &TxWorkload,
    inputs_per_tx: usize,
    rate: Option<f64>,
    threads: StageThreads,
    verifier: Verifier,
) -> anyhow::Result<PipelineRun> {
    let backend = verifier.describe();
    let utxo = Arc::new(UtxoSet::new().with_threads(threads.utxo));
    for (outpoint, output) in &workload.genesis {
        utxo.insert_genesis(*outpoint, *output)
            .context("genesis output")?;
    }
    let config = PipelineConfig {
        decode_workers: threads.decode,
        verify_workers: threads.verify,
        ..PipelineConfig::default()
    };
    let (submitter, pipeline) = Pipeline::start(config, utxo, verifier);

    let outcomes = pipeline.outcomes().clone();
    let drain = thread::spawn(move || {
        let (mut committed, mut rejected) = (0u64, 0u64);
        let mut last_commit = None;
        for outcome in outcomes.iter() {
            match outcome {
                Outcome::Committed { .. } => {
                    committed += 1;
                    last_commit = Some(Instant::now());
                }
                Outcome::Rejected { .. } => rejected += 1,
            }
        }
        (committed, rejected, last_commit)
    });

    let txs = workload.txs.clone();
    let count = txs.len();
    let start = Instant::now();
    let mut max_lag = Duration::ZERO;
    for (i, bytes) in txs.into_iter().enumerate() {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            } else {
                max_lag = max_lag.max(now - due);
            }
        }
        submitter
            .submit(bytes)
            .map_err(|_| anyhow::anyhow!("the pipeline stopped early"))?;
    }
    let admitted_s = start.elapsed().as_secs_f64();
    drop(submitter);
    let (committed, rejected, last_commit) = drain.join().expect("outcome drain thread");
    let report = pipeline.join();
    let span = last_commit.map_or(f64::NAN, |t| (t - start).as_secs_f64());

    Ok(PipelineRun {
        transactions: count,
        inputs_per_tx,
        offered_rate: rate,
        admitted_tps: count as f64 / admitted_s,
        committed_tps: committed as f64 / span,
        committed,
        rejected,
        p50_ms: report.latency_ms.p50,
        p95_ms: report.latency_ms.p95,
        p99_ms: report.latency_ms.p99,
        max_ms: report.latency_ms.max,
        max_submit_lag_ms: max_lag.as_secs_f64() * 1000.0,
        threads,
        pinned_cores: None,
        backend,
        pipeline: report,
    })
}

/// What [`run`] measures.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PipelinePlan {
    pub transactions: usize,
    pub runs: usize,
    /// `None`: as fast as admitted.
    pub rate: Option<f64>,
}

impl PipelinePlan {
    pub const QUICK: PipelinePlan = PipelinePlan {
        transactions: 100_000,
        runs: 5,
        rate: None,
    };
    /// The headline run: a million transactions, five times.
    pub const FULL: PipelinePlan = PipelinePlan {
        transactions: 1_000_000,
        runs: 5,
        rate: None,
    };
}

/// One stage over the runs.
#[derive(Clone, Debug, Serialize)]
pub struct StageSpread {
    pub stage: String,
    pub unit: String,
    /// One thread in admission order (see `iosv_engine::pipeline::StageReport::serial`).
    pub serial: bool,
    /// Busy seconds of the stage's threads (summed over threads).
    pub busy_s: Spread,
    /// Busy time per committed transaction, microseconds.
    pub busy_us_per_tx: Spread,
}

#[derive(Clone, Debug, Serialize)]
pub struct PipelineBenchReport {
    pub plan: PipelinePlan,
    pub inputs_per_tx: usize,
    pub key_reuse: String,
    pub threads: StageThreads,
    /// Seconds spent generating and signing the transactions (not timed in the runs).
    pub setup_seconds: f64,
    pub committed_tps: Spread,
    pub p50_ms: Spread,
    pub p95_ms: Spread,
    pub p99_ms: Spread,
    pub stages: Vec<StageSpread>,
    pub runs: Vec<PipelineRun>,
    /// Filled by `iosv bench pipeline --threads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Scaling>,
}

/// Generates the plan's transactions once — one input each, keys drawn Zipf-weighted from 10,000
/// accounts, seed 1: the same workload as `iosv pipeline`'s defaults — and runs them `plan.runs`
/// times; `log` gets one line per run.
pub fn run(plan: PipelinePlan, log: impl Fn(String)) -> anyhow::Result<PipelineBenchReport> {
    let setup = Instant::now();
    let workload = TxWorkload::generate(plan.transactions, 1, KeyReuse::SKEWED_10K, 1);
    let setup_seconds = setup.elapsed().as_secs_f64();
    let threads = StageThreads::machine(true);
    let mut runs = Vec::with_capacity(plan.runs);
    for i in 0..plan.runs {
        let r = run_once(
            &workload,
            1,
            plan.rate,
            threads,
            Verifier::new(Backend::Cpu)?,
        )?;
        log(format!(
            "pipeline run {}/{}: {:.0} tx/s committed, p50 {:.1} ms, p99 {:.1} ms",
            i + 1,
            plan.runs,
            r.committed_tps,
            r.p50_ms,
            r.p99_ms
        ));
        runs.push(r);
    }
    Ok(summarize(plan, setup_seconds, runs))
}

/// The report of `runs` (all of one configuration, at least one).
fn summarize(
    plan: PipelinePlan,
    setup_seconds: f64,
    runs: Vec<PipelineRun>,
) -> PipelineBenchReport {
    let spread = |f: &dyn Fn(&PipelineRun) -> f64| Spread::of(runs.iter().map(f).collect());
    PipelineBenchReport {
        plan,
        inputs_per_tx: 1,
        key_reuse: "zipf-10000".to_string(),
        threads: runs[0].threads,
        setup_seconds,
        committed_tps: spread(&|r| r.committed_tps),
        p50_ms: spread(&|r| r.p50_ms),
        p95_ms: spread(&|r| r.p95_ms),
        p99_ms: spread(&|r| r.p99_ms),
        stages: stage_spreads(&runs),
        runs,
        scaling: None,
    }
}

/// Each stage over `runs` (all of one configuration).
fn stage_spreads(runs: &[PipelineRun]) -> Vec<StageSpread> {
    let spread = |f: &dyn Fn(&PipelineRun) -> f64| Spread::of(runs.iter().map(f).collect());
    runs[0]
        .pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(k, st)| StageSpread {
            stage: st.stage.to_string(),
            unit: st.unit.to_string(),
            serial: st.serial,
            busy_s: spread(&|r| r.pipeline.stages[k].busy_s),
            busy_us_per_tx: spread(&|r| {
                r.pipeline.stages[k].busy_s * 1e6 / (r.committed.max(1) as f64)
            }),
        })
        .collect()
}

/// One core count of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingPoint {
    /// Cores the runs were held to.
    pub cores: usize,
    pub threads: StageThreads,
    pub committed_tps: Spread,
    /// Process CPU time per committed transaction, µs (every thread: stages, submitter, drain).
    pub cpu_us_per_tx: Spread,
    pub stages: Vec<StageSpread>,
}

/// The scaling curve, and what its largest point says of larger machines.
#[derive(Clone, Debug, Serialize)]
pub struct Scaling {
    pub points: Vec<ScalingPoint>,
    /// The largest core count again with the UTXO helper threads on, as machines of
    /// [`MIN_CORES_FOR_UTXO_HELPERS`] cores or more run: measured only when the sweep's own points
    /// all ran the UTXO stage on the commit thread alone, so that the serial work below is what a
    /// larger machine keeps rather than what a small one chooses to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helpers_probe: Option<ScalingPoint>,
    /// The busiest one-thread stage at the largest core count measured (with the UTXO helpers
    /// on): the pipeline cannot commit more than one transaction per its busy time, whatever the
    /// cores.
    pub serial_stage: String,
    pub serial_us_per_tx: f64,
    /// Committed tx/s a machine of 16 and 64 such cores could reach at most by this stage
    /// breakdown: the lower of the serial stage's ceiling and cores / CPU time per transaction.
    pub bound_16_cores: f64,
    pub bound_64_cores: f64,
    /// The speed-up of the largest core count over the smallest (medians).
    pub speedup: f64,
}

impl Scaling {
    /// Reads the limits off `points` (sorted by cores, at least one), or off `helpers_probe` when
    /// there is one.
    pub fn of(points: Vec<ScalingPoint>, helpers_probe: Option<ScalingPoint>) -> Scaling {
        let (first, last) = (&points[0], &points[points.len() - 1]);
        let limits = helpers_probe.as_ref().unwrap_or(last);
        let (serial_stage, serial_us_per_tx) = limits
            .stages
            .iter()
            .filter(|st| st.serial)
            .map(|st| (st.stage.clone(), st.busy_us_per_tx.median))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_default();
        let cpu = limits.cpu_us_per_tx.median;
        let bound = |cores: f64| super::timing::core_bound(serial_us_per_tx, cpu, cores);
        Scaling {
            serial_stage,
            serial_us_per_tx,
            bound_16_cores: bound(16.0),
            bound_64_cores: bound(64.0),
            speedup: last.committed_tps.median / first.committed_tps.median,
            points,
            helpers_probe,
        }
    }
}

/// The pipeline at each core count of `cores` (the process held to that many, every stage sized for
/// it), `plan.runs` runs each, the counts interleaved run by run so drift on a shared machine hits
/// them alike. The report's main figures are those of the largest count. When no count reaches
/// [`MIN_CORES_FOR_UTXO_HELPERS`], the largest is run once more per round with the UTXO helpers on
/// ([`Scaling::helpers_probe`]), for the serial work a larger machine keeps.
pub fn sweep(
    plan: PipelinePlan,
    cores: &[usize],
    log: impl Fn(String),
) -> anyhow::Result<PipelineBenchReport> {
    anyhow::ensure!(!cores.is_empty(), "no core count to sweep");
    let mut cores = cores.to_vec();
    cores.sort_unstable();
    cores.dedup();
    let mut configs: Vec<(usize, StageThreads)> = cores
        .iter()
        .map(|&n| (n, StageThreads::for_cores(n, true)))
        .collect();
    let (largest_cores, largest_threads) = configs[configs.len() - 1];
    let with_helpers = StageThreads::for_cores(largest_cores, false);
    let probing = with_helpers != largest_threads;
    if probing {
        configs.push((largest_cores, with_helpers));
    }
    let setup = Instant::now();
    let workload = TxWorkload::generate(plan.transactions, 1, KeyReuse::SKEWED_10K, 1);
    let setup_seconds = setup.elapsed().as_secs_f64();
    let mut by_config: Vec<Vec<(PipelineRun, f64)>> = vec![Vec::new(); configs.len()];
    for i in 0..plan.runs {
        for (k, &(n, threads)) in configs.iter().enumerate() {
            let cpu_before = crate::demo::stats::process_cpu();
            let r = run_pinned(
                &workload,
                1,
                plan.rate,
                n,
                threads,
                Verifier::new(Backend::Cpu)?,
            )?;
            let cpu_s = match (cpu_before, crate::demo::stats::process_cpu()) {
                (Some(a), Some(b)) => (b - a).as_secs_f64(),
                _ => f64::NAN,
            };
            log(format!(
                "pipeline on {n} core(s){}, run {}/{}: {:.0} tx/s committed, {:.2} CPU µs/tx",
                if probing && k == configs.len() - 1 {
                    " with UTXO helpers"
                } else {
                    ""
                },
                i + 1,
                plan.runs,
                r.committed_tps,
                cpu_s * 1e6 / r.committed.max(1) as f64
            ));
            by_config[k].push((r, cpu_s));
        }
    }
    let point = |n: usize, runs: Vec<(PipelineRun, f64)>| {
        let cpu_us_per_tx = Spread::of(
            runs.iter()
                .map(|(r, cpu)| cpu * 1e6 / r.committed.max(1) as f64)
                .collect(),
        );
        let runs: Vec<PipelineRun> = runs.into_iter().map(|(r, _)| r).collect();
        ScalingPoint {
            cores: runs[0].pinned_cores.unwrap_or(n),
            threads: runs[0].threads,
            committed_tps: Spread::of(runs.iter().map(|r| r.committed_tps).collect()),
            cpu_us_per_tx,
            stages: stage_spreads(&runs),
        }
    };
    let helpers_probe = if probing {
        by_config.pop().map(|runs| point(largest_cores, runs))
    } else {
        None
    };
    let largest: Vec<PipelineRun> = by_config
        .last()
        .map(|runs| runs.iter().map(|(r, _)| r.clone()).collect())
        .unwrap_or_default();
    let points = cores
        .iter()
        .zip(by_config)
        .map(|(&n, runs)| point(n, runs))
        .collect();
    let mut report = summarize(plan, setup_seconds, largest);
    report.scaling = Some(Scaling::of(points, helpers_probe));
    Ok(report)
}
