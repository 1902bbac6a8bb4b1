//! The report writer of `iosv bench all` on a small synthetic data set: no benchmarking.

use std::path::PathBuf;

use iosv_harness::bench::cosi::{self, CosiReport, PlanSummary};
use iosv_harness::bench::pipeline::{self, PipelinePlan};
use iosv_harness::bench::sigverify::{self, SigverifyReport};
use iosv_harness::bench::timing::Spread;
use iosv_harness::bench::utxo::{self, UtxoPlan};
use iosv_harness::report::{self, BenchReport};

fn spread(median: f64) -> Spread {
    Spread {
        median,
        min: median * 0.9,
        max: median * 1.1,
        samples: 3,
    }
}

const SIG_IMPLEMENTATIONS: [&str; 3] = [
    "iosv batch",
    "ed25519-dalek verify_batch",
    "ed25519-consensus batch",
];

fn sigverify_report() -> SigverifyReport {
    let mut measurements = Vec::new();
    let mut ratios = Vec::new();
    for keys in ["distinct", "zipf-10000"] {
        for batch in [16, 64, 256] {
            for (i, implementation) in SIG_IMPLEMENTATIONS.iter().enumerate() {
                measurements.push(sigverify::Measurement {
                    implementation,
                    keys,
                    batch,
                    sigs_per_sec: spread(batch as f64 * 1000.0 / (i + 1) as f64),
                });
            }
            ratios.push(sigverify::Ratio {
                keys,
                batch,
                engine_over_dalek_batch: 2.0,
                engine_over_consensus_batch: 3.0,
            });
        }
    }
    SigverifyReport {
        unit: "signatures/s, one thread",
        threads: 1,
        measurements,
        ratios,
    }
}

fn cosi_report() -> CosiReport {
    let verifiers = [
        ("schnorr-cosi verify", "iosv schnorr::verify"),
        ("bls-cosi verify", "iosv bls::verify"),
        ("bls-cosi verify", "blst fast_aggregate_verify"),
    ];
    let mut measurements = Vec::new();
    for roster in [16, 128] {
        for (i, (group, implementation)) in verifiers.into_iter().enumerate() {
            let micros = roster as f64 * (i + 1) as f64;
            measurements.push(cosi::Measurement {
                group,
                implementation,
                roster: Some(roster),
                absent: Some(roster / 10),
                participants: None,
                ops_per_call: 1,
                time_unit: "µs per verification",
                time: spread(micros),
                rate_unit: "verifications/s",
                rate: spread(1e6 / micros),
            });
        }
    }
    CosiReport {
        threads: 1,
        plan: PlanSummary {
            roster_sizes: vec![16, 128],
            absent_percent: 10,
            aggregate_key_absent_percents: [0, 10, 60],
            policy: "ByzCoin (2f + 1 of 3f + 1)",
            message_bytes: 32,
            batch_roster: 16,
            batch_signatures: 4,
            vrf_proofs: 4,
            dleq_proofs: 4,
            samples: 3,
            min_sample_ms: 1.0,
        },
        setup_seconds: 0.5,
        measurements,
        ratios: vec![cosi::Ratio {
            what: "blst fast_aggregate_verify time over iosv bls::verify time (> 1: iosv faster)",
            roster: Some(16),
            absent: Some(1),
            participants: None,
            ratio: 1.5,
        }],
    }
}

/// A fresh folder under the system temp dir.
fn temp_out() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("iosv-bench-report-{}-{nanos}", std::process::id()))
}

