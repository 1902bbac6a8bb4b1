//! Batch verification of many collective signatures from one roster.
//!
//! With random 128-bit coefficients `z_i`, the batch holds when
//! `[8]( [Σ z_i r_i]B − Σ z_i V_i − Σ_masks [Σ_{i: mask_i = m} z_i k_i] A'_m ) = 0`:
//! one multiscalar multiplication with one term per signature, one per distinct participant set
//! (consecutive rounds of a stable roster mostly share one) and the basepoint. Each distinct
//! aggregate key is computed once per batch. Because every equation is cofactored, the combination
//! holds iff every equation does (up to 2⁻¹²⁸ per check), so verdicts equal [`verify`](super::verify)'s.
//! When it fails, the set is bisected with fresh coefficients down to single checks.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::CryptoRng;

use super::Roster;
use super::verify::{decode, encoded_key};
use crate::cosi::Policy;
use crate::sig::zip215;

/// Sets smaller than this are checked one by one when a combination fails; the same trade-off as
/// [`crate::sig::batch::SINGLE_CHECK_BELOW`] (a set of 2 costs more to bisect than to check singly).
pub const SINGLE_CHECK_BELOW: usize = crate::sig::batch::SINGLE_CHECK_BELOW;

/// A signature that passed decoding and policy, ready for an equation.
struct Prepared {
    index: usize,
    /// Slot of its aggregate key in the batch's table.
    key: usize,
    v: EdwardsPoint,
    k: Scalar,
    r: Scalar,
}

/// Verdicts for `items` (message, signature), each equal to `verify(roster, policy, msg, sig).is_ok()`.
/// `rng` draws the coefficients: it must be unpredictable to whoever made the signatures.
pub fn verify_batch<M, S, R>(
    roster: &Roster,
    policy: Policy,
    items: &[(M, S)],
    rng: &mut R,
) -> Vec<bool>
where
    M: AsRef<[u8]>,
    S: AsRef<[u8]>,
    R: CryptoRng + ?Sized,
{
    let mut verdicts = vec![false; items.len()];
    let mut keys: Vec<EdwardsPoint> = Vec::new();
    let mut slots: HashMap<Vec<u8>, Option<(usize, [u8; 32])>> = HashMap::new();
    let mut prepared = Vec::with_capacity(items.len());
    for (index, (msg, sig)) in items.iter().enumerate() {
        let Ok(d) = decode(roster, policy, sig.as_ref()) else {
            continue;
        };
        let slot = match slots.get(d.mask.as_bytes()) {
            Some(&slot) => slot,
            None => {
                // `None` records an identity aggregate key, refused like `verify` refuses it.
                let slot = roster
                    .aggregate_key(&d.mask)
                    .and_then(encoded_key)
                    .ok()
                    .map(|(a, a_bytes)| {
                        keys.push(a);
                        (keys.len() - 1, a_bytes)
                    });
                slots.insert(d.mask.as_bytes().to_vec(), slot);
                slot
            }
        };
        let Some((key, a_bytes)) = slot else {
            continue;
        };
        prepared.push(Prepared {
            index,
            key,
            v: d.v,
            k: zip215::challenge(&d.v_bytes, &a_bytes, msg.as_ref()),
            r: d.r,
        });
    }
    let mut checker = Checker {
        keys: &keys,
        key_coeff: vec![Scalar::ZERO; keys.len()],
        rng,
    };
    checker.settle(&prepared, &mut verdicts);
    verdicts
}

struct Checker<'a, R: ?Sized> {
    keys: &'a [EdwardsPoint],
    /// Per aggregate key: its coefficient in the current combination (zero between combinations).
    key_coeff: Vec<Scalar>,
    rng: &'a mut R,
}

impl<R: CryptoRng + ?Sized> Checker<'_, R> {
    fn settle(&mut self, set: &[Prepared], verdicts: &mut [bool]) {
        if set.is_empty() {
            return;
        }
        if set.len() < SINGLE_CHECK_BELOW {
            for p in set {
                verdicts[p.index] = zip215::equation_holds(&self.keys[p.key], &p.v, &p.k, &p.r);
            }
            return;
        }
        if self.combination_holds(set) {
            for p in set {
                verdicts[p.index] = true;
            }
            return;
        }
        let (left, right) = set.split_at(set.len() / 2);
        self.settle(left, verdicts);
        self.settle(right, verdicts);
    }

    fn combination_holds(&mut self, set: &[Prepared]) -> bool {
        let mut scalars = Vec::with_capacity(set.len() + 2);
        let mut touched = Vec::new();
        let mut b_coeff = Scalar::ZERO;
        scalars.push(Scalar::ZERO); // B's coefficient, set below
        for p in set {
            let z = coefficient(self.rng);
            b_coeff += z * p.r;
            scalars.push(-z);
            if self.key_coeff[p.key] == Scalar::ZERO {
                touched.push(p.key);
            }
            self.key_coeff[p.key] -= z * p.k;
        }
        scalars[0] = b_coeff;
        for &slot in &touched {
            scalars.push(self.key_coeff[slot]);
            self.key_coeff[slot] = Scalar::ZERO;
        }
        let points = std::iter::once(&ED25519_BASEPOINT_POINT)
            .chain(set.iter().map(|p| &p.v))
            .chain(touched.iter().map(|&k| &self.keys[k]));
        EdwardsPoint::vartime_multiscalar_mul(scalars.iter(), points)
            .mul_by_cofactor()
            .is_identity()
    }
}

/// A uniformly random non-zero 128-bit coefficient (2¹²⁸ < L: no reduction).
fn coefficient<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    Scalar::from(u128::from_le_bytes(bytes).max(1))
}
