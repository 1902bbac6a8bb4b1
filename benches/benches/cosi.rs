//! Collective signatures and the proofs beside them, one thread: Schnorr-CoSi and BLS-CoSi
//! verification by roster size (full participation and 10% absent) with blst's own
//! `fast_aggregate_verify` beside the engine's BLS verifier, the aggregate key alone by both paths,
//! batched against one-by-one verification, ECVRF prove and verify, DLEQ one by one against
//! batched. The criterion twin of `iosv bench cosi` (harness/src/bench/cosi.rs): the inputs come
//! from the same fixtures with the same seeds, so both measure the same signatures.
//!
//! Ids are `cosi/<group>/<implementation>[/<case>]/<size>`. Building the rosters takes about 10 s
//! before the first benchmark (BLS registration checks every proof of possession), whatever the
//! filter. Run it all, or filter with a regex:
//!
//! ```text
//! cargo bench -p iosv-benches --bench cosi
//! cargo bench -p iosv-benches --bench cosi -- 'cosi/verify/iosv bls::verify'
//! ```
//!
//! Flamegraph of one benchmark (pprof, 1000 Hz), written to
//! `target/criterion/<group>/<implementation>/<size>/profile/flamegraph.svg`:
//!
//! ```text
//! cargo bench -p iosv-benches --bench cosi -- --profile-time 5 'cosi/batch-verify/iosv bls'
//! ```

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iosv_engine::cosi::bls;
use iosv_engine::cosi::schnorr::{self, AggregatePath};
use iosv_engine::pvss::dleq;
use iosv_harness::bench::cosi::fixtures::{
    BatchFixture, BlsMembers, MESSAGE, POLICY, SchnorrMembers, SweepFixture, VrfFixture,
    blst_fast_aggregate_verify, dleq_proofs, one_thread_pool,
};
use pprof::criterion::{Output, PProfProfiler};

/// Roster sizes of the verification and aggregate-key benchmarks.
const ROSTER_SIZES: [usize; 3] = [16, 256, 4096];

/// Roster size and signature count of the batch benchmarks (as `iosv bench cosi`).
const BATCH_ROSTER: usize = 64;
const BATCH_SIGNATURES: usize = 256;

/// VRF keys per timed call and DLEQ proofs per batch (as `iosv bench cosi`).
const VRF_PROOFS: usize = 64;
const DLEQ_PROOFS: usize = 256;

