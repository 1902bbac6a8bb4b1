//! Batch verification: one multiscalar multiplication for many signatures, with a verdict for each.
//!
//! For signatures `i` with random 128-bit coefficients `zᵢ`, the batch holds when
//! `[8]( [Σ zᵢSᵢ]B − Σ zᵢRᵢ − Σⱼ [Σ_{i: Aᵢ = Aⱼ} zᵢkᵢ]Aⱼ ) = 0`.
//! Signatures that share a public key are coalesced into one term, so the multiscalar
//! multiplication has `n + (distinct keys) + 1` points instead of `2n + 1`. Public keys come from a
//! [`KeyCache`], so a reused key is decompressed once per process, not once per signature. The
//! `R`s of a batch, and the keys the cache misses, are decompressed together
//! ([`super::decompress`]: on AVX-512 IFMA where the CPU has it).
//!
//! When the combination fails, the set is bisected (fresh coefficients each time) down to
//! [`SINGLE_CHECK_BELOW`] signatures, which are checked one by one with the single equation: every
//! signature gets its own verdict, and an invalid signature costs `O(log n)` extra batch checks.

use std::cell::RefCell;
use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity, VartimeMultiscalarMul};
use rand::RngCore;

use super::decompress::Decompressor;
use super::key_cache::Lookup;
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
    /// Index of R in the batch's table of decompressed R points.
    r: u32,
    k: Scalar,
    s: Scalar,
}

/// Verifies a batch of signatures under ZIP-215 rules; the verdict of `items[i]` is `result[i]`.
/// Gives exactly the verdicts of [`zip215::verify_single`] (up to a 2⁻¹²⁸ chance per batch check).
/// Uses this thread's scratch buffers, so steady-state batches allocate little.
pub fn verify_batch(items: &[SigRef<'_>], cache: &KeyCache) -> Vec<bool> {
    verify_batch_tuned(items, cache, BatchTuning::default())
}

/// Which speed-ups a batch uses. All on by default; switching one off exists to measure what it
/// buys (`iosv bench sigverify` reports each), never changes a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchTuning {
    /// Take public keys from the [`KeyCache`] instead of decompressing each one.
    pub key_cache: bool,
    /// One multiscalar term per distinct public key instead of one per signature.
    pub coalesce_keys: bool,
    /// Reuse this thread's buffers instead of allocating them per batch.
    pub reuse_buffers: bool,
    /// Decompress the `R`s (and missed keys) sixteen at a time on AVX-512 IFMA where the CPU has it
    /// ([`Decompressor::best`]) instead of one at a time with dalek.
    pub simd_decompress: bool,
}

impl Default for BatchTuning {
    fn default() -> Self {
        Self {
            key_cache: true,
            coalesce_keys: true,
            reuse_buffers: true,
            simd_decompress: true,
        }
    }
}

/// [`verify_batch`] with chosen speed-ups (for measurements).
pub fn verify_batch_tuned(
    items: &[SigRef<'_>],
    cache: &KeyCache,
    tuning: BatchTuning,
) -> Vec<bool> {
    if !tuning.reuse_buffers {
        return verify_batch_with(items, cache, tuning, &mut BatchScratch::default());
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => verify_batch_with(items, cache, tuning, &mut scratch),
        // Re-entered from inside a batch (cannot happen today): use fresh buffers.
        Err(_) => verify_batch_with(items, cache, tuning, &mut BatchScratch::default()),
    })
}

thread_local! {
    static SCRATCH: RefCell<BatchScratch> = RefCell::new(BatchScratch::default());
}

/// Buffers a batch verification needs, kept between batches. Measured on the development machine:
/// allocating them per batch of 1,024 cost ~10% of the run in page clearing (the allocator returns
/// large freed blocks to the OS, and the next batch faults them back in zeroed).
#[derive(Default)]
pub struct BatchScratch {
    keys: Vec<EdwardsPoint>,
    r_points: Vec<EdwardsPoint>,
    key_slots: HashMap<[u8; 32], u32>,
    prepared: Vec<Prepared>,
    key_coeff: Vec<Scalar>,
    touched: Vec<u32>,
    scalars: Vec<Scalar>,
    random: Vec<u8>,
    /// Signatures with a canonical `S`: position and `S`.
    canonical: Vec<(u32, Scalar)>,
    r_encodings: Vec<[u8; 32]>,
    r_decoded: Vec<Option<EdwardsPoint>>,
    /// Per entry of `canonical`: its key's slot (`u32::MAX` where `R` did not decode).
    sig_slots: Vec<u32>,
    /// Per key slot: whether the key decoded.
    key_ok: Vec<bool>,
    /// Keys the cache did not hold: slot, whether to cache the result, encoding, decoding.
    key_pending: Vec<(u32, bool)>,
    key_encodings: Vec<[u8; 32]>,
    key_decoded: Vec<Option<EdwardsPoint>>,
}

