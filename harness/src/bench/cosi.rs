//! Collective signatures and the proofs beside them: verification cost of Schnorr CoSi and BLS CoSi
//! by roster size and participation, the aggregate key alone by both paths, batched against
//! one-by-one verification, ECVRF prove and verify, and DLEQ proofs one by one against batched.
//! blst's own `fast_aggregate_verify` is measured beside the engine's BLS verifier, in the same run
//! on the same signatures.
//!
//! Invariants and choices:
//! - Every timed call runs on one thread: the contenders run inside a one-thread rayon pool, so the
//!   engine's parallel BLS batch uses one core. blst's `fast_aggregate_verify` hands its Miller loop
//!   to blst's own worker thread; the peer group-checks the signature on the calling thread first
//!   and passes `sig_groupcheck = false`, so the two threads never run at once.
//! - Every verifier starts from the same bytes (signature ‖ mask): decoding, the mask and the
//!   aggregate key are part of each measured verification. The engine keeps each roster's full
//!   aggregate key (made at registration); the blst peer sums the participants' keys in every call,
//!   as `fast_aggregate_verify` does.
//! - Every input is checked to verify before it is timed, so no figure times a rejection.
//! - Contenders of one group are measured interleaved ([`interleaved_rates`]), so drift on a shared
//!   machine hits them alike; figures are medians with min and max over `samples` samples.
//! - Key generation, registration (BLS checks each proof of possession: about 2 ms per member) and
//!   signing are not timed; their total is reported as `setup_seconds`. The inputs are made in
//!   [`fixtures`], shared with the criterion bench (benches/benches/cosi.rs).

pub mod fixtures;

use std::time::{Duration, Instant};

use iosv_engine::cosi::bls;
use iosv_engine::cosi::schnorr::{self, AggregatePath};
use iosv_engine::pvss::dleq;
use serde::Serialize;

use self::fixtures::{
    ABSENT_PERCENT, AGGREGATE_KEY_ABSENT_PERCENTS, BatchFixture, BlsMembers, MESSAGE, POLICY,
    SchnorrMembers, SweepFixture, VrfFixture, blst_fast_aggregate_verify, dleq_proofs,
    one_thread_pool,
};
use super::timing::{Spread, interleaved_rates};

/// What to measure and how long.
#[derive(Clone, Copy, Debug)]
pub struct CosiPlan {
    /// Roster sizes of the verification sweep.
    pub roster_sizes: &'static [usize],
    /// Roster size of the batch comparison.
    pub batch_roster: usize,
    /// Collective signatures per batch.
    pub batch_signatures: usize,
    /// VRF keys (one proof each) per timed call.
    pub vrf_proofs: usize,
    /// DLEQ proofs per batch.
    pub dleq_proofs: usize,
    /// Samples per contender (figures are their median, min and max).
    pub samples: usize,
    /// Least duration of one sample.
    pub min_sample: Duration,
}

impl CosiPlan {
    /// About 3 minutes on one core of the 2-core development machine, 20 s of it setup.
    pub const FULL: Self = Self {
        roster_sizes: &[16, 64, 256, 1024, 4096],
        batch_roster: 64,
        batch_signatures: 256,
        vrf_proofs: 64,
        dleq_proofs: 256,
        samples: 7,
        min_sample: Duration::from_millis(200),
    };
    /// About 20 s on the same machine, mostly setup (signing the batches).
    pub const QUICK: Self = Self {
        roster_sizes: &[16, 256],
        batch_roster: 64,
        batch_signatures: 256,
        vrf_proofs: 64,
        dleq_proofs: 256,
        samples: 5,
        min_sample: Duration::from_millis(30),
    };
}

/// The plan as recorded in the report.
#[derive(Clone, Debug, Serialize)]
pub struct PlanSummary {
    pub roster_sizes: Vec<usize>,
    pub absent_percent: usize,
    pub aggregate_key_absent_percents: [usize; 3],
    pub policy: &'static str,
    pub message_bytes: usize,
    pub batch_roster: usize,
    pub batch_signatures: usize,
    pub vrf_proofs: usize,
    pub dleq_proofs: usize,
    pub samples: usize,
    pub min_sample_ms: f64,
}

/// One contender's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// What is measured: "schnorr-cosi verify", "bls-cosi verify", "aggregate key", "batch verify",
    /// "vrf", "dleq".
    pub group: &'static str,
    /// Who does it (the engine, "iosv ...", or a peer).
    pub implementation: &'static str,
    /// Roster members, where a roster is involved.
    pub roster: Option<usize>,
    /// Absent members (the same count in every signature of a batch).
    pub absent: Option<usize>,
    /// For batches: whether every signature has the same participants or each its own.
    pub participants: Option<&'static str>,
    /// Operations per timed call (a batch's size, or the number of VRF keys).
    pub ops_per_call: usize,
    pub time_unit: &'static str,
    /// Time per operation, 10⁶ / rate (so its median is the median sample's).
    pub time: Spread,
    pub rate_unit: &'static str,
    /// Operations per second on one thread.
    pub rate: Spread,
}

