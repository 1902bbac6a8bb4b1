//! The sharding policy file: league sizes, the normal league's sampling probability, the
//! believability score's weights and the Servi rewards. JSON, unknown fields refused, every value
//! checked, so that a typo fails loudly at load time rather than skewing an epoch.
//!
//! ```json
//! {
//!   "believable_league_size": 4,
//!   "normal_league_size": 8,
//!   "sampling_probability": 0.05,
//!   "weights": { "tokens": 1.0, "servi": 1.0, "contributions": 0.5, "behaviour": 2.0 },
//!   "servi": { "per_sample": 1, "per_cosignature": 1 }
//! }
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use super::fixed::{MAX_WEIGHT, weight_q16};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Fewest members of the normal league: Byzantine agreement among `3f + 1` members with `f ≥ 1`.
pub const MIN_NORMAL_LEAGUE: usize = 4;

/// Smallest sampling probability: below it a normal validator would re-validate one transaction
/// in more than a million, so the normal league would never sample anything in any run the
/// harness can make, and the policy would only look like believable-first processing.
pub const MIN_SAMPLING_PROBABILITY: f64 = 1e-6;

/// Largest policy file read (a real one is a few hundred bytes).
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Weights of the believability score's terms (see [`score()`](fn@super::score)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreWeights {
    pub tokens: f64,
    pub servi: f64,
    pub contributions: f64,
    pub behaviour: f64,
}

/// Servi issued per contribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiRewards {
    /// Per correct sampling re-validation of an optimistic block.
    pub per_sample: u64,
    /// Per co-signature of a finality round.
    pub per_cosignature: u64,
}

/// A shard's Proof-of-Believability policy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardingPolicy {
    /// Validators drawn into the believable league each epoch.
    pub believable_league_size: usize,
    /// Fewest validators the normal league needs (it holds every validator not drawn believable);
    /// with fewer, the shard runs one league (PBFT over every transaction).
    pub normal_league_size: usize,
    /// Probability that a normal validator re-validates each transaction of an optimistic block.
    pub sampling_probability: f64,
    pub weights: ScoreWeights,
    pub servi: ServiRewards,
}

/// Why a policy file was refused.
#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("policy file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("policy file is larger than the limit of {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    #[error("policy is not valid JSON for a sharding policy: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("believable_league_size must be at least 1")]
    EmptyBelievableLeague,
    #[error(
        "normal_league_size is {size}, at least {MIN_NORMAL_LEAGUE} are needed (3f + 1, f ≥ 1)"
    )]
    NormalLeagueTooSmall { size: usize },
    #[error("sampling_probability is {p}, it must be in [{MIN_SAMPLING_PROBABILITY:e}, 1]")]
    SamplingProbability { p: f64 },
    #[error("weight {name} is {value}, it must be a number from 0 to 1,000,000")]
    BadWeight { name: &'static str, value: f64 },
    #[error("every score weight is zero: scores would not rank anyone")]
    AllWeightsZero,
}

impl ShardingPolicy {
    /// Parses and validates a policy from JSON text.
    pub fn from_json(text: &str) -> Result<ShardingPolicy, PolicyError> {
        let policy: ShardingPolicy = serde_json::from_str(text)?;
        policy.validate()?;
        Ok(policy)
    }

