//! The report as text: what limited the run ([`bound`]) and the human-readable [`summary`].

use super::{CpuPart, DemoReport};
use crate::demo::config::DemoConfig;

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
        "verification per tx: {:.3} signatures in all (believable {:.3}, normal league {:.3}, single league {:.3}, re-checks {:.3}, atomix {:.3}); per validator {:.4}; per normal validator {:.4} (p = {}); {} audits without a verdict",
        v.total_per_tx,
        v.believable_per_tx,
        v.normal_league_per_tx,
        v.single_league_per_tx,
        v.recheck_per_tx,
        v.atomix_per_tx,
        v.per_tx_per_validator,
        v.per_tx_per_normal_validator,
        r.config.policy.sampling_probability,
        v.verdicts_missing
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
        "finality: {} heights ({} by PBFT), {} faults injected, {} attempts retried, {:.1} hops per height",
        r.finality.heights,
        r.finality.pbft_heights,
        r.finality.faults_injected,
        r.finality.retries,
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
        format!(
            "clients, routing ({} thread{})",
            r.client_threads,
            if r.client_threads == 1 { "" } else { "s" }
        ),
        r.driver_cpu_s,
        r.process_cpu_s,
        r.process_cpu_s / (r.wall_s * r.cores as f64) * 100.0,
        r.cores,
        r.wall_s
    ));
    let rounds = &r.shard_rounds;
    line(format!(
        "shard rounds: {} rounds, {:.1} ms mean, {:.1} ms max, {} over the interval; busiest shard thread {:.0}% of a core, {:.2} serial µs/tx per shard => at most {:.0} tx/s at {} shards",
        rounds.rounds,
        rounds.mean_ms,
        rounds.max_ms,
        rounds.over_interval,
        rounds.busiest_thread_share * 100.0,
        rounds.serial_us_per_tx,
        rounds.bound_tps,
        r.leagues.len()
    ));
    line(format!("bound: {}", r.bound));
    let i = &r.invariants;
    line(format!(
        "invariants: supply conserved {} ({} commits in flight), no double spend {}, honest agreement {}, state trees consistent {}, no locks left {}, finality caught up {}, drained {}, all accounted {} (unfinished after at most {:.0} s of draining: {}) => {}",
        i.supply_conserved,
        i.commits_in_flight.transactions,
        i.no_double_spend,
        i.honest_agreement,
        i.state_trees_consistent,
        i.no_locks_left,
        i.finality_caught_up,
        i.drained,
        i.all_accounted,
        i.drain_limit_s,
        i.unfinished,
        if r.invariants_ok { "OK" } else { "VIOLATED" }
    ));
    s
}