/// [`verify_batch`] with caller-owned scratch buffers.
pub fn verify_batch_with(
    items: &[SigRef<'_>],
    cache: &KeyCache,
    tuning: BatchTuning,
    scratch: &mut BatchScratch,
) -> Vec<bool> {
    #[cfg(feature = "inject-slowdown")]
    let _slowdown = slowdown::Guard::start();
    let mut verdicts = vec![false; items.len()];
    let BatchScratch {
        keys,
        r_points,
        key_slots,
        prepared,
        key_coeff,
        touched,
        scalars,
        random,
        canonical,
        r_encodings,
        r_decoded,
        sig_slots,
        key_ok,
        key_pending,
        key_encodings,
        key_decoded,
    } = scratch;
    keys.clear();
    r_points.clear();
    key_slots.clear();
    prepared.clear();
    canonical.clear();
    r_encodings.clear();
    sig_slots.clear();
    key_ok.clear();
    key_pending.clear();
    key_encodings.clear();
    let decompressor = if tuning.simd_decompress {
        Decompressor::best()
    } else {
        Decompressor::Serial
    };

    // 1. S must be canonical; the R of every such signature is decoded in one call.
    for (index, item) in items.iter().enumerate() {
        let Some(s) = zip215::canonical_s(item.sig) else {
            continue;
        };
        canonical.push((u32::try_from(index).expect("batch larger than u32"), s));
        r_encodings.push(item.sig[..32].try_into().expect("R is 32 bytes"));
    }
    decompressor.decompress_into(r_encodings, r_decoded);

    // 2. A key slot per signature whose R decoded (one per distinct key when coalescing); the
    // keys the cache does not hold are decoded in one call.
    for (&(index, _), r) in canonical.iter().zip(r_decoded.iter()) {
        if r.is_none() {
            sig_slots.push(u32::MAX);
            continue;
        }
        let pk = items[index as usize].pk;
        let known = if tuning.coalesce_keys {
            key_slots.get(pk).copied()
        } else {
            None
        };
        let slot = match known {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(keys.len()).expect("batch larger than u32");
                let lookup = if tuning.key_cache {
                    cache.lookup(pk)
                } else {
                    Lookup::Miss { admit: false }
                };
                match lookup {
                    Lookup::Hit(point) => {
                        keys.push(point.unwrap_or_else(EdwardsPoint::identity));
                        key_ok.push(point.is_some());
                    }
                    Lookup::Miss { admit } => {
                        keys.push(EdwardsPoint::identity());
                        key_ok.push(false);
                        key_pending.push((slot, admit));
                        key_encodings.push(*pk);
                    }
                }
                if tuning.coalesce_keys {
                    key_slots.insert(*pk, slot);
                }
                slot
            }
        };
        sig_slots.push(slot);
    }
    decompressor.decompress_into(key_encodings, key_decoded);
    for ((&(slot, admit), pk), point) in key_pending
        .iter()
        .zip(key_encodings.iter())
        .zip(key_decoded.iter())
    {
        if let Some(a) = point {
            keys[slot as usize] = *a;
            key_ok[slot as usize] = true;
        }
        if admit {
            cache.insert(pk, *point);
        }
    }

    // 3. The challenge of every signature whose R and A decoded.
    for (((&(index, s), r_bytes), r), &slot) in canonical
        .iter()
        .zip(r_encodings.iter())
        .zip(r_decoded.iter())
        .zip(sig_slots.iter())
    {
        let Some(r) = r else {
            continue;
        };
        if !key_ok[slot as usize] {
            continue;
        }
        let item = &items[index as usize];
        let k = zip215::challenge(r_bytes, item.pk, item.msg);
        prepared.push(Prepared {
            index,
            key: slot,
            r: u32::try_from(r_points.len()).expect("batch larger than u32"),
            k,
            s,
        });
        r_points.push(*r);
    }

    key_coeff.clear();
    key_coeff.resize(keys.len(), Scalar::ZERO);
    let mut checker = Checker {
        keys,
        r_points,
        key_coeff,
        touched,
        scalars,
        random,
    };
    checker.settle(prepared, &mut verdicts);
    verdicts
}