#[test]
fn writes_json_summary_and_plots() {
    let report = BenchReport {
        sigverify: Some(sigverify_report()),
        cosi: Some(cosi_report()),
        ..BenchReport::empty("2026-01-02".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    assert_eq!(dir, out.join(report.folder_name()));
    assert!(report.folder_name().starts_with("2026-01-02-"));

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(report::REPORT_JSON)).unwrap()).unwrap();
    assert_eq!(json["date"], "2026-01-02");
    assert_eq!(json["machine"]["gpu_adapter"], "none");
    assert!(
        json["machine"]["rustc"]
            .as_str()
            .unwrap()
            .starts_with("rustc")
    );
    assert_eq!(json["sigverify"]["unit"], "signatures/s, one thread");
    assert_eq!(
        json["sigverify"]["measurements"].as_array().unwrap().len(),
        18
    );
    assert_eq!(
        json["cosi"]["measurements"][0]["time_unit"],
        "µs per verification"
    );

    let summary = std::fs::read_to_string(dir.join(report::SUMMARY_MD)).unwrap();
    assert!(
        summary.contains("| distinct | 64 | 64000 | 2.00 | 3.00 |"),
        "{summary}"
    );
    assert!(
        summary.contains("| zipf-10000 | 256 | 256000 | 2.00 | 3.00 |"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "| roster | absent | iosv schnorr::verify | iosv bls::verify | blst fast_aggregate_verify |"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("| 128 | 12 | 128.0 | 256.0 | 384.0 |"),
        "{summary}"
    );

    for (name, series) in [
        (report::SIGVERIFY_REUSED_SVG, 3),
        (report::SIGVERIFY_DISTINCT_SVG, 3),
        (report::COSI_ROSTER_SVG, 3),
    ] {
        let svg = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        // Each series is one 2-pixel line in the plot and one in the legend (axes are 1 pixel).
        assert_eq!(series_lines(&svg), 2 * series, "{name}");
    }
    assert!(
        std::fs::read_to_string(dir.join(report::COSI_ROSTER_SVG))
            .unwrap()
            .contains("blst fast_aggregate_verify")
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// The utxo and pipeline suites on tiny plans, end to end: every measurement present, the report
/// folder with the stage-breakdown plot and the tables.
#[test]
fn utxo_and_pipeline_suites_write_their_sections() {
    let utxo_plan = UtxoPlan {
        entries: 4_000,
        block: 64,
        samples: 2,
        min_sample: std::time::Duration::from_millis(1),
    };
    let utxo = utxo::run(utxo_plan, |_| {}).expect("utxo suite");
    let names: Vec<&str> = utxo.measurements.iter().map(|m| m.what.as_str()).collect();
    for expected in [
        "validate_batch",
        "BucketProof::verify",
        "FraudProof::verify (double spend)",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(utxo.measurements.iter().all(|m| m.value.median > 0.0));

    let plan = PipelinePlan {
        transactions: 2_000,
        runs: 2,
        rate: None,
    };
    let p = pipeline::run(plan, |_| {}).expect("pipeline suite");
    assert_eq!(p.runs.len(), 2);
    assert!(
        p.runs
            .iter()
            .all(|r| r.committed == 2_000 && r.rejected == 0)
    );
    assert!(!p.stages.is_empty());

    let report = BenchReport {
        utxo: Some(utxo),
        pipeline: Some(p),
        ..BenchReport::empty("2026-01-03".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    let summary = std::fs::read_to_string(dir.join(report::SUMMARY_MD)).unwrap();
    assert!(summary.contains("## UTXO set"));
    assert!(summary.contains("## Pipeline"));
    let svg = std::fs::read_to_string(dir.join(report::PIPELINE_STAGES_SVG)).unwrap();
    assert!(series_lines(&svg) >= 2 * 3, "one line per stage");
    std::fs::remove_dir_all(&out).ok();
}

/// The default threads: with the signatures on the CPU, no UTXO helper threads below
/// `MIN_CORES_FOR_UTXO_HELPERS` cores; with them elsewhere, helpers from 2 cores; never more than
/// the set's 16.
#[test]
fn stage_threads_leave_the_utxo_stage_on_the_commit_thread_on_small_machines() {
    use pipeline::{MIN_CORES_FOR_UTXO_HELPERS, StageThreads};
    for cores in 1..MIN_CORES_FOR_UTXO_HELPERS {
        assert_eq!(
            StageThreads::for_cores(cores, true).utxo,
            1,
            "{cores} cores"
        );
    }
    assert_eq!(
        StageThreads::for_cores(MIN_CORES_FOR_UTXO_HELPERS, true).utxo,
        MIN_CORES_FOR_UTXO_HELPERS
    );
    assert_eq!(StageThreads::for_cores(1, false).utxo, 1);
    assert_eq!(StageThreads::for_cores(2, false).utxo, 2);
    let big = StageThreads::for_cores(64, true);
    assert_eq!((big.decode, big.verify, big.utxo), (16, 64, 16));
}

/// A sweep that never reaches `MIN_CORES_FOR_UTXO_HELPERS` runs its largest count once more with
/// the UTXO helpers on and reads the serial stage and the bounds off that row, so a small machine
/// does not report the serial work of a configuration larger machines do not run.
#[test]
fn a_small_sweep_probes_the_utxo_helpers_for_its_bounds() {
    let plan = PipelinePlan {
        transactions: 2_000,
        runs: 1,
        rate: None,
    };
    let p = pipeline::sweep(plan, &[2, 1], |_| {}).expect("pipeline sweep");
    let scaling = p.scaling.as_ref().expect("a sweep reports its scaling");
    let cores: Vec<usize> = scaling.points.iter().map(|pt| pt.threads.verify).collect();
    assert_eq!(cores, [1, 2], "points sorted by cores");
    assert!(scaling.points.iter().all(|pt| pt.threads.utxo == 1));
    let probe = scaling.helpers_probe.as_ref().expect("probe row");
    assert_eq!((probe.threads.verify, probe.threads.utxo), (2, 2));
    let serial = probe
        .stages
        .iter()
        .filter(|st| st.serial)
        .map(|st| st.busy_us_per_tx.median)
        .fold(f64::MIN, f64::max);
    assert_eq!(
        scaling.serial_us_per_tx, serial,
        "bounds read off the probe"
    );
    assert!(
        p.runs.iter().all(|r| r.threads.utxo == 1),
        "main figures: the 2-core default"
    );

    let report = BenchReport {
        pipeline: Some(p),
        ..BenchReport::empty("2026-01-05".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    let summary = std::fs::read_to_string(dir.join(report::SUMMARY_MD)).unwrap();
    assert!(
        summary.contains("| 2 (UTXO helpers on) | 1/2/2 |"),
        "{summary}"
    );
    assert!(summary.contains("with the UTXO helpers on, as larger machines run"));
    std::fs::remove_dir_all(&out).ok();
}

/// `iosv compare` on a written report against itself: every figure at ratio 1; against a file that
/// is not JSON: exit 2 with the file named.
#[test]
fn compare_command_lines_up_figures() {
    let report = BenchReport {
        sigverify: Some(sigverify_report()),
        ..BenchReport::empty("2026-01-04".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    let json = dir.join(report::REPORT_JSON);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .args(["compare", "--json"])
        .arg(&json)
        .arg(&json)
        .output()
        .unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let figures = last["figures"].as_array().unwrap();
    assert!(!figures.is_empty());
    assert!(figures.iter().all(|f| f["ratio"] == 1.0));

    let bad = out.join("not-json.txt");
    std::fs::write(&bad, "nope").unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_iosv"))
        .arg("compare")
        .arg(&json)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("not-json.txt"));
    std::fs::remove_dir_all(&out).ok();
}

/// The harness suite on a small configuration: one point per offered rate, measured runs, both
/// plots and the summary section written.
#[test]
fn harness_suite_measures_each_rate_and_plots() {
    use iosv_harness::bench::harness::{HarnessPlan, run_with};
    let base = small_demo();
    let plan = HarnessPlan {
        rates: vec![1_000.0, 3_000.0],
        runs: 2,
        duration_s: 1.0,
        warmup_s: 0.5,
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let h = run_with(base, plan, &|l| lines.lock().unwrap().push(l)).expect("suite runs");
    assert_eq!(lines.lock().unwrap().len(), 4, "one line per run");
    assert_eq!(h.points.len(), 2);
    for p in &h.points {
        assert_eq!(p.final_tps.samples, 2);
        assert!(p.invariants_ok);
        assert!(p.final_tps.median > 0.5 * p.offered_tps, "{p:?}");
        assert!(p.signatures_per_tx.median >= 1.0);
    }
    assert!(!h.over_time.is_empty());
    let report = BenchReport {
        harness: Some(h),
        ..BenchReport::empty("2026-01-05".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    let summary = std::fs::read_to_string(dir.join(report::SUMMARY_MD)).unwrap();
    assert!(summary.contains("## Protocol harness"), "{summary}");
    for svg in [report::HARNESS_LATENCY_SVG, report::HARNESS_OVER_TIME_SVG] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(series_lines(&text) >= 2 * 2, "{svg}");
    }
    std::fs::remove_dir_all(&out).ok();
}

/// The harness suite's core-count sweep: one point per core count (the run really held to it:
/// rayon's pool reports that many threads), safety and drain reported, the bound read off the
/// driver thread, a summary section and no rate charts (a sweep has no rate points).
#[test]
fn harness_sweep_holds_each_run_to_its_cores() {
    use iosv_harness::bench::harness::{HarnessPlan, sweep};
    let base = small_demo();
    let plan = HarnessPlan {
        rates: vec![1_000.0, 2_000.0],
        runs: 1,
        duration_s: 1.0,
        warmup_s: 0.5,
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let h = sweep(base, plan, &[2, 1, 2], &|l| lines.lock().unwrap().push(l)).expect("sweep runs");
    assert_eq!(
        lines.lock().unwrap().len(),
        2,
        "one line per core count and run"
    );
    let scaling = h.scaling.as_ref().expect("a sweep reports its scaling");
    assert_eq!(scaling.offered_tps, 2_000.0);
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores: Vec<usize> = scaling.points.iter().map(|p| p.cores).collect();
    assert_eq!(cores, vec![1, 2.min(available)]);
    for p in &scaling.points {
        assert!(p.safe && p.drained, "{p:?}");
        assert!(p.final_tps.median > 0.5 * 2_000.0, "{p:?}");
        assert!(p.driver_us_per_final_tx.median > 0.0, "{p:?}");
        assert!(
            p.cpu_us_per_final_tx.median > p.driver_us_per_final_tx.median,
            "{p:?}"
        );
    }
    assert!(scaling.bound_16_cores > 0.0 && scaling.bound_64_cores >= scaling.bound_16_cores);
    assert!(h.points.is_empty());
    let report = BenchReport {
        harness: Some(h),
        ..BenchReport::empty("2026-01-05".into())
    };
    let out = temp_out();
    let dir = report::write(&out, &report).expect("report written");
    let summary = std::fs::read_to_string(dir.join(report::SUMMARY_MD)).unwrap();
    assert!(summary.contains("by core count"), "{summary}");
    assert!(!dir.join(report::HARNESS_LATENCY_SVG).exists());
    std::fs::remove_dir_all(&out).ok();
}

/// A demo small enough for a test: two shards, few accounts, short blocks.
fn small_demo() -> iosv_harness::demo::DemoConfig {
    iosv_harness::demo::DemoConfig {
        shards: 2,
        accounts_per_shard: 200,
        block_interval_ms: 50,
        ..iosv_harness::demo::DemoConfig::default()
    }
}

/// Lines drawn 2 pixels wide in a report chart: each series' line and its legend entry.
fn series_lines(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|rest| {
            rest.split('>')
                .next()
                .is_some_and(|tag| tag.contains("stroke-width=\"2\""))
        })
        .count()
}

/// A run held to a pool runs on it, not on rayon's global pool: its report counts the pool's
/// threads, and it finishes with a pool of one thread (the shards' rounds and their parallel
/// work all wait for that thread; the caller is not one of the pool's threads).
#[test]
fn a_demo_run_on_a_pool_of_one_thread_stays_on_it() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    let cfg = iosv_harness::demo::DemoConfig {
        rate: 2_000.0,
        duration_s: 0.5,
        warmup_s: 0.2,
        ..small_demo()
    };
    let r = iosv_harness::demo::run::run_on_pool(
        &cfg,
        &iosv_harness::demo::Quiet,
        std::sync::Arc::new(pool),
    )
    .expect("the demo runs");
    assert!(r.invariants_ok, "{:#?}", r.invariants);
    assert_eq!(
        r.cores, 1,
        "the report counts the global pool, not the run's"
    );
    assert_eq!(r.client_threads, 1);
}
