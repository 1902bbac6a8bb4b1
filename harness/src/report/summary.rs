//! `summary.md`: Markdown tables made from a report's data.

use std::fmt::Write;

use crate::bench::cosi::CosiReport;
use crate::bench::gpu::GpuReport;
use crate::bench::harness::{HarnessReport, HarnessScaling};
use crate::bench::pipeline::{PipelineBenchReport, Scaling};
use crate::bench::sigverify::SigverifyReport;
use crate::bench::utxo::UtxoReport;

use super::BenchReport;
use super::plots::COSI_VERIFY_GROUPS;

pub fn markdown(report: &BenchReport) -> String {
    let m = &report.machine;
    let mut s = String::new();
    let _ = writeln!(s, "# iosv benchmarks, {}\n", report.date);
    let _ = writeln!(s, "| machine | |\n|---|---|");
    let _ = writeln!(s, "| CPU | {} |", m.cpu_model);
    let _ = writeln!(
        s,
        "| cores | {} ({} available to the run) |",
        m.cores, m.cores_available
    );
    let memory = m.total_memory_bytes.map_or_else(
        || "unknown".to_string(),
        |b| format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
    );
    let _ = writeln!(s, "| memory | {memory} |");
    let _ = writeln!(s, "| OS | {} |", m.os);
    let _ = writeln!(s, "| rustc | {} |", m.rustc);
    let _ = writeln!(s, "| curve backend | {} |", m.curve_backend);
    let _ = writeln!(s, "| GPU adapter | {} |", m.gpu_adapter);
    if let Some(sv) = &report.sigverify {
        sigverify(&mut s, sv);
    }
    if let Some(cosi) = &report.cosi {
        cosi_table(&mut s, cosi);
    }
    if let Some(utxo) = &report.utxo {
        utxo_table(&mut s, utxo);
    }
    if let Some(p) = &report.pipeline {
        pipeline_table(&mut s, p);
    }
    if let Some(g) = &report.gpu {
        gpu_table(&mut s, g);
    }
    if let Some(h) = &report.harness {
        harness_table(&mut s, h);
    }
    s
}

fn harness_table(s: &mut String, h: &HarnessReport) {
    if let Some(scaling) = &h.scaling {
        harness_scaling_table(s, h, scaling);
    }
    if h.points.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n## Protocol harness (`iosv demo`)\n\n{} shards, {} validators each, p = {}, {:.0}% cross-shard; \
         {} run(s) of {:.0} s (+{:.0} s warm-up) per offered rate; medians (min–max).\n",
        h.config.shards,
        h.config.validators_per_shard,
        h.config.policy.sampling_probability,
        h.config.cross_shard_fraction * 100.0,
        h.plan.runs,
        h.plan.duration_s,
        h.plan.warmup_s
    );
    let _ = writeln!(
        s,
        "| offered tx/s | finalized tx/s | optimistic tx/s | final p50 ms | final p99 ms | optimistic p99 ms | signatures per tx | invariants |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for p in &h.points {
        let _ = writeln!(
            s,
            "| {:.0} | {:.0} ({:.0}–{:.0}) | {:.0} | {:.1} | {:.1} ({:.1}–{:.1}) | {:.1} | {:.3} | {} |",
            p.offered_tps,
            p.final_tps.median,
            p.final_tps.min,
            p.final_tps.max,
            p.optimistic_tps.median,
            p.final_p50_ms.median,
            p.final_p99_ms.median,
            p.final_p99_ms.min,
            p.final_p99_ms.max,
            p.optimistic_p99_ms.median,
            p.signatures_per_tx.median,
            if p.invariants_ok { "ok" } else { "VIOLATED" }
        );
    }
}