/// A ratio of two medians measured in the same run.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    /// Numerator over denominator, and what a value above 1 means.
    pub what: &'static str,
    pub roster: Option<usize>,
    pub absent: Option<usize>,
    pub participants: Option<&'static str>,
    pub ratio: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CosiReport {
    pub threads: usize,
    pub plan: PlanSummary,
    /// Key generation, registration and signing (not part of any figure).
    pub setup_seconds: f64,
    pub measurements: Vec<Measurement>,
    pub ratios: Vec<Ratio>,
}

#[derive(Clone, Copy)]
struct Units {
    time: &'static str,
    rate: &'static str,
}

const VERIFICATION: Units = Units {
    time: "µs per verification",
    rate: "verifications/s",
};
const AGGREGATE_KEY: Units = Units {
    time: "µs per aggregate key",
    rate: "aggregate keys/s",
};
const PROOF: Units = Units {
    time: "µs per proof",
    rate: "proofs/s",
};

/// One contender of an interleaved group.
struct Contender<'a> {
    group: &'static str,
    implementation: &'static str,
    roster: Option<usize>,
    absent: Option<usize>,
    participants: Option<&'static str>,
    units: Units,
    run: Box<dyn FnMut() + Send + 'a>,
}

/// Measures `contenders` interleaved on the one-thread pool and records their figures.
struct Bench<'p> {
    plan: CosiPlan,
    pool: rayon::ThreadPool,
    measurements: Vec<Measurement>,
    progress: &'p mut dyn FnMut(&Measurement),
}

impl Bench<'_> {
    fn measure(&mut self, ops_per_call: usize, contenders: Vec<Contender<'_>>) {
        let (samples, min_sample) = (self.plan.samples, self.plan.min_sample);
        let mut runs: Vec<Box<dyn FnMut() + Send + '_>> = Vec::with_capacity(contenders.len());
        let mut labels = Vec::with_capacity(contenders.len());
        for c in contenders {
            runs.push(c.run);
            labels.push((
                c.group,
                c.implementation,
                c.roster,
                c.absent,
                c.participants,
                c.units,
            ));
        }
        let rates = self.pool.install(move || {
            let mut refs: Vec<&mut dyn FnMut()> = runs
                .iter_mut()
                .map(|r| r.as_mut() as &mut dyn FnMut())
                .collect();
            interleaved_rates(samples, min_sample, ops_per_call, &mut refs)
        });
        for ((group, implementation, roster, absent, participants, units), rate) in
            labels.into_iter().zip(rates)
        {
            let m = Measurement {
                group,
                implementation,
                roster,
                absent,
                participants,
                ops_per_call,
                time_unit: units.time,
                time: micros_per_op(&rate),
                rate_unit: units.rate,
                rate,
            };
            (self.progress)(&m);
            self.measurements.push(m);
        }
    }
}

fn micros_per_op(rate: &Spread) -> Spread {
    Spread {
        median: 1e6 / rate.median,
        min: 1e6 / rate.max,
        max: 1e6 / rate.min,
        samples: rate.samples,
    }
}

/// Runs the plan; `progress` is told each finished measurement.
///
/// # Panics
/// If a generated input fails to verify (a bug in the engine or here), or a roster size is zero.
pub fn run(plan: CosiPlan, mut progress: impl FnMut(&Measurement)) -> CosiReport {
    let mut bench = Bench {
        plan,
        pool: one_thread_pool(),
        measurements: Vec::new(),
        progress: &mut progress,
    };
    let largest = plan
        .roster_sizes
        .iter()
        .copied()
        .chain([plan.batch_roster])
        .max()
        .unwrap_or(0);
    let start = Instant::now();
    let schnorr_members = SchnorrMembers::generate(largest, 1);
    let bls_members = BlsMembers::generate(largest, 2);
    let bls_sigs = bls_members.member_signatures(largest, &MESSAGE);
    let mut setup = start.elapsed();

    for &n in plan.roster_sizes {
        let start = Instant::now();
        let fixture = SweepFixture::new(&schnorr_members, &bls_members, &bls_sigs, n);
        setup += start.elapsed();
        sweep(&mut bench, &fixture);
    }
    let start = Instant::now();
    let batch = BatchFixture::new(
        &schnorr_members,
        &bls_members,
        plan.batch_roster,
        plan.batch_signatures,
    );
    let vrf = VrfFixture::generate(plan.vrf_proofs, 6);
    let dleq_items = dleq_proofs(plan.dleq_proofs, 7);
    setup += start.elapsed();
    batches(&mut bench, &batch);
    proofs(&mut bench, &vrf, &dleq_items);

    let ratios = ratios(&bench.measurements);
    CosiReport {
        threads: 1,
        plan: PlanSummary {
            roster_sizes: plan.roster_sizes.to_vec(),
            absent_percent: ABSENT_PERCENT,
            aggregate_key_absent_percents: AGGREGATE_KEY_ABSENT_PERCENTS,
            policy: "ByzCoin (2f + 1 of 3f + 1)",
            message_bytes: MESSAGE.len(),
            batch_roster: plan.batch_roster,
            batch_signatures: plan.batch_signatures,
            vrf_proofs: plan.vrf_proofs,
            dleq_proofs: plan.dleq_proofs,
            samples: plan.samples,
            min_sample_ms: plan.min_sample.as_secs_f64() * 1e3,
        },
        setup_seconds: setup.as_secs_f64(),
        measurements: bench.measurements,
        ratios,
    }
}

