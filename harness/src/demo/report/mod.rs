//! The demo's report: throughput and latency (optimistic and final), verification work, frauds,
//! cross-shard outcomes, where the CPU time went, and the invariants. This file holds the report's
//! data and how it is built from a run's statistics; `text` what limits the run and the summary.

use std::time::Duration;

use serde::Serialize;

use super::config::DemoConfig;
use super::run::CrossStats;
use super::stats::{ShardStats, Timing};
use crate::pob::LeagueMode;

mod invariants;
mod text;

pub use invariants::Invariants;
pub use text::{bound, summary};

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn latency(mut samples: Vec<u64>) -> Latency {
    if samples.is_empty() {
        return Latency::default();
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i] as f64 / 1_000.0
    };
    Latency {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: *samples.last().expect("non-empty") as f64 / 1_000.0,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// Signatures checked per finalized transaction by each kind of work.
    pub believable_per_tx: f64,
    pub normal_league_per_tx: f64,
    pub single_league_per_tx: f64,
    pub recheck_per_tx: f64,
    pub atomix_per_tx: f64,
    pub total_per_tx: f64,
    /// Validators in all shards.
    pub validators: usize,
    /// `total_per_tx` spread over the validators: the average validator's share of a
    /// transaction's verification.
    pub per_tx_per_validator: f64,
    /// What one normal validator checks per transaction of its shard (≈ p × signatures per tx).
    pub per_tx_per_normal_validator: f64,
    pub sampled_fraction: f64,
    /// Audits that gave no verdict in time (a lost block, a crashed auditor).
    pub verdicts_missing: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Frauds {
    pub injected: u64,
    pub detected_by_sampling: u64,
    pub detected_by_recheck: u64,
    pub excluded_before_finality: u64,
    pub found_finalized_and_compensated: u64,
    pub uncaught: u64,
    pub equivocations: u64,
    pub slashed: Vec<String>,
    pub seized: u64,
    pub compensated: u64,
    pub proofs_verified: u64,
    pub proof_bytes: usize,
    pub dropped_by_honest_validators: u64,
    /// Forgeries not sent because the colluding validator had been expelled.
    pub withheld: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cross {
    pub committed: u64,
    pub aborted: u64,
    pub client_crashes: u64,
    pub recovered: u64,
    pub replays_sent: u64,
    pub replays_refused: u64,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finality {
    pub heights: u64,
    pub pbft_heights: u64,
    pub faults_injected: u64,
    /// Attempts that missed their deadline and were resumed the next round.
    pub retries: u64,
    /// Virtual hops per finalized height, retries included.
    pub mean_hops: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct League {
    pub shard: u32,
    pub mode: LeagueMode,
    pub believable: usize,
    pub normal: usize,
}

/// The shards' rounds on their own threads (`stats::RoundTimes` summed): what each shard does
/// serially, whatever the cores. A shard whose thread is busy for the whole run cannot take more
/// load; more shards spread it.
#[derive(Clone, Debug, Serialize)]
pub struct ShardRounds {
    pub rounds: u64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Rounds that took longer than the block interval.
    pub over_interval: u64,
    /// The busiest shard thread's CPU time over the run's wall time: the share of one core its
    /// serial step took at this rate.
    pub busiest_thread_share: f64,
    /// That thread's CPU per finalized transaction as if the load were spread evenly over the
    /// shards (its CPU × shards / finalized): the serial µs one shard spends per transaction.
    pub serial_us_per_tx: f64,
    /// Finalized tx/s the shards' serial steps allow at this shard count (shards / serial µs per
    /// transaction), each shard on a core of its own; 0 when no round ran.
    pub bound_tps: f64,
}

impl ShardRounds {
    fn of(stats: &[ShardStats], wall: Duration, finalized: u64) -> ShardRounds {
        let rounds: u64 = stats.iter().map(|s| s.round_times.rounds).sum();
        let wall_sum: Duration = stats.iter().map(|s| s.round_times.wall).sum();
        let busiest = stats
            .iter()
            .map(|s| s.round_times.thread_cpu)
            .max()
            .unwrap_or_default();
        let serial_us_per_tx =
            busiest.as_secs_f64() * 1e6 * stats.len() as f64 / finalized.max(1) as f64;
        ShardRounds {
            rounds,
            mean_ms: wall_sum.as_secs_f64() * 1e3 / rounds.max(1) as f64,
            max_ms: stats
                .iter()
                .map(|s| s.round_times.wall_max)
                .max()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            over_interval: stats.iter().map(|s| s.round_times.over_interval).sum(),
            busiest_thread_share: busiest.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            serial_us_per_tx,
            bound_tps: if serial_us_per_tx > 0.0 {
                stats.len() as f64 * 1e6 / serial_us_per_tx
            } else {
                0.0
            },
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CpuPart {
    pub part: &'static str,
    pub seconds: f64,
    pub us_per_final_tx: f64,
    /// Share of all cores over the run's wall time.
    pub share_of_cores: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PerSecond {
    pub second: u64,
    pub finalized: u64,
    pub final_p99_ms: f64,
}

/// Everything a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct DemoReport {
    pub final_tps: f64,
    pub optimistic_tps: f64,
    pub final_p99_ms: f64,
    pub invariants_ok: bool,
    pub offered_tps: f64,
    pub measured_s: f64,
    pub wall_s: f64,
    pub cores: usize,
    pub optimistic_latency: Latency,
    pub final_latency: Latency,
    /// Transactions the clients sent (double spends included).
    pub sent: u64,
    pub finalized_in_window: u64,
    /// Transactions finalized (cross-shard ones once committed or aborted everywhere).
    pub finalized_total: u64,
    pub blocks: u64,
    pub verification: Verification,
    pub frauds: Frauds,
    pub cross_shard: Cross,
    pub finality: Finality,
    pub leagues: Vec<League>,
    pub cpu: Vec<CpuPart>,
    /// CPU seconds of the client nodes' threads together: releasing the arrivals, the Atomix
    /// clients (proofs in, finishes out) and the routing to the shards.
    pub driver_cpu_s: f64,
    /// Client nodes, each on its own thread.
    pub client_threads: u32,
    /// CPU seconds the whole process used while the load ran (all threads, every part).
    pub process_cpu_s: f64,
    /// The shards' rounds on their own threads: the serial step each shard adds.
    pub shard_rounds: ShardRounds,
    pub bound: String,
    pub per_second: Vec<PerSecond>,
    pub invariants: Invariants,
    pub config: DemoConfig,
}

fn in_window(t: u64, from: u64, to: u64) -> bool {
    t >= from && t < to
}

/// Assembles the report.
pub fn build(
    cfg: &DemoConfig,
    stats: &[ShardStats],
    cross: &CrossStats,
    leagues: &[(LeagueMode, usize, usize)],
    invariants: Invariants,
    wall: Duration,
) -> DemoReport {
    let from = (cfg.warmup_s * 1e6) as u64;
    let to = ((cfg.warmup_s + cfg.duration_s) * 1e6) as u64;
    let finals: Vec<(u64, u64)> = stats
        .iter()
        .flat_map(|s| s.finals.iter().copied())
        .chain(cross.finals.iter().copied())
        .collect();
    let optimistic: Vec<(u64, u64)> = stats
        .iter()
        .flat_map(|s| s.optimistic.iter().copied())
        .collect();
    let count_in = |v: &[(u64, u64)]| v.iter().filter(|(_, at)| in_window(*at, from, to)).count();
    let final_in = count_in(&finals) as u64;
    let opt_in = count_in(&optimistic) as u64;
    let lat = |v: &[(u64, u64)]| {
        latency(
            v.iter()
                .filter(|(arr, _)| in_window(*arr, from, to))
                .map(|(arr, at)| at.saturating_sub(*arr))
                .collect(),
        )
    };
    let final_latency = lat(&finals);
    let optimistic_latency = lat(&optimistic);
    let finalized_total = finals.len() as u64;
    let sum = |f: fn(&ShardStats) -> u64| stats.iter().map(f).sum::<u64>();
    let per = |x: u64| x as f64 / finalized_total.max(1) as f64;
    let total_sigs = sum(|s| s.sig_checks_believable)
        + sum(|s| s.sig_checks_normal)
        + sum(|s| s.sig_checks_single_league)
        + sum(|s| s.sig_checks_recheck)
        + sum(|s| s.sig_checks_atomix);
    let normal_members: usize = leagues
        .iter()
        .filter(|(m, _, _)| *m == LeagueMode::TwoLeagues)
        .map(|(_, _, n)| *n)
        .sum();
    let two_league_txs = sum(|s| s.sig_checks_believable).max(1);
    let verification = Verification {
        believable_per_tx: per(sum(|s| s.sig_checks_believable)),
        normal_league_per_tx: per(sum(|s| s.sig_checks_normal)),
        single_league_per_tx: per(sum(|s| s.sig_checks_single_league)),
        recheck_per_tx: per(sum(|s| s.sig_checks_recheck)),
        atomix_per_tx: per(sum(|s| s.sig_checks_atomix)),
        total_per_tx: per(total_sigs),
        validators: total_validators(cfg),
        per_tx_per_validator: per(total_sigs) / total_validators(cfg).max(1) as f64,
        per_tx_per_normal_validator: sum(|s| s.sig_checks_normal) as f64
            / two_league_txs as f64
            / (normal_members as f64 / leagues.len().max(1) as f64).max(1.0),
        sampled_fraction: sum(|s| s.sampled_txs) as f64 / two_league_txs as f64,
        verdicts_missing: sum(|s| s.verdicts_missing),
    };
    let injected = sum(|s| s.frauds_injected);
    let excluded = sum(|s| s.frauds_excluded);
    let found = sum(|s| s.frauds_found_finalized);
    let frauds = Frauds {
        injected,
        detected_by_sampling: sum(|s| s.frauds_detected_by_sampling),
        detected_by_recheck: sum(|s| s.frauds_detected_by_recheck),
        excluded_before_finality: excluded,
        found_finalized_and_compensated: found,
        uncaught: injected.saturating_sub(excluded + found),
        equivocations: sum(|s| s.equivocations_detected),
        slashed: stats.iter().flat_map(|s| s.slashed.clone()).collect(),
        seized: sum(|s| s.seized),
        compensated: sum(|s| s.compensated),
        proofs_verified: sum(|s| s.fraud_proofs_verified),
        proof_bytes: stats.iter().map(|s| s.fraud_proof_bytes).max().unwrap_or(0),
        dropped_by_honest_validators: sum(|s| s.dropped_invalid),
        withheld: sum(|s| s.forgeries_withheld),
    };
    let mut errors = cross.errors.clone();
    errors.extend(stats.iter().flat_map(|s| s.atomix_errors.clone()));
    let cross_shard = Cross {
        committed: cross.committed,
        aborted: cross.aborted,
        client_crashes: cross.client_crashes,
        recovered: cross.recovered,
        replays_sent: cross.replays_sent,
        replays_refused: sum(|s| s.atomix_replays_refused),
        errors,
    };
    let heights = sum(|s| s.finality_heights);
    let finality = Finality {
        heights,
        pbft_heights: sum(|s| s.pbft_heights),
        faults_injected: sum(|s| s.finality_faults),
        retries: sum(|s| s.finality_retries),
        mean_hops: sum(|s| s.finality_virtual_ticks) as f64 / heights.max(1) as f64,
    };
    let mut timing = Timing::default();
    for s in stats {
        timing.add(&s.timing);
    }
    let cores = rayon::current_num_threads();
    let wall_s = wall.as_secs_f64();
    let cpu: Vec<CpuPart> = timing
        .parts()
        .iter()
        .map(|(part, d)| CpuPart {
            part,
            seconds: d.as_secs_f64(),
            us_per_final_tx: d.as_secs_f64() * 1e6 / finalized_total.max(1) as f64,
            share_of_cores: d.as_secs_f64() / (wall_s * cores as f64),
        })
        .collect();
    let final_tps = final_in as f64 / cfg.duration_s;
    let bound = bound(cfg, final_tps, &cpu, cores, None);
    let seconds = to.div_ceil(1_000_000);
    let per_second = (0..seconds)
        .map(|sec| {
            let (a, b) = (sec * 1_000_000, (sec + 1) * 1_000_000);
            let here: Vec<u64> = finals
                .iter()
                .filter(|(_, at)| in_window(*at, a, b))
                .map(|(arr, at)| at - arr)
                .collect();
            PerSecond {
                second: sec,
                finalized: here.len() as u64,
                final_p99_ms: latency(here).p99_ms,
            }
        })
        .collect();
    DemoReport {
        final_tps,
        optimistic_tps: opt_in as f64 / cfg.duration_s,
        final_p99_ms: final_latency.p99_ms,
        invariants_ok: invariants.ok(),
        offered_tps: cfg.rate,
        measured_s: cfg.duration_s,
        wall_s,
        cores,
        optimistic_latency,
        final_latency,
        sent: 0,
        finalized_in_window: final_in,
        finalized_total,
        blocks: sum(|s| s.blocks),
        verification,
        frauds,
        cross_shard,
        finality,
        leagues: leagues
            .iter()
            .enumerate()
            .map(|(i, (mode, b, n))| League {
                shard: i as u32,
                mode: *mode,
                believable: *b,
                normal: *n,
            })
            .collect(),
        cpu,
        driver_cpu_s: 0.0,
        client_threads: 1,
        process_cpu_s: f64::NAN,
        shard_rounds: ShardRounds::of(stats, wall, finalized_total),
        bound,
        per_second,
        invariants,
        config: cfg.clone(),
    }
}

fn total_validators(cfg: &DemoConfig) -> usize {
    (0..cfg.shards).map(|s| cfg.validators_of(s)).sum()
}