fn harness_scaling_table(s: &mut String, h: &HarnessReport, scaling: &HarnessScaling) {
    let _ = writeln!(
        s,
        "\n## Protocol harness (`iosv demo`) by core count\n\n{} shards, {} validators each, offered \
         {:.0} tx/s at every core count (the process held to it, rayon's pool sized to it); {} run(s) \
         of {:.0} s (+{:.0} s warm-up) each; medians (min–max).\n",
        h.config.shards,
        h.config.validators_per_shard,
        scaling.offered_tps,
        h.plan.runs,
        h.plan.duration_s,
        h.plan.warmup_s
    );
    let _ = writeln!(
        s,
        "| cores | finalized tx/s | CPU µs per finalized tx | driver thread µs per finalized tx | safety invariants | drained |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---|---|");
    for p in &scaling.points {
        let _ = writeln!(
            s,
            "| {} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.3} | {} | {} |",
            p.cores,
            p.final_tps.median,
            p.final_tps.min,
            p.final_tps.max,
            p.cpu_us_per_final_tx.median,
            p.driver_us_per_final_tx.median,
            if p.safe { "ok" } else { "VIOLATED" },
            if p.drained { "yes" } else { "no (backlog)" }
        );
    }
    let _ = writeln!(
        s,
        "\nSpeed-up, largest over smallest core count: {:.2}x. The driver thread takes {:.3} µs per \
         finalized transaction at the largest count. Upper bound from this breakdown (the lower of \
         the driver's ceiling and cores / CPU time per finalized transaction): {:.0} tx/s on 16 \
         cores, {:.0} on 64.",
        scaling.speedup, scaling.driver_us_per_tx, scaling.bound_16_cores, scaling.bound_64_cores
    );
}

fn gpu_table(s: &mut String, g: &GpuReport) {
    let _ = writeln!(
        s,
        "\n## GPU against CPU\n\nAdapter: {} ({}, {} {}){}; {} field kernels, {} windows per dispatch, chunks of {}; messages of {} bytes; medians.\n",
        g.adapter.name,
        g.adapter.backend,
        g.adapter.driver,
        g.adapter.driver_info,
        if g.software_adapter {
            " — a software adapter: correctness, not GPU speed"
        } else {
            ""
        },
        g.field,
        g.windows_per_dispatch,
        g.max_chunk,
        g.message_len
    );
    let _ = writeln!(
        s,
        "| batch | GPU sig/s | GPU kernels alone | CPU 1 thread | CPU {} threads | upload ms | kernels ms | read-back ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|",
        g.cpu_threads
    );
    for p in &g.points {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.0} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            p.batch,
            p.gpu_sigs_per_sec.median,
            p.gpu_kernel_sigs_per_sec,
            p.cpu_one_thread_sigs_per_sec
                .as_ref()
                .map_or("—".to_string(), |s| format!("{:.0}", s.median)),
            p.cpu_all_threads_sigs_per_sec.median,
            p.gpu_time_split_ms.upload,
            p.gpu_time_split_ms.kernels,
            p.gpu_time_split_ms.readback
        );
    }
    let _ = writeln!(
        s,
        "\nCrossover (GPU beats all CPU threads from): {}",
        g.crossover_batch.map_or_else(
            || "never at these sizes".to_string(),
            |b| format!("batch {b}")
        )
    );
}

fn utxo_table(s: &mut String, report: &UtxoReport) {
    let _ = writeln!(
        s,
        "\n## UTXO set, state commitment and fraud proofs\n\n{} entries, blocks of {} \
         transactions; median (min – max) over the samples.\n",
        report.plan.entries, report.plan.block
    );
    let _ = writeln!(
        s,
        "| measurement | median | min – max | unit |\n|---|---:|---:|---|"
    );
    for m in &report.measurements {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.0} – {:.0} | {} |",
            m.what, m.value.median, m.value.min, m.value.max, m.unit
        );
    }
}

fn pipeline_table(s: &mut String, p: &PipelineBenchReport) {
    let _ = writeln!(
        s,
        "\n## Pipeline\n\n{} transactions per run (one signature each, all verified), {} runs, \
         {} decode / {} verify / {} UTXO threads; median (min – max).\n",
        p.plan.transactions, p.plan.runs, p.threads.decode, p.threads.verify, p.threads.utxo
    );
    let _ = writeln!(s, "| figure | median | min – max |\n|---|---:|---:|");
    for (name, v) in [
        ("committed tx/s", &p.committed_tps),
        ("latency p50 ms", &p.p50_ms),
        ("latency p95 ms", &p.p95_ms),
        ("latency p99 ms", &p.p99_ms),
    ] {
        let _ = writeln!(
            s,
            "| {name} | {:.1} | {:.1} – {:.1} |",
            v.median, v.min, v.max
        );
    }
    let _ = writeln!(
        s,
        "\n| stage | unit | busy s | busy µs per committed tx |\n|---|---|---:|---:|"
    );
    for st in &p.stages {
        let _ = writeln!(
            s,
            "| {}{} | {} | {:.3} | {:.2} |",
            st.stage,
            if st.serial { " (one thread)" } else { "" },
            st.unit,
            st.busy_s.median,
            st.busy_us_per_tx.median
        );
    }
    if let Some(scaling) = &p.scaling {
        scaling_table(s, scaling);
    }
}

