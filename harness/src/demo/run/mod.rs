//! The demo's driver, as named phases:
//!
//! 1. `setup::shards`: validators, stakes, each shard's league draw, the shards;
//! 2. `drive`, the load in real time: one thread per shard running its rounds on its own clock
//!    (no shard waits for another), and the driver thread as the clients and the network between
//!    shards (`clients`), until the load is done and drained (or the drain limit);
//! 3. `invariants` over the shards' final state;
//! 4. the [`report`].

mod clients;
mod link;
mod nodes;
mod setup;
pub mod simulated;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use iosv_engine::sig::Verifier;
use rayon::prelude::*;

pub use clients::CrossStats;
pub use setup::epoch_randomness;

use super::config::DemoConfig;
use super::report::{self, DemoReport, Invariants};
use super::shard::{DemoShard, RoundOutput};
use super::stats::{ShardStats, Stopwatch, process_cpu};
use super::workload::{self, Arrival};
use crate::atomix::{Directory, ShardMap};
use crate::pob::{LeagueMode, Reputation};
use clients::Clients;

/// How long a run drains after its load ends before it stops and reports what was left as
/// unfinished: as long as the measured load, at least 5 s (a few finality rounds) and at most
/// 30 s, so the whole run takes at most warm-up + duration + 30 s after its workload is signed.
pub fn drain_limit(cfg: &DemoConfig) -> Duration {
    Duration::from_secs_f64(cfg.duration_s.clamp(5.0, 30.0))
}

/// Progress reports from a run.
pub trait Progress: Sync {
    /// Signing the load: `done` of `total` transactions.
    fn generating(&self, done: u64, total: u64);
    /// Running: `elapsed` of `total` seconds of load, with transactions finalized so far.
    fn running(&self, elapsed: f64, total: f64, finalized: u64);
    /// Finishing pending work after the load.
    fn draining(&self);
}

/// No progress output.
pub struct Quiet;

impl Progress for Quiet {
    fn generating(&self, _: u64, _: u64) {}
    fn running(&self, _: f64, _: f64, _: u64) {}
    fn draining(&self) {}
}

/// Runs `cfg` to the end and returns its report.
pub fn run(cfg: &DemoConfig, progress: &dyn Progress) -> anyhow::Result<DemoReport> {
    run_with_verifier(cfg, progress, None)
}

/// [`run`] with every shard verifying its signatures through `verifier` (a GPU, a remote
/// service) instead of the local CPU.
pub fn run_with_verifier(
    cfg: &DemoConfig,
    progress: &dyn Progress,
    verifier: Option<Verifier>,
) -> anyhow::Result<DemoReport> {
    cfg.validate()?;
    let map = ShardMap::new(cfg.shards);
    let total = ((cfg.duration_s + cfg.warmup_s) * cfg.rate).round() as u64;
    let load = workload::generate(cfg, &|done| progress.generating(done, total));
    let sent = load.arrivals.len() as u64;

    let reputation = Mutex::new(Reputation::new());
    let shards = setup::shards(cfg, map, load.genesis, &reputation, verifier.as_ref())?;
    let supply_before: u128 = shards.iter().map(DemoShard::value).sum();
    let mut dir = Directory::new();
    for s in &shards {
        dir.update(s.atomix.info().clone());
    }
    let leagues: Vec<(LeagueMode, usize, usize)> = shards
        .iter()
        .map(|s| (s.mode, s.believable_ids().len(), s.normal_len()))
        .collect();

    let mut clients = Clients::new(cfg, map, load.arrivals.into_iter());
    let driven = drive(cfg, shards, &dir, &reputation, &mut clients, progress)?;
    let mut shards = driven.shards;
    let checks = invariants(cfg, &mut shards, clients.in_flight(), supply_before);

    let stats: Vec<ShardStats> = shards.iter().map(|s| s.stats.clone()).collect();
    let mut report = report::build(cfg, &stats, &clients.cross, &leagues, checks, driven.wall);
    report.sent = sent;
    report.driver_cpu_s = driven.driver_cpu.as_secs_f64();
    report.process_cpu_s = driven.process_cpu_s;
    report.bound = report::bound(
        cfg,
        report.final_tps,
        &report.cpu,
        report.cores,
        driven
            .process_cpu_s
            .is_finite()
            .then(|| driven.process_cpu_s / (report.wall_s * report.cores as f64)),
    );
    Ok(report)
}

/// What the real-time phase hands back.
struct Driven {
    shards: Vec<DemoShard>,
    wall: Duration,
    /// CPU time of the driver thread (clients and network).
    driver_cpu: Duration,
    /// CPU time of the whole process over the phase (NaN where the platform has no such clock).
    process_cpu_s: f64,
}

