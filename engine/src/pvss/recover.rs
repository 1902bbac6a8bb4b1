//! Recovering `s·G` from `t` decrypted shares: Lagrange interpolation at 0 in the exponent,
//! `s·G = Σ λ_i·S_i` with `λ_i = Π_{j≠i} j / (j − i)` over the chosen indices.
//!
//! Invariants: indices are in `1..=u32::MAX` and distinct (a zero or a repeated index would make a
//! denominator zero); exactly the first `t` shares are used, so the caller must pass verified
//! shares ([`recover_verified`] does the verification itself).

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

use super::PvssError;
use super::point::Point;
use super::scheme::{DealTranscript, DecryptedShare, verify_decrypted_shares};

/// The Lagrange coefficients at 0 for `indices` (non-zero, distinct).
pub fn lagrange_at_zero(indices: &[u32]) -> Result<Vec<Scalar>, PvssError> {
    for (k, &i) in indices.iter().enumerate() {
        if i == 0 {
            return Err(PvssError::ZeroIndex);
        }
        if indices[..k].contains(&i) {
            return Err(PvssError::DuplicateIndex(i));
        }
    }
    let xs: Vec<Scalar> = indices.iter().map(|&i| Scalar::from(i)).collect();
    let mut numerators = Vec::with_capacity(xs.len());
    let mut denominators = Vec::with_capacity(xs.len());
    for (k, xi) in xs.iter().enumerate() {
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (m, xj) in xs.iter().enumerate() {
            if m != k {
                num *= xj;
                den *= xj - xi;
            }
        }
        numerators.push(num);
        denominators.push(den);
    }
    // Distinct indices below 2³² < L: every denominator is non-zero.
    Scalar::invert_batch_alloc(&mut denominators);
    Ok(numerators
        .iter()
        .zip(&denominators)
        .map(|(n, d)| n * d)
        .collect())
}

/// `s·G` from shares `(i, S_i)`, using the first `threshold` of them.
///
/// Errors when `threshold` is zero, fewer than `threshold` shares are given, or an index among
/// those used is zero or repeated.
pub fn recover(shares: &[(u32, Point)], threshold: usize) -> Result<EdwardsPoint, PvssError> {
    if threshold == 0 {
        return Err(PvssError::ThresholdOutOfRange {
            threshold,
            participants: shares.len(),
        });
    }
    if shares.len() < threshold {
        return Err(PvssError::NotEnoughShares {
            have: shares.len(),
            need: threshold,
        });
    }
    let used = &shares[..threshold];
    let indices: Vec<u32> = used.iter().map(|(i, _)| *i).collect();
    let lambdas = lagrange_at_zero(&indices)?;
    Ok(EdwardsPoint::vartime_multiscalar_mul(
        &lambdas,
        used.iter().map(|(_, s)| *s.as_edwards()),
    ))
}

/// Verifies `shares` against the transcript (batched), drops invalid and repeated ones, and
/// recovers `s·G` from the valid ones; fails if fewer than `t` remain.
pub fn recover_verified(
    transcript: &DealTranscript,
    public_keys: &[Point],
    shares: &[DecryptedShare],
) -> Result<EdwardsPoint, PvssError> {
    let threshold = transcript.threshold as usize;
    super::scheme::check_threshold(threshold, public_keys.len())?;
    let verdicts = verify_decrypted_shares(transcript, public_keys, shares);
    let mut valid: Vec<(u32, Point)> = Vec::with_capacity(threshold);
    for (share, ok) in shares.iter().zip(verdicts) {
        if ok && !valid.iter().any(|(i, _)| *i == share.index) {
            valid.push((share.index, share.share));
        }
    }
    if valid.len() < threshold {
        return Err(PvssError::NotEnoughShares {
            have: valid.len(),
            need: threshold,
        });
    }
    recover(&valid, threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lagrange_interpolates_constants_and_lines() {
        // p(z) = 4 + 9z: p(0) = Σ λ_i p(i).
        let p = |z: u64| Scalar::from(4 + 9 * z);
        for indices in [vec![1u32, 2], vec![2, 7], vec![5, 3]] {
            let l = lagrange_at_zero(&indices).unwrap();
            let at_zero: Scalar = indices
                .iter()
                .zip(&l)
                .map(|(&i, li)| li * p(i.into()))
                .sum();
            assert_eq!(at_zero, Scalar::from(4u64));
        }
        assert_eq!(lagrange_at_zero(&[3]).unwrap(), vec![Scalar::ONE]);
        assert_eq!(lagrange_at_zero(&[1, 0]), Err(PvssError::ZeroIndex));
        assert_eq!(
            lagrange_at_zero(&[1, 2, 1]),
            Err(PvssError::DuplicateIndex(1))
        );
    }
}
