//! The believability score.
//!
//! ```text
//! score = 0                                             if the validator was slashed
//!       = w_t·ln(1 + tokens) + w_s·ln(1 + servi)
//!         + w_c·ln(1 + contributions) + w_b / (1 + faults)   otherwise
//! ```
//!
//! - `tokens`: the validator's token balance (the UTXO outputs its key owns), in base units;
//! - `servi`: its Servi balance (see [`reputation`](super::reputation));
//! - `contributions`: blocks it validated as a believable validator, samplings and co-signatures;
//! - `faults`: proven minor misbehaviour (missed duties), which only lowers the behaviour term.
//!
//! Why this shape: each term is non-decreasing in its input (strictly increasing when its weight is
//! positive) and `w_b / (1 + faults)` is decreasing in faults, so more stake, more service and
//! better behaviour never lower a score. Logarithms give diminishing returns, so a validator a
//! thousand times richer is not a thousand times likelier to be drawn believable; the behaviour
//! term keeps a newcomer's score positive (it can be drawn at all). Proven fraud sets the score to
//! zero, which excludes the validator from the believable league for good.
//!
//! Integers only: the score is a [`Score`] (Q32.32), the logarithms are [`ln1p_q32`] and the
//! weights the policy's rounded to Q16.16 ([`weight_q16`]), so every node computes the same bits
//! (see [`fixed`](super::fixed)).

use serde::{Deserialize, Serialize};

use super::fixed::{FRAC_BITS, Score, ln1p_q32, weight_q16};
use super::policy::ScoreWeights;

/// What a validator's score is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreInputs {
    pub tokens: u64,
    pub servi: u64,
    pub contributions: u64,
    pub faults: u64,
    pub slashed: bool,
}

/// The believability score (see the module documentation).
pub fn score(inputs: &ScoreInputs, w: &ScoreWeights) -> Score {
    if inputs.slashed {
        return Score::ZERO;
    }
    // Q16.16 weight × Q32.32 logarithm = Q48.48; back to Q32.32.
    let term =
        |weight: f64, x: u64| (u128::from(weight_q16(weight)) * u128::from(ln1p_q32(x))) >> 16;
    let behaviour =
        (u128::from(weight_q16(w.behaviour)) << (FRAC_BITS - 16)) / (1 + u128::from(inputs.faults));
    let total = term(w.tokens, inputs.tokens)
        + term(w.servi, inputs.servi)
        + term(w.contributions, inputs.contributions)
        + behaviour;
    Score(u64::try_from(total).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: ScoreWeights = ScoreWeights {
        tokens: 1.0,
        servi: 1.0,
        contributions: 0.5,
        behaviour: 2.0,
    };

    #[test]
    fn monotone_in_each_input() {
        let base = ScoreInputs {
            tokens: 100,
            servi: 10,
            contributions: 5,
            faults: 1,
            slashed: false,
        };
        let s = score(&base, &W);
        for more in [
            ScoreInputs {
                tokens: 101,
                ..base
            },
            ScoreInputs { servi: 11, ..base },
            ScoreInputs {
                contributions: 6,
                ..base
            },
            ScoreInputs { faults: 0, ..base },
        ] {
            assert!(score(&more, &W) > s, "{more:?}");
        }
        assert!(score(&ScoreInputs { faults: 2, ..base }, &W) < s);
        assert_eq!(
            score(
                &ScoreInputs {
                    slashed: true,
                    ..base
                },
                &W
            ),
            Score::ZERO
        );
        assert!(
            score(&ScoreInputs::default(), &W) > Score::ZERO,
            "a newcomer can be drawn"
        );
        let whale = ScoreInputs {
            tokens: 100_000,
            ..base
        };
        assert!(score(&whale, &W).0 < 3 * s.0, "diminishing returns");
    }

    #[test]
    fn matches_the_real_formula_closely() {
        let inputs = ScoreInputs {
            tokens: 300_000,
            servi: 42,
            contributions: 7,
            faults: 2,
            slashed: false,
        };
        let real = 300_001f64.ln() + 43f64.ln() + 0.5 * 8f64.ln() + 2.0 / 3.0;
        let got = score(&inputs, &W).to_f64();
        assert!((got - real).abs() < 1e-6, "{got} vs {real}");
    }
}