/// Verification by both schemes and the peer, then the aggregate key alone, at one roster size.
fn sweep(bench: &mut Bench<'_>, f: &SweepFixture) {
    let n = f.members;
    let (s, b) = (&f.schnorr.roster, &f.bls);
    let mut verifiers = Vec::new();
    for case in &f.cases {
        let contender = |group, implementation, run| Contender {
            group,
            implementation,
            roster: Some(n),
            absent: Some(case.absent),
            participants: None,
            units: VERIFICATION,
            run,
        };
        let (schnorr_sig, bls_sig) = (&case.schnorr_sig, &case.bls_sig);
        verifiers.push(contender(
            "schnorr-cosi verify",
            "iosv schnorr::verify",
            Box::new(move || {
                std::hint::black_box(schnorr::verify(s, POLICY, &MESSAGE, schnorr_sig))
                    .expect("valid");
            }),
        ));
        verifiers.push(contender(
            "bls-cosi verify",
            "iosv bls::verify",
            Box::new(move || {
                std::hint::black_box(bls::verify(b, POLICY, &MESSAGE, bls_sig)).expect("valid");
            }),
        ));
        verifiers.push(contender(
            "bls-cosi verify",
            "blst fast_aggregate_verify",
            Box::new(move || {
                let ok = blst_fast_aggregate_verify(b.public_keys(), &MESSAGE, bls_sig);
                assert!(std::hint::black_box(ok));
            }),
        ));
    }
    bench.measure(1, verifiers);

    let mut keys = Vec::new();
    for (absent, mask) in &f.key_masks {
        let contender = |implementation, run| Contender {
            group: "aggregate key",
            implementation,
            roster: Some(n),
            absent: Some(*absent),
            participants: None,
            units: AGGREGATE_KEY,
            run,
        };
        for (name, path) in [
            ("iosv schnorr, sum of present", AggregatePath::SumPresent),
            (
                "iosv schnorr, full − sum of absent",
                AggregatePath::SubtractAbsent,
            ),
        ] {
            keys.push(contender(
                name,
                Box::new(move || {
                    std::hint::black_box(s.aggregate_key_with(mask, path)).expect("valid");
                }),
            ));
        }
        keys.push(contender(
            "iosv bls, sum of present",
            Box::new(move || {
                std::hint::black_box(b.aggregate_key_by_sum(mask)).expect("valid");
            }),
        ));
        keys.push(contender(
            "iosv bls, full − sum of absent",
            Box::new(move || {
                std::hint::black_box(b.aggregate_key_by_subtraction(mask)).expect("valid");
            }),
        ));
    }
    bench.measure(1, keys);
}

/// Batched against one-by-one verification, both schemes, both participant mixes.
fn batches(bench: &mut Bench<'_>, f: &BatchFixture) {
    let (s, b) = (&f.schnorr.roster, &f.bls);
    let mut contenders = Vec::new();
    for mix in &f.mixes {
        let contender = |implementation, run| Contender {
            group: "batch verify",
            implementation,
            roster: Some(f.members),
            absent: Some(f.absent()),
            participants: Some(mix.participants),
            units: VERIFICATION,
            run,
        };
        let (schnorr_items, bls_items) = (&mix.schnorr, &mix.bls);
        contenders.push(contender(
            "iosv schnorr::verify one by one",
            Box::new(move || {
                for (m, sig) in schnorr_items {
                    std::hint::black_box(schnorr::verify(s, POLICY, m, sig)).expect("valid");
                }
            }),
        ));
        contenders.push(contender(
            "iosv schnorr::verify_batch",
            Box::new(move || {
                let verdicts = schnorr::verify_batch(s, POLICY, schnorr_items, &mut rand::rng());
                assert!(std::hint::black_box(verdicts).into_iter().all(|ok| ok));
            }),
        ));
        contenders.push(contender(
            "iosv bls::verify one by one",
            Box::new(move || {
                for (m, sig) in bls_items {
                    std::hint::black_box(bls::verify(b, POLICY, m, sig)).expect("valid");
                }
            }),
        ));
        contenders.push(contender(
            "iosv bls::verify_batch",
            Box::new(move || {
                let verdicts = bls::verify_batch(b, POLICY, bls_items, &mut rand::rng());
                assert!(std::hint::black_box(verdicts).into_iter().all(|ok| ok));
            }),
        ));
    }
    let count = f.mixes.first().map_or(0, |m| m.schnorr.len());
    bench.measure(count, contenders);
}

