//! Which transactions of a block a validator must re-validate, from its [`SamplingSeed`].
//!
//! The rule (consensus-relevant: anyone recomputes a validator's sample from its proven seed):
//!
//! - `key = SHA-256(SELECT_DOMAIN ‖ seed (64 bytes))`; `h(i)` = the little-endian 64-bit word of
//!   bytes `8i .. 8i + 8` of the ChaCha20 keystream under `key` (20 rounds, nonce 0, block
//!   counter from 0 — the stream `rand_chacha::ChaCha20Rng::from_seed(key)` produces, whose
//!   output that crate keeps stable across versions and platforms), a uniform 64-bit value for
//!   transaction index `i`;
//! - `threshold(p) = 0` if `p = 0`, `2^64` (every value passes) if `p = 1`, otherwise
//!   `floor(p · 2^64)` computed in `f64` (exact: `p · 2^64` is `p` with its exponent shifted, and the
//!   conversion to `u64` truncates);
//! - index `i` is selected iff `h(i) < threshold(p)`, so with probability `threshold / 2^64`, within
//!   `2^-53` of `p`, independently for every index.
//!
//! `p = 0` selects none, `p = 1` selects all.
//!
//! Cost: the keystream gives eight indices per ChaCha20 block, about 40 times cheaper than one
//! SHA-512 per index (the previous rule): a normal validator walks every index of every block,
//! so this is paid per transaction per validator (`perf-reports/demo.md`).

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use super::SamplingSeed;

/// Domain tag of the per-index selection hash.
pub const SELECT_DOMAIN: &[u8] = crate::domain::SAMPLING_SELECT;

/// `floor(p · 2^64)` as a `u128` (so that `p = 1` gives exactly `2^64`).
///
/// # Panics
///
/// If `p` is not in `[0, 1]` (NaN included): the sampling probability is a protocol parameter, not
/// untrusted input.
pub fn threshold(p: f64) -> u128 {
    assert!(
        (0.0..=1.0).contains(&p),
        "sampling probability must be in [0, 1], got {p}"
    );
    if p == 1.0 {
        1u128 << 64
    } else {
        // p < 1, so p · 2^64 < 2^64 and the cast cannot saturate.
        u128::from((p * 18_446_744_073_709_551_616.0) as u64)
    }
}

/// The keystream of `seed`, positioned at index 0.
fn stream(seed: &SamplingSeed) -> ChaCha20Rng {
    let key: [u8; 32] = Sha256::new()
        .chain_update(SELECT_DOMAIN)
        .chain_update(seed.as_bytes())
        .finalize()
        .into();
    ChaCha20Rng::from_seed(key)
}

/// The uniform 64-bit value `h(i)` of index `i` under `seed`.
fn index_hash(seed: &SamplingSeed, i: usize) -> u64 {
    let mut rng = stream(seed);
    rng.set_word_pos(2 * i as u128);
    rng.next_u64()
}

/// Whether index `i` is in the sample of `seed` with probability `p` (see the module doc).
///
/// # Panics
///
/// If `p` is not in `[0, 1]`.
pub fn is_selected(seed: &SamplingSeed, i: usize, p: f64) -> bool {
    u128::from(index_hash(seed, i)) < threshold(p)
}

/// The sampled indices among `0..tx_count`, increasing: each chosen independently with probability
/// `p` (see the module doc for the exact rule). Depends only on `seed`, `tx_count` and `p`; the
/// sample of a longer block extends that of a shorter one.
///
/// # Panics
///
/// If `p` is not in `[0, 1]`.
pub fn select(seed: &SamplingSeed, tx_count: usize, p: f64) -> Vec<usize> {
    let t = threshold(p);
    if t == 0 {
        return Vec::new();
    }
    if t == 1u128 << 64 {
        return (0..tx_count).collect();
    }
    let mut rng = stream(seed);
    (0..tx_count)
        .filter(|_| u128::from(rng.next_u64()) < t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), 1u128 << 64);
        assert_eq!(threshold(0.5), 1u128 << 63);
        assert_eq!(threshold(0.25), 1u128 << 62);
    }

    #[test]
    fn extremes_and_determinism() {
        let seed = SamplingSeed([3; 64]);
        assert!(select(&seed, 100, 0.0).is_empty());
        assert_eq!(select(&seed, 100, 1.0), (0..100).collect::<Vec<_>>());
        let a = select(&seed, 1000, 0.3);
        assert_eq!(a, select(&seed, 1000, 0.3));
        assert!(a.iter().all(|&i| is_selected(&seed, i, 0.3)));
        assert_eq!(
            (0..1000).filter(|&i| is_selected(&seed, i, 0.3)).count(),
            a.len()
        );
        assert_eq!(
            select(&seed, 500, 0.3),
            a.iter().copied().filter(|&i| i < 500).collect::<Vec<_>>()
        );
        assert_ne!(a, select(&SamplingSeed([4; 64]), 1000, 0.3));
        // Roughly p of them (binomial sd ~ 14.5).
        assert!((200..400).contains(&a.len()), "{}", a.len());
    }

    #[test]
    #[should_panic(expected = "sampling probability")]
    fn rejects_out_of_range_p() {
        select(&SamplingSeed([0; 64]), 1, 1.5);
    }
}
