//! Batch verification of many collective signatures, with a verdict for each.
//!
//! For signatures `i` with aggregate keys `apkᵢ` and random nonzero 64-bit coefficients `rᵢ`, the
//! batch holds when `Π e(rᵢ·apkᵢ, H(mᵢ)) = e(g₁, Σ rᵢ·σᵢ)`: `n + 1` Miller loops and one final
//! exponentiation instead of `2n` and `n`. A valid set always passes; an invalid one passes with
//! probability at most about 2⁻⁶⁴, because the coefficients come from a cryptographic RNG after the
//! signatures are fixed, so signers cannot make their errors cancel.
//!
//! When a batch fails, the set is bisected with fresh coefficients. When the left half of a failing
//! set passes, the right half is known to fail and is split without being checked; a single
//! signature left in a set known to fail is invalid. A single signature in a set not known to fail
//! is checked alone with [`verify()`](fn@super::verify)'s equation, so every verdict is the one `verify`
//! would give.
//!
//! Decoding, policy and aggregate keys run in parallel on rayon, and so do the Miller loops of a batch
//! (one pairing context per chunk, merged before the final exponentiation).

use blst::{BLST_ERROR, Pairing, blst_p1_affine, blst_p2_affine};
use rand::CryptoRng;
use rayon::prelude::*;

use super::verify::{pairing_check, prepare};
use super::{BlsRoster, PublicKey, SIG_DST, Signature};
use crate::cosi::Policy;

/// Bits of each random coefficient: a forged set passes a batch check with probability about 2⁻⁶⁴,
/// the figure Ethereum clients accept for BLS batches, at a quarter of a full scalar's cost.
const COEFFICIENT_BITS: usize = 64;

/// A signature that passed decoding, policy and aggregation, ready for the pairing.
struct Prepared<'a> {
    /// Position in the caller's slice.
    index: usize,
    msg: &'a [u8],
    pk: PublicKey,
    sig: Signature,
}

/// Verifies collective signatures `items[i] = (msg, sig_bytes)` by members of `roster` under
/// `policy`; `result[i]` is the verdict of [`verify()`](fn@super::verify) on `items[i]`. `rng` draws the
/// coefficients: it must be unpredictable to signers (use `rand::rng()`).
pub fn verify_batch<M, S, R>(
    roster: &BlsRoster,
    policy: Policy,
    items: &[(M, S)],
    rng: &mut R,
) -> Vec<bool>
where
    M: AsRef<[u8]> + Sync,
    S: AsRef<[u8]> + Sync,
    R: CryptoRng + ?Sized,
{
    let prepared: Vec<Prepared<'_>> = items
        .par_iter()
        .enumerate()
        .filter_map(|(index, (msg, sig))| {
            let (pk, sig) = prepare(roster, policy, sig.as_ref()).ok()?;
            Some(Prepared {
                index,
                msg: msg.as_ref(),
                pk,
                sig,
            })
        })
        .collect();
    let mut verdicts = vec![false; items.len()];
    settle(&prepared, false, rng, &mut verdicts);
    verdicts
}

/// Writes the verdicts of `set`; `known_bad` when the set is known to hold an invalid signature.
fn settle<R: CryptoRng + ?Sized>(
    set: &[Prepared<'_>],
    known_bad: bool,
    rng: &mut R,
    verdicts: &mut [bool],
) {
    match set {
        [] => {}
        [one] => {
            verdicts[one.index] = !known_bad && pairing_check(SIG_DST, &one.pk, one.msg, &one.sig);
        }
        _ if !known_bad && batch_holds(set, rng) => {
            for p in set {
                verdicts[p.index] = true;
            }
        }
        _ => {
            let (left, right) = set.split_at(set.len() / 2);
            let left_passed = settle_reporting(left, rng, verdicts);
            settle(right, left_passed, rng, verdicts);
        }
    }
}

/// [`settle`] for a set not known to fail; returns whether every signature in it is valid.
fn settle_reporting<R: CryptoRng + ?Sized>(
    set: &[Prepared<'_>],
    rng: &mut R,
    verdicts: &mut [bool],
) -> bool {
    settle(set, false, rng, verdicts);
    set.iter().all(|p| verdicts[p.index])
}

/// The random linear combination of `set`'s equations, with fresh coefficients.
fn batch_holds<R: CryptoRng + ?Sized>(set: &[Prepared<'_>], rng: &mut R) -> bool {
    let coefficients: Vec<[u8; COEFFICIENT_BITS / 8]> = set
        .iter()
        .map(|_| {
            loop {
                let r = rng.next_u64();
                if r != 0 {
                    break r.to_le_bytes();
                }
            }
        })
        .collect();
    let chunk = set.len().div_ceil(rayon::current_num_threads()).max(1);
    let contexts: Option<Vec<Pairing<'static>>> = set
        .par_chunks(chunk)
        .zip(coefficients.par_chunks(chunk))
        .map(|(items, coefficients)| {
            let mut ctx = Pairing::new(true, SIG_DST);
            for (p, r) in items.iter().zip(coefficients) {
                let pk: &blst_p1_affine = (&p.pk).into();
                let sig: &blst_p2_affine = (&p.sig).into();
                let added =
                    ctx.mul_n_aggregate(pk, false, sig, false, r, COEFFICIENT_BITS, p.msg, &[]);
                if added != BLST_ERROR::BLST_SUCCESS {
                    return None;
                }
            }
            ctx.commit();
            Some(ctx)
        })
        .collect();
    let Some(mut contexts) = contexts else {
        return false;
    };
    let Some(mut acc) = contexts.pop() else {
        return true;
    };
    for ctx in &contexts {
        if acc.merge(ctx) != BLST_ERROR::BLST_SUCCESS {
            return false;
        }
    }
    acc.finalverify(None)
}
