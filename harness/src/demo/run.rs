//! The demo's driver: sets up shards, validators and leagues, releases the load in real time,
//! runs every shard's rounds in parallel, carries Atomix messages between shards and clients,
//! and checks the invariants at the end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use iosv_engine::sig::Verifier;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxOutput};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::config::{DemoConfig, Fault};
use super::report::{self, DemoReport};
use super::shard::{DemoShard, Member, RoundOutput, ShardSetup};
use super::stats::ShardStats;
use super::workload::{self, Arrival, Kind};
use crate::atomix::{
    AtomixClient, Certificate, ClientAction, Directory, Outcome, ShardId, ShardMap,
};
use crate::pob::{self, LeagueMode, Reputation, Ticket};

/// How long the driver keeps going after the last arrival to finish pending work.
/// How long a run drains after its load ends before it stops and reports what was left as
/// unfinished: as long as the measured load, at least 5 s (a few finality rounds) and at most
/// 30 s, so the whole run takes at most warm-up + duration + 30 s after its workload is signed.
pub fn drain_limit(cfg: &DemoConfig) -> Duration {
    Duration::from_secs_f64(cfg.duration_s.clamp(5.0, 30.0))
}

/// Stake of validator `i` of a shard (distinct, so scores differ).
fn stake(i: usize) -> u64 {
    100_000 * (1 + i as u64)
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

fn member_seed(seed: u64, shard: ShardId, i: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(crate::domain::DEMO_VALIDATOR);
    h.update(seed.to_le_bytes());
    h.update(shard.to_le_bytes());
    h.update((i as u64).to_le_bytes());
    h.finalize().into()
}

fn stake_point(map: &ShardMap, member: &Member, shard: ShardId) -> OutPoint {
    workload::outpoint_in(map, shard, &[crate::domain::DEMO_STAKE, &member.id])
}

/// The epoch's randomness. The harness's DRP (`iosv drp`) produces it in the protocol; the demo
/// runs one epoch and derives it from the seed so that runs repeat.
pub fn epoch_randomness(seed: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(crate::domain::DEMO_EPOCH_RANDOMNESS);
    h.update(seed.to_le_bytes());
    h.finalize().into()
}

/// A cross-shard transaction in flight.
struct Flight {
    client: AtomixClient,
    arrived_us: u64,
    /// Finishes still to be applied.
    pending: usize,
    /// Its client crashes after the locks (a fault): a fresh one recovers it next round.
    crashes: bool,
    replay: bool,
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
    let randomness = epoch_randomness(cfg.seed);

    // Validators, stakes, reputation, and each shard's league draw.
    let reputation = Mutex::new(Reputation::new());
    let mut setups = Vec::new();
    let mut genesis = load.genesis;
    for shard in 0..cfg.shards {
        let members: Vec<Member> = (0..cfg.validators_of(shard))
            .map(|i| Member::new(member_seed(cfg.seed, shard, i)))
            .collect();
        let stakes = iosv_engine::utxo::UtxoSet::new();
        for (i, m) in members.iter().enumerate() {
            let output = TxOutput {
                amount: stake(i),
                owner: m.id,
            };
            let point = stake_point(&map, m, shard);
            genesis[shard as usize].push((point, output));
            stakes.insert_genesis(point, output)?;
            reputation.lock().expect("not poisoned").register(m.id);
        }
        let pob_members: Vec<pob::Member> = members
            .iter()
            .map(|m| pob::Member {
                id: m.id,
                vrf_key: m.vrf.public().to_bytes(),
            })
            .collect();
        let candidates = pob::candidates(
            &pob_members,
            &reputation.lock().expect("not poisoned"),
            &stakes,
            &cfg.policy.weights,
        );
        let tickets: Vec<Ticket> = members
            .iter()
            .map(|m| Ticket::draw(&m.vrf, 0, shard, &randomness))
            .collect();
        let assignment = pob::assign(&cfg.policy, 0, shard, &randomness, &candidates, &tickets)?;
        pob::verify_assignment(&cfg.policy, &randomness, &candidates, &tickets, &assignment)?;
        let index_of = |id: &[u8; 32]| members.iter().position(|m| &m.id == id);
        let believable: Vec<usize> = assignment.believable.iter().filter_map(index_of).collect();
        let normal: Vec<usize> = assignment.normal.iter().filter_map(index_of).collect();
        setups.push(ShardSetup {
            id: shard,
            map,
            members,
            mode: assignment.mode,
            believable,
            normal,
            genesis: std::mem::take(&mut genesis[shard as usize]),
        });
    }
    let shards: Vec<DemoShard> = setups
        .into_par_iter()
        .map(|setup| DemoShard::new(setup, cfg, verifier.as_ref()))
        .collect::<anyhow::Result<_>>()?;
    let supply_before: u128 = shards.iter().map(DemoShard::value).sum();
    let mut dir = Directory::new();
    for s in &shards {
        dir.update(s.atomix.info().clone());
    }
    let leagues: Vec<(LeagueMode, usize, usize)> = shards
        .iter()
        .map(|s| (s.mode, s.believable_ids().len(), s.normal_len()))
        .collect();

    let crash_every = cfg.faults.iter().find_map(|f| match *f {
        Fault::ClientCrashAfterLock { every } => Some(every),
        _ => None,
    });
    let replay_every = cfg.faults.iter().find_map(|f| match *f {
        Fault::ReplayAtomixProofs { every } => Some(every),
        _ => None,
    });

    // The load, in real time: one thread per shard running its rounds on its own clock (no
    // shard waits for another), and this thread as the clients and the network between shards.
    let mut arrivals = load.arrivals.into_iter().peekable();
    let mut flights: HashMap<TxId, Flight> = HashMap::new();
    let mut recover: Vec<TxId> = Vec::new();
    let mut cross = CrossStats::default();
    let interval = Duration::from_millis(cfg.block_interval_ms);
    let tick = (interval / 4).max(Duration::from_millis(1));
    let load_s = cfg.duration_s + cfg.warmup_s;
    let mut drain_started: Option<Instant> = None;
    let mut cross_seen = 0u64;
    let mut client_cache = crate::atomix::VerifiedBatches::new();
    let mut proofs: HashMap<TxId, Vec<crate::atomix::AtomixProof>> = HashMap::new();
    let cells: Vec<Mutex<DemoShard>> = shards.into_iter().map(Mutex::new).collect();
    let lock = |i: usize| cells[i].lock().expect("a shard thread panicked");
    let stop = AtomicBool::new(false);
    let (out_tx, out_rx) = crossbeam::channel::unbounded::<RoundOutput>();
    let cpu_at_start = super::stats::process_cpu();
    let start = Instant::now();
    let now = || start.elapsed().as_micros() as u64;
    let driver_clock = super::stats::Stopwatch::start();
    let result: anyhow::Result<()> = std::thread::scope(|scope| {
        for cell in &cells {
            let out_tx = out_tx.clone();
            let (stop, dir, reputation, now) = (&stop, &dir, &reputation, &now);
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
                let t = now();
                let mut inboxes: Vec<Vec<Arrival>> = vec![Vec::new(); cells.len()];
                let mut locks: Vec<Vec<Transaction>> = vec![Vec::new(); cells.len()];
                while let Some(a) = arrivals.next_if(|a| a.at_us <= t) {
                    match a.kind {
                        Kind::CrossShard => {
                            cross_seen += 1;
                            let client = AtomixClient::new(a.tx, &map)?;
                            for action in client.start() {
                                if let ClientAction::Lock { shard, tx } = action {
                                    locks[shard as usize].push(tx);
                                }
                            }
                            flights.insert(
                                a.txid,
                                Flight {
                                    client,
                                    arrived_us: a.at_us,
                                    pending: 0,
                                    crashes: crash_every
                                        .is_some_and(|k| cross_seen.is_multiple_of(k)),
                                    replay: replay_every
                                        .is_some_and(|k| cross_seen.is_multiple_of(k)),
                                },
                            );
                        }
                        Kind::InShard | Kind::Invalid => {
                            let s = a.shard as usize;
                            inboxes[s].push(a);
                        }
                    }
                }
                // Recovery of the transactions whose clients crashed: a fresh client asks again.
                for txid in std::mem::take(&mut recover) {
                    if let Some(f) = flights.get_mut(&txid) {
                        f.client = AtomixClient::new(f.client.tx().clone(), &map)?;
                        f.crashes = false;
                        cross.recovered += 1;
                        for action in f.client.start() {
                            if let ClientAction::Lock { shard, tx } = action {
                                locks[shard as usize].push(tx);
                            }
                        }
                    }
                }
                // What the shards finished since the last tick.
                let t = now();
                for out in out_rx.try_iter() {
                    for (txid, outcome) in out.finished {
                        if let Some(f) = flights.get_mut(&txid) {
                            f.pending = f.pending.saturating_sub(1);
                            if f.pending == 0 {
                                match outcome {
                                    Outcome::Committed => cross.committed += 1,
                                    Outcome::Aborted => cross.aborted += 1,
                                }
                                cross.finals.push((f.arrived_us, t));
                                flights.remove(&txid);
                            }
                        }
                    }
                    for proof in out.proofs {
                        proofs.entry(proof.statement.txid).or_default().push(proof);
                    }
                }
                // Each client checks its own proofs; the simulated clients share one cache of
                // verified batch signatures (every distinct collective signature is verified
                // once, by the first client holding a proof from that batch; the inclusion
                // proofs are checked per client).
                let mut finishes: Vec<Vec<(Transaction, Certificate)>> =
                    vec![Vec::new(); cells.len()];
                for (txid, ps) in proofs.drain() {
                    let Some(f) = flights.get_mut(&txid) else {
                        continue;
                    };
                    if f.crashes {
                        if !recover.contains(&txid) {
                            recover.push(txid);
                            cross.client_crashes += 1;
                        }
                        continue;
                    }
                    for proof in ps {
                        match f.client.on_proof_cached(proof, &dir, &mut client_cache) {
                            Ok(actions) => {
                                for action in actions {
                                    if let ClientAction::Finish {
                                        shard,
                                        tx,
                                        certificate,
                                    } = action
                                    {
                                        f.pending += 1;
                                        if f.replay {
                                            finishes[shard as usize]
                                                .push((tx.clone(), certificate.clone()));
                                            cross.replays_sent += 1;
                                        }
                                        finishes[shard as usize].push((tx, certificate));
                                    }
                                }
                            }
                            Err(e) => cross.errors.push(e.to_string()),
                        }
                    }
                }
                for (i, ((inbox, locks), finishes)) in
                    inboxes.into_iter().zip(locks).zip(finishes).enumerate()
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
                    + cross.finals.len() as u64;
                let elapsed = start.elapsed().as_secs_f64();
                progress.running(elapsed.min(load_s), load_s, finalized);
                if arrivals.peek().is_none() {
                    if flights.is_empty()
                        && recover.is_empty()
                        && (0..cells.len()).all(|i| lock(i).idle())
                    {
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
    let process_cpu_s = match (cpu_at_start, super::stats::process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let mut shards: Vec<DemoShard> = cells
        .into_iter()
        .map(|c| c.into_inner().expect("no shard thread panicked"))
        .collect();

    // Invariants.
    let supply_after: u128 = shards.iter().map(DemoShard::value).sum();
    let fees: u64 = shards.iter().map(|s| s.stats.fees).sum();
    let agreement = shards.iter().all(DemoShard::finality_agreement);
    let consistent: Vec<bool> = shards
        .par_iter_mut()
        .map(DemoShard::state_consistent)
        .collect();
    let locks_left: usize = shards.iter().map(|s| s.state().lock_count()).sum();
    let stats: Vec<ShardStats> = shards.iter().map(|s| s.stats.clone()).collect();
    let checks = report::Invariants {
        supply_before,
        supply_after,
        fees_burned: fees,
        supply_conserved: supply_before == supply_after + u128::from(fees),
        no_double_spend: stats.iter().all(|s| s.double_spends == 0),
        honest_agreement: agreement,
        state_trees_consistent: consistent.iter().all(|&c| c),
        no_locks_left: locks_left == 0 && flights.is_empty(),
        finality_never_failed: stats.iter().all(|s| s.finality_failures == 0),
        drained: flights.is_empty() && shards.iter().all(DemoShard::idle),
        unfinished: flights.len() as u64 + shards.iter().map(|s| s.queued() as u64).sum::<u64>(),
        drain_limit_s: drain_limit(cfg).as_secs_f64(),
    };
    let mut report = report::build(cfg, &stats, &cross, &leagues, checks, wall);
    report.sent = sent;
    report.driver_cpu_s = driver_cpu.as_secs_f64();
    report.process_cpu_s = process_cpu_s;
    report.bound = report::bound(
        cfg,
        report.final_tps,
        &report.cpu,
        report.cores,
        process_cpu_s
            .is_finite()
            .then(|| process_cpu_s / (report.wall_s * report.cores as f64)),
    );
    Ok(report)
}

/// The driver's count of cross-shard transactions.
#[derive(Clone, Debug, Default)]
pub struct CrossStats {
    pub committed: u64,
    pub aborted: u64,
    pub client_crashes: u64,
    pub recovered: u64,
    pub replays_sent: u64,
    /// (arrival, last finish) per finished transaction, µs.
    pub finals: Vec<(u64, u64)>,
    pub errors: Vec<String>,
}