fn cosi(c: &mut Criterion) {
    let largest = ROSTER_SIZES
        .into_iter()
        .max()
        .unwrap_or(0)
        .max(BATCH_ROSTER);
    // The same seeds as `iosv bench cosi`; a roster of n is the first n keys.
    let schnorr_members = SchnorrMembers::generate(largest, 1);
    let bls_members = BlsMembers::generate(largest, 2);
    let bls_sigs = bls_members.member_signatures(largest, &MESSAGE);
    let sweeps: Vec<SweepFixture> = ROSTER_SIZES
        .iter()
        .map(|&n| SweepFixture::new(&schnorr_members, &bls_members, &bls_sigs, n))
        .collect();

    let mut group = c.benchmark_group("cosi/verify");
    group.throughput(Throughput::Elements(1));
    for f in &sweeps {
        let (s, b) = (&f.schnorr.roster, &f.bls);
        for case in &f.cases {
            let a = case.absent;
            let id = |name: &str| BenchmarkId::new(format!("{name}/absent {a}"), f.members);
            group.bench_function(id("iosv schnorr::verify"), |bch| {
                bch.iter(|| schnorr::verify(s, POLICY, &MESSAGE, &case.schnorr_sig))
            });
            group.bench_function(id("iosv bls::verify"), |bch| {
                bch.iter(|| bls::verify(b, POLICY, &MESSAGE, &case.bls_sig))
            });
            group.bench_function(id("blst fast_aggregate_verify"), |bch| {
                bch.iter(|| blst_fast_aggregate_verify(b.public_keys(), &MESSAGE, &case.bls_sig))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("cosi/aggregate-key");
    group.throughput(Throughput::Elements(1));
    for f in &sweeps {
        let (s, b) = (&f.schnorr.roster, &f.bls);
        for (a, mask) in &f.key_masks {
            let id = |name: &str| BenchmarkId::new(format!("{name}/absent {a}"), f.members);
            group.bench_function(id("iosv schnorr, sum of present"), |bch| {
                bch.iter(|| s.aggregate_key_with(mask, AggregatePath::SumPresent))
            });
            group.bench_function(id("iosv schnorr, full − sum of absent"), |bch| {
                bch.iter(|| s.aggregate_key_with(mask, AggregatePath::SubtractAbsent))
            });
            group.bench_function(id("iosv bls, sum of present"), |bch| {
                bch.iter(|| b.aggregate_key_by_sum(mask))
            });
            group.bench_function(id("iosv bls, full − sum of absent"), |bch| {
                bch.iter(|| b.aggregate_key_by_subtraction(mask))
            });
        }
    }
    group.finish();
    drop(sweeps);

    // The engine's BLS batch runs on rayon: inside a one-thread pool, so it uses one core.
    let pool = one_thread_pool();
    let batch = BatchFixture::new(
        &schnorr_members,
        &bls_members,
        BATCH_ROSTER,
        BATCH_SIGNATURES,
    );
    let (s, b) = (&batch.schnorr.roster, &batch.bls);
    let mut group = c.benchmark_group("cosi/batch-verify");
    group.throughput(Throughput::Elements(BATCH_SIGNATURES as u64));
    for mix in &batch.mixes {
        let id = |name: &str| {
            BenchmarkId::new(
                format!(
                    "{name}/roster {BATCH_ROSTER}, participants {}",
                    mix.participants
                ),
                BATCH_SIGNATURES,
            )
        };
        group.bench_function(id("iosv schnorr::verify one by one"), |bch| {
            bch.iter(|| {
                mix.schnorr
                    .iter()
                    .all(|(m, sig)| schnorr::verify(s, POLICY, m, sig).is_ok())
            })
        });
        group.bench_function(id("iosv schnorr::verify_batch"), |bch| {
            bch.iter(|| schnorr::verify_batch(s, POLICY, &mix.schnorr, &mut rand::rng()))
        });
        group.bench_function(id("iosv bls::verify one by one"), |bch| {
            bch.iter(|| {
                mix.bls
                    .iter()
                    .all(|(m, sig)| bls::verify(b, POLICY, m, sig).is_ok())
            })
        });
        group.bench_function(id("iosv bls::verify_batch"), |bch| {
            bch.iter(|| pool.install(|| bls::verify_batch(b, POLICY, &mix.bls, &mut rand::rng())))
        });
    }
    group.finish();

    let vrf = VrfFixture::generate(VRF_PROOFS, 6);
    let mut group = c.benchmark_group("cosi/vrf");
    group.throughput(Throughput::Elements(VRF_PROOFS as u64));
    group.bench_function(BenchmarkId::new("iosv vrf::verify", VRF_PROOFS), |bch| {
        bch.iter(|| vrf.verify_all())
    });
    group.bench_function(BenchmarkId::new("iosv vrf::prove", VRF_PROOFS), |bch| {
        bch.iter(|| vrf.prove_all())
    });
    group.finish();

    let items = dleq_proofs(DLEQ_PROOFS, 7);
    let mut group = c.benchmark_group("cosi/dleq");
    group.throughput(Throughput::Elements(DLEQ_PROOFS as u64));
    group.bench_function(
        BenchmarkId::new("iosv dleq::verify one by one", DLEQ_PROOFS),
        |bch| bch.iter(|| items.iter().all(|(st, p)| dleq::verify(st, p))),
    );
    group.bench_function(
        BenchmarkId::new("iosv dleq::verify_batch", DLEQ_PROOFS),
        |bch| bch.iter(|| dleq::verify_batch(&items, &mut rand::rng())),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    // Sized for a 2-core machine: about 3 s per benchmark, a few minutes for the whole run.
    // Command-line flags (`--warm-up-time`, `--measurement-time`, `--sample-size`) override these.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .with_profiler(PProfProfiler::new(1000, Output::Flamegraph(None)));
    targets = cosi
}
criterion_main!(benches);
