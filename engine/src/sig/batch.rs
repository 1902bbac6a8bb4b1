//! Batch verification: one multiscalar multiplication for many signatures, with a verdict for each.
//!
//! For signatures `i` with random 128-bit coefficients `zᵢ`, the batch holds when
//! `[8]( [Σ zᵢSᵢ]B − Σ zᵢRᵢ − Σⱼ [Σ_{i: Aᵢ = Aⱼ} zᵢkᵢ]Aⱼ ) = 0`.
//! Signatures that share a public key are coalesced into one term, so the multiscalar
//! multiplication has `n + (distinct keys) + 1` points instead of `2n + 1`. Public keys come from a
//! [`KeyCache`], so a reused key is decompressed once per process, not once per signature.
//!
//! When the combination fails, the set is bisected (fresh coefficients each time) down to
//! [`SINGLE_CHECK_BELOW`] signatures, which are checked one by one with the single equation: every
//! signature gets its own verdict, and an invalid signature costs `O(log n)` extra batch checks.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::RngCore;

use super::{KeyCache, SigRef, zip215};

/// Sets smaller than this are checked signature by signature when a batch fails. Bisecting a set of
/// 2 costs more multiscalar work than two single checks (each single check is a double-base scalar
/// multiplication with a precomputed basepoint table).
pub const SINGLE_CHECK_BELOW: usize = 4;

/// A signature that passed the cheap checks (canonical S, R and A decode), ready for an equation.
#[derive(Clone, Copy)]
struct Prepared {
    /// Position in the caller's slice.
    index: u32,
    /// Index of the public key in the batch's distinct-key table.
    key: u32,
    r: EdwardsPoint,
    k: Scalar,
    s: Scalar,
}

/// Verifies a batch of signatures under ZIP-215 rules; the verdict of `items[i]` is `result[i]`.
/// Gives exactly the verdicts of [`zip215::verify_single`] (up to a 2⁻¹²⁸ chance per batch check).
pub fn verify_batch(items: &[SigRef<'_>], cache: &KeyCache) -> Vec<bool> {
    slowdown_hook_n(items.len());
    let mut verdicts = vec![false; items.len()];
    let mut keys: Vec<EdwardsPoint> = Vec::new();
    let mut key_slots: HashMap<[u8; 32], u32> = HashMap::with_capacity(items.len());
    let mut prepared: Vec<Prepared> = Vec::with_capacity(items.len());

    for (index, item) in items.iter().enumerate() {
        let Some(s) = zip215::canonical_s(item.sig) else {
            continue;
        };
        let r_bytes: &[u8; 32] = item.sig[..32].try_into().expect("R is 32 bytes");
        let Some(r) = zip215::decompress(r_bytes) else {
            continue;
        };
        let key = match key_slots.get(item.pk) {
            Some(&slot) => slot,
            None => {
                let Some(a) = cache.get_or_decompress(item.pk) else {
                    continue;
                };
                let slot = u32::try_from(keys.len()).expect("batch larger than u32");
                keys.push(a);
                key_slots.insert(*item.pk, slot);
                slot
            }
        };
        let k = zip215::challenge(r_bytes, item.pk, item.msg);
        prepared.push(Prepared {
            index: u32::try_from(index).expect("batch larger than u32"),
            key,
            r,
            k,
            s,
        });
    }

    let mut checker = Checker::new(&keys);
    checker.settle(&prepared, &mut verdicts);
    verdicts
}

/// Runs batch equations over subsets of one batch's prepared signatures.
struct Checker<'k> {
    keys: &'k [EdwardsPoint],
    /// Per distinct key: accumulated coefficient for the current equation.
    key_coeff: Vec<Scalar>,
    /// Keys touched by the current equation (so clearing is proportional to the subset).
    touched: Vec<u32>,
    scalars: Vec<Scalar>,
    points: Vec<EdwardsPoint>,
    random: Vec<u8>,
}

impl<'k> Checker<'k> {
    fn new(keys: &'k [EdwardsPoint]) -> Self {
        Self {
            keys,
            key_coeff: vec![Scalar::ZERO; keys.len()],
            touched: Vec::new(),
            scalars: Vec::new(),
            points: Vec::new(),
            random: Vec::new(),
        }
    }

    /// Sets `verdicts[p.index] = true` for every valid signature of `set`.
    fn settle(&mut self, set: &[Prepared], verdicts: &mut [bool]) {
        if set.is_empty() {
            return;
        }
        if set.len() < SINGLE_CHECK_BELOW {
            for p in set {
                let a = &self.keys[p.key as usize];
                verdicts[p.index as usize] = zip215::equation_holds(a, &p.r, &p.k, &p.s);
            }
            return;
        }
        if self.combination_holds(set) {
            for p in set {
                verdicts[p.index as usize] = true;
            }
            return;
        }
        let (left, right) = set.split_at(set.len() / 2);
        self.settle(left, verdicts);
        self.settle(right, verdicts);
    }

    /// The random linear combination of the cofactored equations of `set`, coalesced by key.
    fn combination_holds(&mut self, set: &[Prepared]) -> bool {
        self.random.resize(set.len() * 16, 0);
        rand::rng().fill_bytes(&mut self.random);
        self.scalars.clear();
        self.points.clear();
        self.touched.clear();

        let mut b_coeff = Scalar::ZERO;
        self.scalars.push(Scalar::ZERO); // placeholder for B's coefficient
        self.points.push(ED25519_BASEPOINT_POINT);
        for (p, z) in set.iter().zip(self.random.chunks_exact(16)) {
            let z = coefficient(z);
            b_coeff += z * p.s;
            self.scalars.push(-z);
            self.points.push(p.r);
            let slot = p.key as usize;
            if self.key_coeff[slot] == Scalar::ZERO {
                self.touched.push(p.key);
            }
            self.key_coeff[slot] -= z * p.k;
        }
        self.scalars[0] = b_coeff;
        for &slot in &self.touched {
            let slot = slot as usize;
            self.scalars.push(self.key_coeff[slot]);
            self.points.push(self.keys[slot]);
            self.key_coeff[slot] = Scalar::ZERO;
        }
        EdwardsPoint::vartime_multiscalar_mul(&self.scalars, &self.points)
            .mul_by_cofactor()
            .is_identity()
    }
}

/// A uniformly random 128-bit coefficient, never zero (a zero would drop a signature from the check).
fn coefficient(bytes: &[u8]) -> Scalar {
    let mut wide = [0u8; 32];
    wide[..16].copy_from_slice(bytes);
    if wide[..16].iter().all(|&b| b == 0) {
        wide[0] = 1;
    }
    Scalar::from_bytes_mod_order(wide)
}

/// Extra work per signature when the `inject-slowdown` feature is on (only for proving that the
/// regression gate catches a slowdown); nothing otherwise.
#[inline]
pub(crate) fn slowdown_hook() {
    slowdown_hook_n(1);
}

#[inline]
fn slowdown_hook_n(_signatures: usize) {
    #[cfg(feature = "inject-slowdown")]
    {
        // About 10% of a batched verification: one extra decompression-sized exponentiation per
        // signature would be ~20%; half of one is close enough and easy to reason about.
        let mut x = Scalar::from(7u64);
        for _ in 0.._signatures * 30 {
            x = std::hint::black_box(x * x);
        }
        std::hint::black_box(x);
    }
}
