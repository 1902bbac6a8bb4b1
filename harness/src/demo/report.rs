//! The demo's report: throughput and latency (optimistic and final), verification work, frauds,
//! cross-shard outcomes, where the CPU time went, and the invariants.

use std::time::Duration;

use serde::Serialize;

use super::config::DemoConfig;
use super::run::CrossStats;
use super::stats::{ShardStats, Timing};
use crate::pob::LeagueMode;

/// Checked at the end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Invariants {
    pub supply_before: u128,
    pub supply_after: u128,
    /// Inputs minus outputs of finalized transactions (no one is paid fees in this model).
    pub fees_burned: u64,
    /// Every token is accounted for: genesis (stakes included) equals the final total plus the
    /// fees burned, compensation and seizures included.
    pub supply_conserved: bool,
    /// No outpoint spent twice by finalized blocks and cross-shard commits.
    pub no_double_spend: bool,
    /// Every live finality node of every shard finalized the same value at every height.
    pub honest_agreement: bool,
    /// Every shard's incrementally kept state tree equals one rebuilt from its set.
    pub state_trees_consistent: bool,
    /// No cross-shard lock left and no transaction in flight.
    pub no_locks_left: bool,
    pub finality_never_failed: bool,
    /// All work finished within the drain limit.
    pub drained: bool,
    /// Transactions still queued or in flight when the run stopped (0 when drained): in-shard
    /// transactions waiting in a shard, cross-shard transactions not yet committed or aborted.
    pub unfinished: u64,
    /// How long the run drained after the load ([`super::run::drain_limit`]).
    pub drain_limit_s: f64,
}

impl Invariants {
    pub fn ok(&self) -> bool {
        self.supply_conserved
            && self.no_double_spend
            && self.honest_agreement
            && self.state_trees_consistent
            && self.no_locks_left
            && self.finality_never_failed
            && self.drained
    }
}

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
    pub failures: u64,
    pub mean_hops: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct League {
    pub shard: u32,
    pub mode: LeagueMode,
    pub believable: usize,
    pub normal: usize,
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
    /// CPU seconds of the driver thread: the clients (arrivals, Atomix proofs) and the routing
    /// between shards.
    pub driver_cpu_s: f64,
    /// CPU seconds the whole process used while the load ran (all threads, every part).
    pub process_cpu_s: f64,
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
        failures: sum(|s| s.finality_failures),
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
        process_cpu_s: f64::NAN,
        bound,
        per_second,
        invariants,
        config: cfg.clone(),
    }
}

fn total_validators(cfg: &DemoConfig) -> usize {
    (0..cfg.shards).map(|s| cfg.validators_of(s)).sum()
}

/// What limits the run: the offered rate when it was carried, else the CPU parts.
pub fn bound(
    cfg: &DemoConfig,
    final_tps: f64,
    cpu: &[CpuPart],
    cores: usize,
    process_share: Option<f64>,
) -> String {
    let attributed: f64 = cpu.iter().map(|c| c.share_of_cores).sum();
    let busy = process_share.unwrap_or(attributed);
    let mut parts: Vec<&CpuPart> = cpu.iter().collect();
    parts.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let top: Vec<String> = parts
        .iter()
        .take(3)
        .map(|c| format!("{} {:.1} µs/tx", c.part, c.us_per_final_tx))
        .collect();
    let carried = final_tps >= 0.98 * cfg.rate;
    if carried {
        format!(
            "the offered rate ({:.0} tx/s) was carried; the {cores} cores were {:.0}% busy, \
             {:.0}% in the parts measured ({})",
            cfg.rate,
            busy * 100.0,
            attributed * 100.0,
            top.join(", ")
        )
    } else {
        format!(
            "finalized {:.0} of {:.0} tx/s offered ({:.1}% short); the {cores} cores were {:.0}% \
             busy, {:.0}% in the parts measured, most in {}",
            final_tps,
            cfg.rate,
            (1.0 - final_tps / cfg.rate) * 100.0,
            busy * 100.0,
            attributed * 100.0,
            top.join(", ")
        )
    }
}

