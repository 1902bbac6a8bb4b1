//! Integer fixed-point arithmetic for the believability score and the league draw.
//!
//! Every validator of a shard must compute the same leagues from the same ledger. Floating-point
//! `ln` comes from each platform's libm and is not guaranteed to round alike everywhere, so a score
//! or a league key within an ulp of another could order differently on two nodes. Here scores are
//! [`Score`]s (unsigned Q32.32), logarithms are computed with integer operations only
//! ([`log2_q32`]: the integer part from the bit length, 32 fractional bits by repeated squaring,
//! truncated), and league keys are compared exactly by cross-multiplication
//! ([`LeagueKey`]), never by dividing. The results are the same bits on every platform.
//!
//! Policy weights are read as `f64` (JSON) and turned into Q16.16 by [`weight_q16`]: a scaling by a
//! power of two and a rounding, both exact in IEEE arithmetic, so every node gets the same integers.

use serde::{Deserialize, Serialize};

/// Fractional bits of [`Score`] and of the logarithms.
pub const FRAC_BITS: u32 = 32;

/// `ln 2` in Q32.32, rounded to nearest (0.693147180559945… × 2³²).
const LN2_Q32: u64 = 2_977_044_472;

/// Largest accepted policy weight (keeps every score term inside 64 bits).
pub const MAX_WEIGHT: f64 = 1_000_000.0;

/// A believability score, unsigned fixed point with 32 fractional bits. Zero: cannot be drawn.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Score(pub u64);

impl Score {
    pub const ZERO: Score = Score(0);

    /// The score nearest to `x` (negative, NaN → zero; too large → the largest score). For tests
    /// and hand-written configurations; scores on the chain come from [`super::score::score`].
    pub fn from_f64(x: f64) -> Score {
        if x.is_nan() || x <= 0.0 {
            return Score::ZERO;
        }
        let scaled = (x * (1u64 << FRAC_BITS) as f64).round();
        Score(if scaled >= u64::MAX as f64 {
            u64::MAX
        } else {
            scaled as u64
        })
    }

    /// For display only.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / (1u64 << FRAC_BITS) as f64
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// `log2(x)` in Q32.32 for `x ≥ 1` (0 for `x = 0`, which callers never pass). Truncated: the
/// fractional bits are exact digits of the binary expansion, found by squaring the mantissa.
pub fn log2_q32(x: u64) -> u64 {
    if x <= 1 {
        return 0;
    }
    let int = 63 - u64::from(x.leading_zeros());
    // Mantissa in [1, 2) as Q1.62 (x's top 63 bits; x below 2⁶³ loses nothing).
    let mut m: u128 = if int <= 62 {
        u128::from(x) << (62 - int)
    } else {
        u128::from(x >> 1)
    };
    let mut frac = 0u64;
    for bit in (0..FRAC_BITS).rev() {
        m = (m * m) >> 62;
        if m >= 2 << 62 {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (int << FRAC_BITS) | frac
}

/// `ln(1 + x)` in Q32.32.
pub fn ln1p_q32(x: u64) -> u64 {
    let log2 = u128::from(log2_q32(x.saturating_add(1)));
    ((log2 * u128::from(LN2_Q32)) >> FRAC_BITS) as u64
}

/// A policy weight in Q16.16, rounded to nearest. The caller has checked `0 ≤ w ≤ MAX_WEIGHT`.
pub fn weight_q16(w: f64) -> u64 {
    (w.clamp(0.0, MAX_WEIGHT) * 65_536.0).round() as u64
}

/// A validator's league key, the Efraimidis–Spirakis `−ln(u) / score`, kept as the exact pair
/// (`−log₂ u` in Q32.32, score): keys compare by cross-multiplication in 128 bits, so the order is
/// exact and the same everywhere. (`−ln u = ln 2 · (−log₂ u)`: the common factor does not change
/// the order.)
#[derive(Clone, Copy, Debug)]
pub struct LeagueKey {
    neg_log2_u: u64,
    score: Score,
}

impl LeagueKey {
    /// The key of a draw with `u = (m + ½) / 2⁵²` (`m` the top 52 bits of the VRF output's first
    /// word) and a non-zero `score`; `None` for a zero score.
    pub fn new(m: u64, score: Score) -> Option<LeagueKey> {
        if score.is_zero() {
            return None;
        }
        // −log₂((m + ½) / 2⁵²) = 53 − log₂(2m + 1), and 2m + 1 < 2⁵³.
        let m = m & ((1 << 52) - 1);
        let neg_log2_u = (53u64 << FRAC_BITS) - log2_q32(2 * m + 1);
        Some(LeagueKey { neg_log2_u, score })
    }

    /// `−ln(u) / score` as a number, for reports; the draw never uses it.
    pub fn value(&self) -> f64 {
        let neg_ln_u = self.neg_log2_u as f64 / (1u64 << FRAC_BITS) as f64 * std::f64::consts::LN_2;
        neg_ln_u / self.score.to_f64()
    }
}

impl Ord for LeagueKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let lhs = u128::from(self.neg_log2_u) * u128::from(other.score.0);
        let rhs = u128::from(other.neg_log2_u) * u128::from(self.score.0);
        lhs.cmp(&rhs)
    }
}

impl PartialOrd for LeagueKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for LeagueKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for LeagueKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn powers_of_two_are_exact() {
        for k in 0..64u64 {
            assert_eq!(log2_q32(1 << k), k << FRAC_BITS, "2^{k}");
        }
        assert_eq!(ln1p_q32(0), 0);
    }

