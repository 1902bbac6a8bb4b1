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
//! Floating point: scores and league keys are `f64`, computed with the same operations in the
//! same order everywhere; `ln` from the platform's libm is not guaranteed bit-identical across
//! platforms, so a key within an ulp of another could order differently on another platform. A
//! consensus deployment would replace `ln` with a fixed-point logarithm; the league rule is
//! otherwise unchanged.

use serde::{Deserialize, Serialize};

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
pub fn score(inputs: &ScoreInputs, w: &ScoreWeights) -> f64 {
    if inputs.slashed {
        return 0.0;
    }
    let ln1p = |x: u64| (x as f64).ln_1p();
    w.tokens * ln1p(inputs.tokens)
        + w.servi * ln1p(inputs.servi)
        + w.contributions * ln1p(inputs.contributions)
        + w.behaviour / (1.0 + inputs.faults as f64)
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
            0.0
        );
        assert!(
            score(&ScoreInputs::default(), &W) > 0.0,
            "a newcomer can be drawn"
        );
        let whale = ScoreInputs {
            tokens: 100_000,
            ..base
        };
        assert!(score(&whale, &W) < 3.0 * s, "diminishing returns");
    }
}
