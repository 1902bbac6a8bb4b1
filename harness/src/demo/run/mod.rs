//! The demo's driver, as named phases:
//!
//! 1. `setup::shards`: validators, stakes, each shard's league draw, the shards;
//! 2. `drive`, the load in real time: the shard and clients nodes (`nodes`) on the real-time
//!    runner, one thread each (no shard waits for another), channels between them, until the
//!    load is done and drained (or the drain limit) — the same nodes `simulated` runs in the
//!    deterministic simulator;
//! 3. `invariants` over the shards' final state;
//! 4. the [`report`].

mod clients;
mod link;
mod nodes;
mod setup;
pub mod simulated;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use iosv_engine::sig::Verifier;
use rayon::prelude::*;

pub use clients::CrossStats;
pub use setup::epoch_randomness;

use super::config::DemoConfig;
use super::report::{self, DemoReport, Invariants};
use super::shard::DemoShard;
use super::stats::{ShardStats, process_cpu};
use super::workload::{self, Arrival};
use crate::atomix::{AtomixShard, Directory, ShardMap, commits_in_flight};
use crate::backend_spec::BackendSpec;
use crate::pob::{LeagueMode, Reputation};
use crate::runtime;
use clients::Clients;
use nodes::{Clock, Context, DemoEvent, DemoNode};

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
/// service) instead of the local CPU. Without one, the configuration's `backend` is opened when
/// it names a local one; a remote one must come opened, as `iosv demo` does with its client
/// options.
pub fn run_with_verifier(
    cfg: &DemoConfig,
    progress: &dyn Progress,
    verifier: Option<Verifier>,
) -> anyhow::Result<DemoReport> {
    run_inner(cfg, progress, verifier, None)
}

/// [`run`] with the workload's signing, the setup, the shards' rounds (with their parallel
/// work) and the final checks on `pool` instead of rayon's global pool: for a benchmark that
/// holds a run to a number of cores. (Threads the run spawns do not inherit an installed pool,
/// so without this their parallel work would go to the global one. The call itself must not
/// run on `pool`: it waits for the run's threads, and a pool thread that waits serves no work.)
pub fn run_on_pool(
    cfg: &DemoConfig,
    progress: &dyn Progress,
    pool: Arc<rayon::ThreadPool>,
) -> anyhow::Result<DemoReport> {
    run_inner(cfg, progress, None, Some(pool))
}

