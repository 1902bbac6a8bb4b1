//! Smoke test of `iosv bench cosi`'s measurements: a tiny plan runs every piece (roster sweep, both
//! aggregate-key paths, batches, VRF, DLEQ) and every figure comes out positive and finite.

use std::time::Duration;

use iosv_harness::bench::cosi::{self, CosiPlan};

#[test]
fn tiny_plan_measures_every_piece() {
    let plan = CosiPlan {
        roster_sizes: &[16],
        batch_roster: 16,
        batch_signatures: 8,
        vrf_proofs: 2,
        dleq_proofs: 8,
        samples: 1,
        min_sample: Duration::from_millis(1),
    };
    let mut seen = 0;
    let report = cosi::run(plan, |_| seen += 1);
    assert_eq!(seen, report.measurements.len());

    let count = |group: &str| {
        report
            .measurements
            .iter()
            .filter(|m| m.group == group)
            .count()
    };
    // Full and partial participation, each by Schnorr, BLS and the blst peer.
    assert_eq!(count("schnorr-cosi verify"), 2);
    assert_eq!(count("bls-cosi verify"), 4);
    // Three absent fractions, two paths, two schemes.
    assert_eq!(count("aggregate key"), 12);
    // Two participant mixes, two schemes, batched and one by one.
    assert_eq!(count("batch verify"), 8);
    assert_eq!(count("vrf"), 2);
    assert_eq!(count("dleq"), 2);
    assert!(
        report
            .measurements
            .iter()
            .any(|m| m.group == "schnorr-cosi verify" && m.absent == Some(2))
    );

    for m in &report.measurements {
        for s in [m.time, m.rate] {
            for v in [s.median, s.min, s.max] {
                assert!(v.is_finite() && v > 0.0, "{m:?}");
            }
            assert!(s.min <= s.median && s.median <= s.max, "{m:?}");
        }
        assert!(!m.time_unit.is_empty() && !m.rate_unit.is_empty());
    }
    // Per case: peer over engine and BLS over Schnorr (2 + 2); per absent fraction: both schemes'
    // paths (6); per mix: both schemes' batches (4); DLEQ (1).
    assert_eq!(report.ratios.len(), 15);
    for r in &report.ratios {
        assert!(r.ratio.is_finite() && r.ratio > 0.0, "{r:?}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["plan"]["roster_sizes"][0], 16);
    assert!(json["setup_seconds"].as_f64().unwrap() >= 0.0);
}