/// VRF prove and verify; DLEQ one by one and batched.
fn proofs(bench: &mut Bench<'_>, v: &VrfFixture, items: &[(dleq::DleqStatement, dleq::DleqProof)]) {
    let contender = |group, implementation, units, run| Contender {
        group,
        implementation,
        roster: None,
        absent: None,
        participants: None,
        units,
        run,
    };
    bench.measure(
        v.proofs.len(),
        vec![
            contender(
                "vrf",
                "iosv vrf::verify",
                VERIFICATION,
                Box::new(move || assert!(std::hint::black_box(v.verify_all()))),
            ),
            contender(
                "vrf",
                "iosv vrf::prove",
                PROOF,
                Box::new(move || {
                    std::hint::black_box(v.prove_all());
                }),
            ),
        ],
    );
    bench.measure(
        items.len(),
        vec![
            contender(
                "dleq",
                "iosv dleq::verify one by one",
                VERIFICATION,
                Box::new(move || {
                    let ok = items.iter().all(|(st, p)| dleq::verify(st, p));
                    assert!(std::hint::black_box(ok));
                }),
            ),
            contender(
                "dleq",
                "iosv dleq::verify_batch",
                VERIFICATION,
                Box::new(move || {
                    let verdicts = dleq::verify_batch(items, &mut rand::rng());
                    assert!(std::hint::black_box(verdicts).into_iter().all(|ok| ok));
                }),
            ),
        ],
    );
}

/// Ratios of time medians from the same interleaved group.
fn ratios(ms: &[Measurement]) -> Vec<Ratio> {
    let time = |group: &str, implementation: &str, like: &Measurement| {
        ms.iter()
            .find(|m| {
                m.group == group
                    && m.implementation == implementation
                    && m.roster == like.roster
                    && m.absent == like.absent
                    && m.participants == like.participants
            })
            .map(|m| m.time.median)
    };
    // (what, group, numerator, denominator)
    const PAIRS: [(&str, &str, &str, &str); 7] = [
        (
            "blst fast_aggregate_verify time over iosv bls::verify time (> 1: iosv faster)",
            "bls-cosi verify",
            "blst fast_aggregate_verify",
            "iosv bls::verify",
        ),
        (
            "iosv bls::verify time over iosv schnorr::verify time (> 1: Schnorr faster)",
            "bls-cosi verify",
            "iosv bls::verify",
            "iosv schnorr::verify",
        ),
        (
            "Schnorr aggregate key: sum-of-present time over full-minus-absent time",
            "aggregate key",
            "iosv schnorr, sum of present",
            "iosv schnorr, full − sum of absent",
        ),
        (
            "BLS aggregate key: sum-of-present time over full-minus-absent time",
            "aggregate key",
            "iosv bls, sum of present",
            "iosv bls, full − sum of absent",
        ),
        (
            "Schnorr batch speed-up: one-by-one time over verify_batch time",
            "batch verify",
            "iosv schnorr::verify one by one",
            "iosv schnorr::verify_batch",
        ),
        (
            "BLS batch speed-up: one-by-one time over verify_batch time",
            "batch verify",
            "iosv bls::verify one by one",
            "iosv bls::verify_batch",
        ),
        (
            "DLEQ batch speed-up: one-by-one time over verify_batch time",
            "dleq",
            "iosv dleq::verify one by one",
            "iosv dleq::verify_batch",
        ),
    ];
    let mut out = Vec::new();
    for (what, group, numerator, denominator) in PAIRS {
        for m in ms
            .iter()
            .filter(|m| m.group == group && m.implementation == numerator)
        {
            // Schnorr's verification is in its own group; look it up by roster and absence.
            let den_group = if denominator == "iosv schnorr::verify" {
                "schnorr-cosi verify"
            } else {
                group
            };
            if let Some(den) = time(den_group, denominator, m) {
                out.push(Ratio {
                    what,
                    roster: m.roster,
                    absent: m.absent,
                    participants: m.participants,
                    ratio: m.time.median / den,
                });
            }
        }
    }
    out
}