/// Runs batch equations over subsets of one batch's prepared signatures.
struct Checker<'s> {
    keys: &'s [EdwardsPoint],
    r_points: &'s [EdwardsPoint],
    /// Per distinct key: accumulated coefficient for the current equation (all zero between).
    key_coeff: &'s mut [Scalar],
    /// Keys touched by the current equation (so clearing is proportional to the subset).
    touched: &'s mut Vec<u32>,
    scalars: &'s mut Vec<Scalar>,
    random: &'s mut Vec<u8>,
}

impl Checker<'_> {
    /// Sets `verdicts[p.index] = true` for every valid signature of `set`.
    fn settle(&mut self, set: &[Prepared], verdicts: &mut [bool]) {
        if set.is_empty() {
            return;
        }
        if set.len() < SINGLE_CHECK_BELOW {
            for p in set {
                let a = &self.keys[p.key as usize];
                let r = &self.r_points[p.r as usize];
                verdicts[p.index as usize] = zip215::equation_holds(a, r, &p.k, &p.s);
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
        rand::rng().fill_bytes(self.random);
        self.scalars.clear();
        self.touched.clear();

        // Scalars in the order [B, R of each signature, each touched key]; the points are chained
        // in the same order below, borrowed from the tables (no copies).
        let mut b_coeff = Scalar::ZERO;
        self.scalars.push(Scalar::ZERO); // placeholder for B's coefficient
        for (p, z) in set.iter().zip(self.random.chunks_exact(16)) {
            let z = coefficient(z);
            b_coeff += z * p.s;
            self.scalars.push(-z);
            let slot = p.key as usize;
            // A coefficient that returns to exactly zero (probability ~2⁻²⁵²) makes the key listed
            // twice; its second term then has coefficient zero, which is harmless.
            if self.key_coeff[slot] == Scalar::ZERO {
                self.touched.push(p.key);
            }
            self.key_coeff[slot] -= z * p.k;
        }
        self.scalars[0] = b_coeff;
        for &slot in self.touched.iter() {
            let slot = slot as usize;
            self.scalars.push(self.key_coeff[slot]);
            self.key_coeff[slot] = Scalar::ZERO;
        }
        let points = std::iter::once(&ED25519_BASEPOINT_POINT)
            .chain(set.iter().map(|p| &self.r_points[p.r as usize]))
            .chain(self.touched.iter().map(|&k| &self.keys[k as usize]));
        EdwardsPoint::vartime_multiscalar_mul(self.scalars.iter(), points)
            .mul_by_cofactor()
            .is_identity()
    }
}

/// A uniformly random 128-bit coefficient, never zero (a zero would drop a signature from the check).
fn coefficient(bytes: &[u8]) -> Scalar {
    let z = u128::from_le_bytes(bytes.try_into().expect("16 random bytes"));
    // 2¹²⁸ < L, so the conversion needs no reduction.
    Scalar::from(z.max(1))
}

/// A deliberate, proportional slowdown of batch verification, compiled in only with the
/// `inject-slowdown` feature and active only when `IOSV_INJECT_SLOWDOWN_PCT` is set: it exists to
/// prove that the performance regression gate (`iosv gate`) catches a slowdown of that size.
#[cfg(feature = "inject-slowdown")]
mod slowdown {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    fn percent() -> u32 {
        static PERCENT: OnceLock<u32> = OnceLock::new();
        *PERCENT.get_or_init(|| {
            std::env::var("IOSV_INJECT_SLOWDOWN_PCT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
    }

    /// On drop, spins for `percent` % of the time since `start`.
    pub(super) struct Guard(Instant);

    impl Guard {
        pub(super) fn start() -> Self {
            Self(Instant::now())
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            let pct = percent();
            if pct == 0 {
                return;
            }
            let extra: Duration = self.0.elapsed() * pct / 100;
            let until = Instant::now() + extra;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    }
}