/// The human-readable summary.
pub fn summary(r: &DemoReport) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "iosv demo: {} shards, {:.0} tx/s offered for {:.0} s (+{:.0} s warm-up), {} cores, wall {:.1} s",
        r.config.shards, r.offered_tps, r.measured_s, r.config.warmup_s, r.cores, r.wall_s
    ));
    for l in &r.leagues {
        line(format!(
            "  shard {}: {:?}, {} believable, {} normal",
            l.shard, l.mode, l.believable, l.normal
        ));
    }
    line(format!(
        "committed: optimistic {:.0} tx/s, final {:.0} tx/s ({} finalized in the window, {} in all, {} blocks)",
        r.optimistic_tps, r.final_tps, r.finalized_in_window, r.finalized_total, r.blocks
    ));
    for (name, l) in [
        ("optimistic", r.optimistic_latency),
        ("final", r.final_latency),
    ] {
        line(format!(
            "latency {name}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        ));
    }
    let v = &r.verification;
    line(format!(
        "verification per tx: {:.3} signatures in all (believable {:.3}, normal league {:.3}, single league {:.3}, re-checks {:.3}, atomix {:.3}); per validator {:.4}; per normal validator {:.4} (p = {})",
        v.total_per_tx,
        v.believable_per_tx,
        v.normal_league_per_tx,
        v.single_league_per_tx,
        v.recheck_per_tx,
        v.atomix_per_tx,
        v.per_tx_per_validator,
        v.per_tx_per_normal_validator,
        r.config.policy.sampling_probability
    ));
    let f = &r.frauds;
    line(format!(
        "frauds: {} injected, {} detected by sampling, {} more by the re-check, {} excluded before finality, {} found finalized (compensated {}), {} uncaught; {} dropped by honest validators, {} withheld after the expulsion; {} equivocations; slashed {}; seized {}",
        f.injected,
        f.detected_by_sampling,
        f.detected_by_recheck,
        f.excluded_before_finality,
        f.found_finalized_and_compensated,
        f.compensated,
        f.uncaught,
        f.dropped_by_honest_validators,
        f.withheld,
        f.equivocations,
        f.slashed.len(),
        f.seized
    ));
    let c = &r.cross_shard;
    line(format!(
        "cross-shard: {} committed, {} aborted, {} client crashes recovered {}, {} replays sent, {} refused, {} errors",
        c.committed,
        c.aborted,
        c.client_crashes,
        c.recovered,
        c.replays_sent,
        c.replays_refused,
        c.errors.len()
    ));
    line(format!(
        "finality: {} heights ({} by PBFT), {} faults injected, {} failures, {:.1} hops per height",
        r.finality.heights,
        r.finality.pbft_heights,
        r.finality.faults_injected,
        r.finality.failures,
        r.finality.mean_hops
    ));
    for c in &r.cpu {
        line(format!(
            "cpu {:<36} {:>7.2} s  {:>6.2} µs/tx  {:>5.1}% of cores",
            c.part,
            c.seconds,
            c.us_per_final_tx,
            c.share_of_cores * 100.0
        ));
    }
    line(format!(
        "cpu {:<36} {:>7.2} s; the process used {:.2} CPU s ({:.0}% of {} cores over {:.2} s)",
        "driver (clients, routing)",
        r.driver_cpu_s,
        r.process_cpu_s,
        r.process_cpu_s / (r.wall_s * r.cores as f64) * 100.0,
        r.cores,
        r.wall_s
    ));
    line(format!("bound: {}", r.bound));
    let i = &r.invariants;
    line(format!(
        "invariants: supply conserved {}, no double spend {}, honest agreement {}, state trees consistent {}, no locks left {}, finality never failed {}, drained {} (unfinished after at most {:.0} s of draining: {}) => {}",
        i.supply_conserved,
        i.no_double_spend,
        i.honest_agreement,
        i.state_trees_consistent,
        i.no_locks_left,
        i.finality_never_failed,
        i.drained,
        i.drain_limit_s,
        i.unfinished,
        if r.invariants_ok { "OK" } else { "VIOLATED" }
    ));
    s
}