/// Runs `f` on `pool` when there is one, else on this thread.
pub(super) fn on_pool<R: Send>(
    pool: Option<&rayon::ThreadPool>,
    f: impl FnOnce() -> R + Send,
) -> R {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

fn run_inner(
    cfg: &DemoConfig,
    progress: &dyn Progress,
    verifier: Option<Verifier>,
    pool: Option<Arc<rayon::ThreadPool>>,
) -> anyhow::Result<DemoReport> {
    cfg.validate()?;
    let verifier = match (verifier, &cfg.backend) {
        (Some(v), _) => Some(v),
        (None, None) => None,
        (None, Some(BackendSpec::Local(backend))) => {
            Some(Verifier::new(*backend).with_context(|| {
                format!("backend `{}` of the configuration", cfg.backend_name())
            })?)
        }
        (None, Some(BackendSpec::Remote(_))) => anyhow::bail!(
            "backend `{}` of the configuration: a remote backend is opened by `iosv demo` \
             (with its --spot-check, --remote-timeout-ms and mTLS flags), not here",
            cfg.backend_name()
        ),
    };
    let map = ShardMap::new(cfg.shards);
    let total = ((cfg.duration_s + cfg.warmup_s) * cfg.rate).round() as u64;
    let load = on_pool(pool.as_deref(), || {
        workload::generate(cfg, &|done| progress.generating(done, total))
    });
    let sent = load.arrivals.len() as u64;

    let reputation = Arc::new(Mutex::new(Reputation::new()));
    let genesis = load.genesis;
    let shards = on_pool(pool.as_deref(), || {
        setup::shards(cfg, map, genesis, &reputation, verifier.as_ref())
    })?;
    let supply_before: u128 = shards.iter().map(DemoShard::value).sum();
    let mut dir = Directory::new();
    for s in &shards {
        dir.update(s.atomix.info().clone());
    }
    let leagues: Vec<(LeagueMode, usize, usize)> = shards
        .iter()
        .map(|s| (s.mode, s.believable_ids().len(), s.normal_len()))
        .collect();

    let driven = drive(
        cfg,
        shards,
        &dir,
        &reputation,
        load.arrivals,
        pool.clone(),
        progress,
    )?;
    let mut shards = driven.shards;
    let clients = ClientsEnd::of(driven.clients, sent);
    let checks = on_pool(pool.as_deref(), || {
        invariants(cfg, &mut shards, &clients, supply_before)
    });

    let stats: Vec<ShardStats> = shards.iter().map(|s| s.stats.clone()).collect();
    // On the pool: the report reads the run's core count from the pool it runs on.
    let mut report = on_pool(pool.as_deref(), || {
        report::build(cfg, &stats, &clients.cross, &leagues, checks, driven.wall)
    });
    report.sent = sent;
    report.client_threads = driven.client_threads;
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
    clients: Vec<Clients<std::vec::IntoIter<Arrival>>>,
    wall: Duration,
    /// CPU time of the clients' work (releasing the load, Atomix clients), all client nodes.
    driver_cpu: Duration,
    /// Client nodes, each on its own thread.
    client_threads: u32,
    /// CPU time of the whole process over the phase (NaN where the platform has no such clock).
    process_cpu_s: f64,
}

/// Client nodes of a real-time run: the configuration's, or one per 8 cores (at least 1, at most
/// one per shard) — at ~0.3 µs of client work per transaction, one client thread carries
/// millions of transactions a second; more spread it where there are cores to spare.
pub fn client_threads(cfg: &DemoConfig) -> u32 {
    cfg.client_threads.unwrap_or_else(|| {
        let cores = u32::try_from(rayon::current_num_threads()).unwrap_or(u32::MAX);
        (cores / 8).clamp(1, cfg.shards.max(1))
    })
}

/// Phase 2: the load in real time — the same shard and client nodes as the simulated run
/// (`nodes`), each on its own thread of the real-time runner (`crate::runtime`), channels between
/// them: each shard runs a round every block interval (at once while it has a backlog), the
/// client nodes every quarter interval release due arrivals and carry the Atomix protocol. The
/// run stops once every client node released everything and settled and every shard reported
/// itself idle after the last of them, or when the drain limit passes.
fn drive(
    cfg: &DemoConfig,
    shards: Vec<DemoShard>,
    dir: &Directory,
    reputation: &Arc<Mutex<Reputation>>,
    arrivals: Vec<Arrival>,
    pool: Option<Arc<rayon::ThreadPool>>,
    progress: &dyn Progress,
) -> anyhow::Result<Driven> {
    let round_us = cfg.block_interval_ms * 1_000;
    let load_s = cfg.duration_s + cfg.warmup_s;
    let start = Instant::now();
    let ctx = Arc::new(Context {
        dir: dir.clone(),
        reputation: Arc::clone(reputation),
        round_us,
        tick_us: (round_us / 4).max(1_000),
        retransmit_us: 0,
        shards: cfg.shards,
        clients: on_pool(pool.as_deref(), || client_threads(cfg)),
        clock: Clock::Wall(start),
        pool,
    });
    let count = shards.len();
    let clients: Vec<_> = ctx
        .split_arrivals(arrivals)
        .into_iter()
        .map(|part| Clients::new(cfg, ShardMap::new(cfg.shards), part.into_iter()))
        .collect();
    let client_count = clients.len();
    let nodes = DemoNode::network(shards, clients, Arc::clone(&ctx));
    let cpu_at_start = process_cpu();
    let limit = Duration::from_secs_f64(load_s) + drain_limit(cfg);
    let mut finalized = vec![0u64; count];
    let mut shard_idle: Vec<Option<u64>> = vec![None; count];
    let mut clients_idle: Vec<Option<u64>> = vec![None; client_count];
    let mut error: Option<String> = None;
    let mut draining = false;
    let run = runtime::run_until(nodes, start, limit, |record| {
        match &record.output {
            DemoEvent::Round {
                shard,
                finalized: f,
                idle,
                ..
            } => {
                let s = *shard as usize;
                finalized[s] = *f;
                shard_idle[s] = idle.then_some(record.at);
            }
            DemoEvent::ClientsIdle => {
                let k = (record.node - cfg.shards) as usize;
                clients_idle[k] = Some(record.at);
            }
            DemoEvent::Error(e) => {
                error = Some(e.clone());
                return true;
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        progress.running(elapsed.min(load_s), load_s, finalized.iter().sum());
        if elapsed >= load_s && !draining {
            draining = true;
            progress.draining();
        }
        let last_idle = clients_idle
            .iter()
            .try_fold(0, |last: u64, c| c.map(|c| last.max(c)));
        last_idle.is_some_and(|c| shard_idle.iter().all(|t| t.is_some_and(|t| t >= c)))
    });
    if let Some(e) = error {
        anyhow::bail!("the clients stopped: {e}");
    }
    let wall = start.elapsed();
    let process_cpu_s = match (cpu_at_start, process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let mut shards = Vec::with_capacity(count);
    let mut ended_clients = Vec::with_capacity(client_count);
    let mut driver_cpu = Duration::ZERO;
    for node in run.nodes {
        match node {
            DemoNode::Shard { shard, .. } => shards.push(*shard),
            DemoNode::Clients { clients, cpu, .. } => {
                driver_cpu += cpu;
                ended_clients.push(*clients);
            }
        }
    }
    Ok(Driven {
        shards,
        clients: ended_clients,
        wall,
        driver_cpu,
        client_threads: ctx.clients,
        process_cpu_s,
    })
}

/// What the client nodes leave, together: of the `sent` transactions, the cross-shard ones
/// finished (`cross`: committed or aborted) and `in_flight` not.
struct ClientsEnd {
    sent: u64,
    cross: CrossStats,
    in_flight: usize,
}

impl ClientsEnd {
    fn of(
        clients: impl IntoIterator<Item = Clients<std::vec::IntoIter<Arrival>>>,
        sent: u64,
    ) -> ClientsEnd {
        let mut end = ClientsEnd {
            sent,
            cross: CrossStats::default(),
            in_flight: 0,
        };
        for c in clients {
            end.in_flight += c.in_flight();
            end.cross.absorb(c.cross);
        }
        end
    }
}

/// Phase 3: the invariants over the shards' final state and what the clients left.
fn invariants(
    cfg: &DemoConfig,
    shards: &mut [DemoShard],
    clients: &ClientsEnd,
    supply_before: u128,
) -> Invariants {
    let in_flight = clients.in_flight;
    let supply_after: u128 = shards.iter().map(DemoShard::value).sum();
    let fees: u64 = shards.iter().map(|s| s.stats.fees).sum();
    let atomix: Vec<&AtomixShard> = shards.iter().map(|s| &s.atomix).collect();
    let in_flight_commits = commits_in_flight(&atomix);
    let consistent: Vec<bool> = shards
        .par_iter_mut()
        .map(DemoShard::state_consistent)
        .collect();
    let caught_up: Vec<bool> = shards
        .par_iter_mut()
        .map(DemoShard::settle_finality)
        .collect();
    let locks_left: usize = shards.iter().map(|s| s.state().lock_count()).sum();
    let drained = in_flight == 0 && shards.iter().all(DemoShard::idle);
    let finalized: u64 = shards.iter().map(|s| s.stats.finals.len() as u64).sum();
    let refused: u64 = shards.iter().map(|s| s.stats.refused()).sum();
    Invariants {
        supply_before,
        supply_after,
        fees_burned: fees,
        commits_in_flight: in_flight_commits,
        supply_conserved: supply_before + in_flight_commits.to_remove
            == supply_after + in_flight_commits.to_create + u128::from(fees),
        no_double_spend: shards.iter().all(|s| s.stats.double_spends == 0),
        honest_agreement: shards.iter().all(DemoShard::finality_agreement),
        state_trees_consistent: consistent.iter().all(|&c| c),
        no_locks_left: locks_left == 0 && in_flight == 0,
        finality_caught_up: caught_up.iter().all(|&c| c),
        drained,
        all_accounted: !drained
            || clients.sent == finalized + clients.cross.finals.len() as u64 + refused,
        unfinished: in_flight as u64 + shards.iter().map(|s| s.queued() as u64).sum::<u64>(),
        drain_limit_s: drain_limit(cfg).as_secs_f64(),
    }
}