fn scaling_table(s: &mut String, scaling: &Scaling) {
    let _ = writeln!(
        s,
        "\n### Scaling (the process held to each core count)\n\n\
         | cores | threads decode/verify/UTXO | committed tx/s, median (min – max) | CPU µs per tx |\n\
         |---:|---|---:|---:|"
    );
    let probe = scaling
        .helpers_probe
        .iter()
        .map(|pt| (pt, " (UTXO helpers on)"));
    for (pt, note) in scaling.points.iter().map(|pt| (pt, "")).chain(probe) {
        let _ = writeln!(
            s,
            "| {}{note} | {}/{}/{} | {:.0} ({:.0} – {:.0}) | {:.2} |",
            pt.cores,
            pt.threads.decode,
            pt.threads.verify,
            pt.threads.utxo,
            pt.committed_tps.median,
            pt.committed_tps.min,
            pt.committed_tps.max,
            pt.cpu_us_per_tx.median
        );
    }
    let _ = writeln!(
        s,
        "\nSpeed-up, largest over smallest core count: {:.2}x. Busiest one-thread stage{}: {} at \
         {:.2} µs per committed transaction. Upper bound from this breakdown (the lower of that \
         stage's ceiling and cores / CPU time per transaction): {:.0} tx/s on 16 cores, {:.0} on 64.",
        scaling.speedup,
        if scaling.helpers_probe.is_some() {
            " with the UTXO helpers on, as larger machines run"
        } else {
            ""
        },
        scaling.serial_stage,
        scaling.serial_us_per_tx,
        scaling.bound_16_cores,
        scaling.bound_64_cores
    );
}

fn sigverify(s: &mut String, report: &SigverifyReport) {
    let _ = writeln!(
        s,
        "\n## Signature verification\n\nRatios of medians ({}); > 1: iosv faster.\n",
        report.unit
    );
    let _ = writeln!(
        s,
        "| keys | batch | iosv batch sig/s | iosv / dalek verify_batch | iosv / consensus batch |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for r in &report.ratios {
        let iosv = report
            .measurements
            .iter()
            .find(|m| m.implementation == "iosv batch" && m.keys == r.keys && m.batch == r.batch)
            .map_or_else(
                || "-".to_string(),
                |m| format!("{:.0}", m.sigs_per_sec.median),
            );
        let _ = writeln!(
            s,
            "| {} | {} | {iosv} | {:.2} | {:.2} |",
            r.keys, r.batch, r.engine_over_dalek_batch, r.engine_over_consensus_batch
        );
    }
}

fn cosi_table(s: &mut String, report: &CosiReport) {
    let rows: Vec<_> = report
        .measurements
        .iter()
        .filter(|m| COSI_VERIFY_GROUPS.contains(&m.group) && m.roster.is_some())
        .collect();
    let mut implementations: Vec<&str> = Vec::new();
    let mut keys: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    for m in &rows {
        if !implementations.contains(&m.implementation) {
            implementations.push(m.implementation);
        }
        if !keys.contains(&(m.roster, m.absent)) {
            keys.push((m.roster, m.absent));
        }
    }
    let unit = rows.first().map_or("µs per verification", |m| m.time_unit);
    let _ = writeln!(
        s,
        "\n## Collective signature verification\n\nMedian {unit}, one thread.\n"
    );
    let _ = write!(s, "| roster | absent |");
    for i in &implementations {
        let _ = write!(s, " {i} |");
    }
    let _ = write!(s, "\n|---:|---:|");
    s.push_str(&"---:|".repeat(implementations.len()));
    s.push('\n');
    for (roster, absent) in keys {
        let _ = write!(s, "| {} | {} |", dash(roster), dash(absent));
        for i in &implementations {
            let cell = rows
                .iter()
                .find(|m| m.implementation == *i && m.roster == roster && m.absent == absent)
                .map_or_else(|| "-".to_string(), |m| format!("{:.1}", m.time.median));
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    if !report.ratios.is_empty() {
        let _ = writeln!(
            s,
            "\n| ratio | roster | absent | participants | value |\n|---|---:|---:|---|---:|"
        );
        for r in &report.ratios {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2} |",
                r.what,
                dash(r.roster),
                dash(r.absent),
                r.participants.unwrap_or("-"),
                r.ratio
            );
        }
    }
}

fn dash(v: Option<usize>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}
