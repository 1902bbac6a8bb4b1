//! Shard safety: the probability that a shard has a third or more faulty members.
//!
//! With `N` validators of which `F` are faulty, a shard of `n` members is a uniformly random
//! `n`-subset (see `assign`), so its faulty count `X` is hypergeometric(N, F, n) and
//! `P(X ≥ ⌈n/3⌉) = Σₓ C(F, x) C(N−F, n−x) / C(N, n)`. [`tail_at_least`] sums the terms exactly in
//! log space (`ln k!` as compensated running sums of `ln i`; each term is accurate to about 1e−11
//! relative for populations of a few thousand); tests hold it against exact integer arithmetic. [`measure`] counts bad shards over
//! many epoch assignments made by the real assignment function, for comparison.

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::assign::Assignment;

/// Domain of the randomness of a measured sample.
const SAMPLE_DOMAIN: &[u8] = crate::domain::SHARD_SAFETY_SAMPLE;

/// `ln k!` for `k` in `0..=n`, as running sums of `ln i` with Neumaier compensation (so the
/// rounding error stays near one ulp of the sum instead of growing with `n`).
pub fn ln_factorials(n: u32) -> Vec<f64> {
    let mut out = Vec::with_capacity(n as usize + 1);
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    out.push(0.0);
    for k in 1..=n {
        let term = f64::from(k).ln();
        let t = sum + term;
        carry += if sum.abs() >= term.abs() {
            (sum - t) + term
        } else {
            (term - t) + sum
        };
        sum = t;
        out.push(sum + carry);
    }
    out
}

fn ln_choose(lnf: &[f64], n: u32, k: u32) -> f64 {
    lnf[n as usize] - lnf[k as usize] - lnf[(n - k) as usize]
}

/// `P(X ≥ k)` for `X` ~ hypergeometric(population, successes, draws).
///
/// # Panics
/// If `successes` or `draws` exceed `population` (a caller error).
pub fn tail_at_least(population: u32, successes: u32, draws: u32, k: u32) -> f64 {
    assert!(successes <= population && draws <= population);
    let lnf = ln_factorials(population);
    let total = ln_choose(&lnf, population, draws);
    let lo = k.max(draws.saturating_sub(population - successes));
    let hi = draws.min(successes);
    (lo..=hi)
        .map(|x| {
            (ln_choose(&lnf, successes, x) + ln_choose(&lnf, population - successes, draws - x)
                - total)
                .exp()
        })
        .sum()
}

/// The smallest faulty count that is a third or more of `n`: `⌈n/3⌉`.
pub fn third_or_more(n: u32) -> u32 {
    n.div_ceil(3)
}

/// Bad shards counted over sampled epoch assignments.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub samples: u64,
    pub shards_observed: u64,
    pub bad_shards: u64,
    /// Samples (epochs) in which at least one shard was bad.
    pub bad_epochs: u64,
    pub rate: f64,
    /// Binomial standard error of `rate` under the exact probability.
    pub std_error: f64,
}

/// Assigns `validators` (the first `faulty` of them faulty) to shards of `shard_size`, `samples`
/// times with randomness derived from `seed`, and counts shards with a third or more faulty.
pub fn measure(validators: u32, faulty: u32, shard_size: u32, samples: u64, seed: u64) -> Measured {
    let shards = validators / shard_size;
    let bad_at = third_or_more(shard_size);
    let per_sample: Vec<u64> = (0..samples)
        .into_par_iter()
        .map(|s| {
            let r: [u8; 32] = Sha256::new()
                .chain_update(SAMPLE_DOMAIN)
                .chain_update(seed.to_le_bytes())
                .chain_update(s.to_le_bytes())
                .finalize()
                .into();
            let a = Assignment::with_shard_size(&r, validators, shards, shard_size)
                .expect("shards · shard_size ≤ validators");
            debug_assert_eq!(a.shard_size(), shard_size);
            (0..shards)
                .filter(|&sh| {
                    a.members(sh).iter().filter(|&&v| v < faulty).count() as u32 >= bad_at
                })
                .count() as u64
        })
        .collect();
    let bad_shards: u64 = per_sample.iter().sum();
    let shards_observed = samples * u64::from(shards);
    let p = tail_at_least(validators, faulty, shard_size, bad_at);
    Measured {
        samples,
        shards_observed,
        bad_shards,
        bad_epochs: per_sample.iter().filter(|&&b| b > 0).count() as u64,
        rate: bad_shards as f64 / shards_observed.max(1) as f64,
        std_error: (p * (1.0 - p) / shards_observed.max(1) as f64).sqrt(),
    }
}

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct SafetyRow {
    pub shard_size: u32,
    pub shards: u32,
    pub faulty_fraction: f64,
    pub faulty: u32,
    /// Faulty members that make a shard bad: ⌈n/3⌉.
    pub bad_at: u32,
    /// Exact hypergeometric P(X ≥ ⌈n/3⌉) for one shard.
    pub probability: f64,
    /// Union bound on P(some shard of the epoch is bad): shards × probability, capped at 1.
    pub any_shard_bound: f64,
    pub measured: Measured,
    /// (measured − exact) / standard error; `None` when the standard error is 0.
    pub z: Option<f64>,
}