/// Phase 2: the load in real time. Each shard's thread runs a round every block interval; the
/// driver thread, every quarter interval, releases due arrivals, carries Atomix messages and
/// round outputs, and stops once everything sent is settled or the drain limit passes.
fn drive<I: Iterator<Item = Arrival>>(
    cfg: &DemoConfig,
    shards: Vec<DemoShard>,
    dir: &Directory,
    reputation: &Mutex<Reputation>,
    clients: &mut Clients<I>,
    progress: &dyn Progress,
) -> anyhow::Result<Driven> {
    let interval = Duration::from_millis(cfg.block_interval_ms);
    let tick = (interval / 4).max(Duration::from_millis(1));
    let load_s = cfg.duration_s + cfg.warmup_s;
    let cells: Vec<Mutex<DemoShard>> = shards.into_iter().map(Mutex::new).collect();
    let lock = |i: usize| cells[i].lock().expect("a shard thread panicked");
    let stop = AtomicBool::new(false);
    let (out_tx, out_rx) = crossbeam::channel::unbounded::<RoundOutput>();
    let cpu_at_start = process_cpu();
    let start = Instant::now();
    let now = || start.elapsed().as_micros() as u64;
    let driver_clock = Stopwatch::start();
    let mut drain_started: Option<Instant> = None;
    let result: anyhow::Result<()> = std::thread::scope(|scope| {
        for cell in &cells {
            let out_tx = out_tx.clone();
            let (stop, now) = (&stop, &now);
            scope.spawn(move || {
                let mut round = 0u32;
                while !stop.load(Ordering::Acquire) {
                    let target = interval * round;
                    let elapsed = start.elapsed();
                    if elapsed < target {
                        std::thread::sleep(target - elapsed);
                    }
                    round += 1;
                    let out = cell
                        .lock()
                        .expect("the driver never panics holding a shard")
                        .round(now, dir, reputation);
                    if out_tx.send(out).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        let driven = (|| -> anyhow::Result<()> {
            loop {
                std::thread::sleep(tick);
                let mut outbox = clients.send(now())?;
                let t = now();
                for round in out_rx.try_iter() {
                    clients.receive(round, t);
                }
                clients.certify(dir, &mut outbox);
                for (i, ((inbox, locks), finishes)) in outbox
                    .inboxes
                    .into_iter()
                    .zip(outbox.locks)
                    .zip(outbox.finishes)
                    .enumerate()
                {
                    if inbox.is_empty() && locks.is_empty() && finishes.is_empty() {
                        continue;
                    }
                    let mut shard = lock(i);
                    for a in inbox {
                        shard.submit(a);
                    }
                    for tx in locks {
                        shard.request_lock(tx);
                    }
                    for (tx, certificate) in finishes {
                        shard.request_finish(tx, certificate);
                    }
                }
                let finalized = (0..cells.len())
                    .map(|i| lock(i).stats.finals.len() as u64)
                    .sum::<u64>()
                    + clients.cross.finals.len() as u64;
                let elapsed = start.elapsed().as_secs_f64();
                progress.running(elapsed.min(load_s), load_s, finalized);
                if clients.all_sent() {
                    if clients.settled() && (0..cells.len()).all(|i| lock(i).idle()) {
                        return Ok(());
                    }
                    let since = *drain_started.get_or_insert_with(|| {
                        progress.draining();
                        Instant::now()
                    });
                    if since.elapsed() > drain_limit(cfg) {
                        return Ok(());
                    }
                }
            }
        })();
        stop.store(true, Ordering::Release);
        driven
    });
    result?;
    let wall = start.elapsed();
    let driver_cpu = driver_clock.elapsed();
    let process_cpu_s = match (cpu_at_start, process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => f64::NAN,
    };
    Ok(Driven {
        shards: cells
            .into_iter()
            .map(|c| c.into_inner().expect("no shard thread panicked"))
            .collect(),
        wall,
        driver_cpu,
        process_cpu_s,
    })
}

/// Phase 3: the invariants over the shards' final state, with `in_flight` cross-shard
/// transactions left unfinished by the clients.
fn invariants(
    cfg: &DemoConfig,
    shards: &mut [DemoShard],
    in_flight: usize,
    supply_before: u128,
) -> Invariants {
    let supply_after: u128 = shards.iter().map(DemoShard::value).sum();
    let fees: u64 = shards.iter().map(|s| s.stats.fees).sum();
    let consistent: Vec<bool> = shards
        .par_iter_mut()
        .map(DemoShard::state_consistent)
        .collect();
    let locks_left: usize = shards.iter().map(|s| s.state().lock_count()).sum();
    Invariants {
        supply_before,
        supply_after,
        fees_burned: fees,
        supply_conserved: supply_before == supply_after + u128::from(fees),
        no_double_spend: shards.iter().all(|s| s.stats.double_spends == 0),
        honest_agreement: shards.iter().all(DemoShard::finality_agreement),
        state_trees_consistent: consistent.iter().all(|&c| c),
        no_locks_left: locks_left == 0 && in_flight == 0,
        finality_never_failed: shards.iter().all(|s| s.stats.finality_failures == 0),
        drained: in_flight == 0 && shards.iter().all(DemoShard::idle),
        unfinished: in_flight as u64 + shards.iter().map(|s| s.queued() as u64).sum::<u64>(),
        drain_limit_s: drain_limit(cfg).as_secs_f64(),
    }
}