    #[test]
    fn known_values() {
        // log2(3) = 1.584962500721156…; truncated to 32 bits.
        let want = (1.584_962_500_721_156_f64 * (1u64 << 32) as f64) as u64;
        assert!(log2_q32(3).abs_diff(want) <= 1, "{} vs {want}", log2_q32(3));
        // ln(1 + 999) = 6.907755278982137
        let ln = ln1p_q32(999) as f64 / (1u64 << 32) as f64;
        assert!((ln - 6.907_755_278_982_137).abs() < 1e-8, "{ln}");
    }

    #[test]
    fn a_higher_score_gives_a_smaller_key_for_the_same_draw() {
        let k1 = LeagueKey::new(1 << 51, Score::from_f64(1.0)).unwrap();
        let k2 = LeagueKey::new(1 << 51, Score::from_f64(2.0)).unwrap();
        assert!(k2 < k1);
        assert!(LeagueKey::new(5, Score::ZERO).is_none());
        assert!(
            (k1.value() - std::f64::consts::LN_2).abs() < 1e-8,
            "u = 1/2"
        );
        // Equal ratios are equal keys.
        let a = LeagueKey::new(0, Score(2)).unwrap();
        let b = LeagueKey::new(0, Score(2)).unwrap();
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
    }

    proptest! {
        #[test]
        fn log2_is_monotone_and_close_to_the_float(x in 1u64.., y in 1u64..) {
            let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
            prop_assert!(log2_q32(lo) <= log2_q32(hi));
            let got = log2_q32(x) as f64 / (1u64 << 32) as f64;
            prop_assert!((got - (x as f64).log2()).abs() < 1e-8, "{x}: {got}");
        }

        #[test]
        fn keys_order_as_the_real_numbers_do(
            m1 in 0u64..1 << 52, m2 in 0u64..1 << 52, s1 in 1u64..1 << 40, s2 in 1u64..1 << 40,
        ) {
            let a = LeagueKey::new(m1, Score(s1)).unwrap();
            let b = LeagueKey::new(m2, Score(s2)).unwrap();
            let (va, vb) = (a.value(), b.value());
            // Where the floats are clearly apart, the exact order agrees with them.
            if (va - vb).abs() > 1e-9 * va.max(vb) {
                prop_assert_eq!(a < b, va < vb);
            }
        }
    }
}