    /// Reads, parses and validates a policy file.
    pub fn load(path: &Path) -> Result<ShardingPolicy, PolicyError> {
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_POLICY_BYTES + 1).read_to_string(&mut text))
            .map_err(|source| PolicyError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if text.len() as u64 > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        ShardingPolicy::from_json(&text)
    }

    /// Checks every field; the first fault is reported.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.believable_league_size == 0 {
            return Err(PolicyError::EmptyBelievableLeague);
        }
        if self.normal_league_size < MIN_NORMAL_LEAGUE {
            return Err(PolicyError::NormalLeagueTooSmall {
                size: self.normal_league_size,
            });
        }
        let p = self.sampling_probability;
        if !(MIN_SAMPLING_PROBABILITY..=1.0).contains(&p) {
            return Err(PolicyError::SamplingProbability { p });
        }
        let w = &self.weights;
        for (name, value) in [
            ("tokens", w.tokens),
            ("servi", w.servi),
            ("contributions", w.contributions),
            ("behaviour", w.behaviour),
        ] {
            if !value.is_finite() || !(0.0..=MAX_WEIGHT).contains(&value) {
                return Err(PolicyError::BadWeight { name, value });
            }
        }
        // Weights count as Q16.16 integers (`fixed::weight_q16`): one below 2⁻¹⁷ is zero.
        if [w.tokens, w.servi, w.contributions, w.behaviour]
            .iter()
            .all(|&x| weight_q16(x) == 0)
        {
            return Err(PolicyError::AllWeightsZero);
        }
        Ok(())
    }
}

impl Default for ShardingPolicy {
    /// Four believable validators, a normal league of at least eight, p = 0.05, and weights that
    /// let behaviour and stake count most.
    fn default() -> Self {
        ShardingPolicy {
            believable_league_size: 4,
            normal_league_size: 8,
            sampling_probability: 0.05,
            weights: ScoreWeights {
                tokens: 1.0,
                servi: 1.0,
                contributions: 0.5,
                behaviour: 2.0,
            },
            servi: ServiRewards {
                per_sample: 1,
                per_cosignature: 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "believable_league_size": 4,
        "normal_league_size": 8,
        "sampling_probability": 0.05,
        "weights": { "tokens": 1.0, "servi": 1.0, "contributions": 0.5, "behaviour": 2.0 },
        "servi": { "per_sample": 1, "per_cosignature": 1 }
    }"#;

    #[test]
    fn the_documented_example_loads_and_round_trips() {
        let policy = ShardingPolicy::from_json(GOOD).unwrap();
        assert_eq!(policy, ShardingPolicy::default());
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(ShardingPolicy::from_json(&json).unwrap(), policy);
    }

    #[test]
    fn every_fault_is_named() {
        let cases: [(&str, &str, &str); 8] = [
            (
                "\"believable_league_size\": 4",
                "\"believable_league_size\": 0",
                "at least 1",
            ),
            (
                "\"normal_league_size\": 8",
                "\"normal_league_size\": 3",
                "3f + 1",
            ),
            (
                "\"sampling_probability\": 0.05",
                "\"sampling_probability\": 0.0",
                "[1e-6, 1]",
            ),
            (
                "\"sampling_probability\": 0.05",
                "\"sampling_probability\": 5e-324",
                "[1e-6, 1]",
            ),
            (
                "\"sampling_probability\": 0.05",
                "\"sampling_probability\": 1.5",
                "[1e-6, 1]",
            ),
            ("\"tokens\": 1.0", "\"tokens\": -1.0", "weight tokens"),
            (
                "\"servi\": {",
                "\"bogus\": 1, \"servi\": {",
                "unknown field",
            ),
            ("\"normal_league_size\": 8,", "", "missing field"),
        ];
        for (from, to, expect) in cases {
            let text = GOOD.replacen(from, to, 1);
            let err = ShardingPolicy::from_json(&text).unwrap_err().to_string();
            assert!(err.contains(expect), "{to}: {err}");
        }
        let zero = GOOD
            .replace("\"tokens\": 1.0", "\"tokens\": 0.0")
            .replace("\"servi\": 1.0", "\"servi\": 0.0")
            .replace("\"contributions\": 0.5", "\"contributions\": 0.0")
            .replace("\"behaviour\": 2.0", "\"behaviour\": 0.0");
        assert!(matches!(
            ShardingPolicy::from_json(&zero),
            Err(PolicyError::AllWeightsZero)
        ));
        let missing = ShardingPolicy::load(Path::new("/nonexistent/policy.json")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/policy.json"));
    }
}