/// The whole table, data first.
#[derive(Clone, Debug, Serialize)]
pub struct SafetyReport {
    pub validators: u32,
    pub samples: u64,
    pub seed: u64,
    pub rows: Vec<SafetyRow>,
}

/// Rows for every (fraction, size) pair; sizes larger than `validators` are skipped.
pub fn report(
    validators: u32,
    sizes: &[u32],
    fractions: &[f64],
    samples: u64,
    seed: u64,
) -> SafetyReport {
    let mut rows = Vec::new();
    for &fraction in fractions {
        let faulty = (f64::from(validators) * fraction).round() as u32;
        for &size in sizes.iter().filter(|&&s| s > 0 && s <= validators) {
            let bad_at = third_or_more(size);
            let probability = tail_at_least(validators, faulty, size, bad_at);
            let shards = validators / size;
            let measured = measure(validators, faulty, size, samples, seed);
            let z = (measured.std_error > 0.0)
                .then(|| (measured.rate - probability) / measured.std_error);
            rows.push(SafetyRow {
                shard_size: size,
                shards,
                faulty_fraction: fraction,
                faulty,
                bad_at,
                probability,
                any_shard_bound: (probability * f64::from(shards)).min(1.0),
                measured,
                z,
            });
        }
    }
    SafetyReport {
        validators,
        samples,
        seed,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(n: u32, k: u32) -> u128 {
        let mut c: u128 = 1;
        for i in 0..k {
            c = c * u128::from(n - i) / u128::from(i + 1);
        }
        c
    }

    /// The exact tail as a ratio of integers (fits u128 for N ≤ 100).
    fn exact_tail(big_n: u32, big_k: u32, n: u32, k: u32) -> f64 {
        let num: u128 = (k..=n.min(big_k))
            .filter(|&x| n - x <= big_n - big_k)
            .map(|x| choose(big_k, x) * choose(big_n - big_k, n - x))
            .sum();
        num as f64 / choose(big_n, n) as f64
    }

    #[test]
    fn log_space_sum_matches_exact_integers() {
        for &(big_n, big_k, n) in &[
            (30, 10, 9),
            (60, 15, 20),
            (100, 25, 16),
            (100, 33, 50),
            (100, 50, 100),
            (100, 0, 10),
        ] {
            for k in [0, 1, third_or_more(n), n / 2, n] {
                let got = tail_at_least(big_n, big_k, n, k);
                let want = exact_tail(big_n, big_k, n, k);
                assert!(
                    (got - want).abs() <= 1e-12 * want.max(1e-300),
                    "N={big_n} K={big_k} n={n} k={k}: {got} vs {want}"
                );
            }
        }
        let total = tail_at_least(1800, 450, 100, 0);
        assert!((total - 1.0).abs() < 1e-10, "pmf sums to {total}");
    }

    #[test]
    fn measured_rate_agrees_with_the_exact_probability() {
        let m = measure(300, 75, 30, 2_000, 1);
        let p = tail_at_least(300, 75, 30, 10);
        assert_eq!(m.shards_observed, 20_000);
        assert!(
            (m.rate - p).abs() < 5.0 * m.std_error,
            "{} vs {p} ± {}",
            m.rate,
            m.std_error
        );
    }
}
