//! Each epoch, a shard's validators split into a believable league and a normal league by
//! VRF-weighted sampling without replacement (Efraimidis & Spirakis, "Weighted random sampling
//! with a reservoir", 2006).
//!
//! 1. Every validator publishes a [`Ticket`]: its ECVRF (RFC 9381) proof over
//!    `alpha = LEAGUE_DOMAIN ‖ epoch u64 LE ‖ shard u32 LE ‖ randomness [32]`, where `randomness`
//!    is the epoch's output of the distributed randomness protocol. Nobody can predict or grind its
//!    output `beta` before the randomness is known, and anyone can check it from the proof.
//! 2. `u = (⌊beta[0..8] as u64 LE / 2^12⌋ + ½) / 2^52`, uniform in (0, 1), never 0 or 1 (the
//!    numerator needs 53 bits, exactly what an `f64` holds).
//! 3. The validator's key is `−ln(u) / score`: an exponential variable of rate `score`. The `b`
//!    smallest keys form the believable league; sorting i.i.d. exponentials of rates `w_i` gives
//!    exactly sequential weighted sampling without replacement, so validator `i` is drawn first
//!    with probability `w_i / Σ w`, and so on. Ties (probability zero) break by validator id.
//! 4. A validator with no valid ticket, or a score of zero (slashed), cannot be drawn believable.
//!    If fewer than `b` can, or fewer than the policy's normal league size would remain, the
//!    shard runs a single league (PBFT over every transaction) that epoch.
//!
//! [`assign`] is a pure function of the policy, the epoch, the randomness, the candidates' scores
//! and the tickets; [`verify_assignment`] recomputes it, so any third party with the tickets can
//! check a published assignment.

use std::collections::BTreeSet;

use iosv_engine::vrf::{self, PROOF_LEN, SecretKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::policy::ShardingPolicy;
use super::reputation::ValidatorId;

/// Domain tag of the league lottery's VRF input.
pub const LEAGUE_DOMAIN: &[u8] = b"iosv/pob/league/v1";

/// The VRF input for `(epoch, shard, randomness)`.
pub fn league_alpha(epoch: u64, shard: u32, randomness: &[u8; 32]) -> Vec<u8> {
    let mut alpha = Vec::with_capacity(LEAGUE_DOMAIN.len() + 8 + 4 + 32);
    alpha.extend_from_slice(LEAGUE_DOMAIN);
    alpha.extend_from_slice(&epoch.to_le_bytes());
    alpha.extend_from_slice(&shard.to_le_bytes());
    alpha.extend_from_slice(randomness);
    alpha
}

/// A validator's league lottery ticket: its VRF public key and proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    #[serde(with = "hex::serde")]
    pub vrf_key: [u8; 32],
    #[serde(with = "hex::serde")]
    pub proof: [u8; PROOF_LEN],
}

impl Ticket {
    /// The ticket of the holder of `vrf_sk` for `(epoch, shard, randomness)`.
    pub fn draw(vrf_sk: &SecretKey, epoch: u64, shard: u32, randomness: &[u8; 32]) -> Ticket {
        let proof = vrf::prove(vrf_sk, &league_alpha(epoch, shard, randomness));
        Ticket {
            vrf_key: vrf_sk.public().to_bytes(),
            proof: proof.to_bytes(),
        }
    }
}

/// A shard member as the league draw sees it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    #[serde(with = "hex::serde")]
    pub id: ValidatorId,
    #[serde(with = "hex::serde")]
    pub vrf_key: [u8; 32],
    /// Believability score (from the ledger state everyone shares).
    pub score: f64,
}

/// How the shard runs this epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeagueMode {
    /// A believable league processes transactions; the normal league samples and finalizes.
    TwoLeagues,
    /// Too few believable candidates or normal validators: one league, PBFT over every
    /// transaction.
    SingleLeague,
}

/// Why a candidate could not be drawn believable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    NoTicket,
    BadTicket,
    ZeroScore,
}

/// One candidate's draw: its key, or why it had none.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draw {
    #[serde(with = "hex::serde")]
    pub id: ValidatorId,
    pub key: Option<f64>,
    pub ineligible: Option<Ineligible>,
}

/// The epoch's league assignment for one shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeagueAssignment {
    pub epoch: u64,
    pub shard: u32,
    pub mode: LeagueMode,
    /// Drawn believable, smallest key first (empty in single-league mode).
    #[serde(with = "hex_ids")]
    pub believable: Vec<ValidatorId>,
    /// Every other candidate, in candidate order (everyone in single-league mode).
    #[serde(with = "hex_ids")]
    pub normal: Vec<ValidatorId>,
    pub draws: Vec<Draw>,
}

impl LeagueAssignment {
    pub fn is_believable(&self, id: &ValidatorId) -> bool {
        self.believable.contains(id)
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum LeagueError {
    #[error("{0} candidates share one validator id or VRF key")]
    DuplicateCandidate(usize),
    #[error("candidate {index} has score {score}: scores must be finite and non-negative")]
    BadScore { index: usize, score: f64 },
    #[error("published assignment differs from the recomputed one")]
    Mismatch,
}

/// `u` in (0, 1) from a VRF output (step 2 of the module documentation).
pub fn uniform_of(beta: &[u8; vrf::OUTPUT_LEN]) -> f64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&beta[..8]);
    ((u64::from_le_bytes(word) >> 12) as f64 + 0.5) / (1u64 << 52) as f64
}

/// The Efraimidis–Spirakis key `−ln(u) / score`; `None` for a zero score.
pub fn league_key(u: f64, score: f64) -> Option<f64> {
    (score > 0.0).then(|| -u.ln() / score)
}

/// Draws the leagues (see the module documentation). Candidates are the shard's members; tickets
/// are matched to them by VRF key, in any order; unmatched or invalid tickets are ignored.
pub fn assign(
    policy: &ShardingPolicy,
    epoch: u64,
    shard: u32,
    randomness: &[u8; 32],
    candidates: &[Candidate],
    tickets: &[Ticket],
) -> Result<LeagueAssignment, LeagueError> {
    let ids: BTreeSet<&ValidatorId> = candidates.iter().map(|c| &c.id).collect();
    let vrf_keys: BTreeSet<&[u8; 32]> = candidates.iter().map(|c| &c.vrf_key).collect();
    let repeats = candidates.len() - ids.len().min(vrf_keys.len());
    if repeats > 0 {
        return Err(LeagueError::DuplicateCandidate(repeats));
    }
    if let Some((index, c)) = candidates
        .iter()
        .enumerate()
        .find(|(_, c)| !c.score.is_finite() || c.score < 0.0)
    {
        return Err(LeagueError::BadScore {
            index,
            score: c.score,
        });
    }
    let alpha = league_alpha(epoch, shard, randomness);
    let draws: Vec<Draw> = candidates
        .iter()
        .map(|c| {
            let (key, ineligible) = match tickets.iter().find(|t| t.vrf_key == c.vrf_key) {
                None => (None, Some(Ineligible::NoTicket)),
                Some(t) => match vrf::verify(&c.vrf_key, &alpha, &t.proof) {
                    Err(_) => (None, Some(Ineligible::BadTicket)),
                    Ok(beta) => match league_key(uniform_of(&beta), c.score) {
                        None => (None, Some(Ineligible::ZeroScore)),
                        Some(k) => (Some(k), None),
                    },
                },
            };
            Draw {
                id: c.id,
                key,
                ineligible,
            }
        })
        .collect();
    let mut eligible: Vec<(f64, ValidatorId)> = draws
        .iter()
        .filter_map(|d| d.key.map(|k| (k, d.id)))
        .collect();
    eligible.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let b = policy.believable_league_size;
    let two_leagues =
        eligible.len() >= b && candidates.len().saturating_sub(b) >= policy.normal_league_size;
    let (mode, believable) = if two_leagues {
        let drawn: Vec<ValidatorId> = eligible[..b].iter().map(|(_, id)| *id).collect();
        (LeagueMode::TwoLeagues, drawn)
    } else {
        (LeagueMode::SingleLeague, Vec::new())
    };
    let normal = candidates
        .iter()
        .filter(|c| !believable.contains(&c.id))
        .map(|c| c.id)
        .collect();
    Ok(LeagueAssignment {
        epoch,
        shard,
        mode,
        believable,
        normal,
        draws,
    })
}

/// Recomputes the assignment from the same public inputs and compares it with `published`: the
/// mode, both leagues (the believable one in draw order) and every candidate's eligibility. The
/// keys themselves are informational and not compared bit for bit (a JSON round trip of an `f64`
/// need not be exact).
pub fn verify_assignment(
    policy: &ShardingPolicy,
    randomness: &[u8; 32],
    candidates: &[Candidate],
    tickets: &[Ticket],
    published: &LeagueAssignment,
) -> Result<(), LeagueError> {
    let recomputed = assign(
        policy,
        published.epoch,
        published.shard,
        randomness,
        candidates,
        tickets,
    )?;
    let same_draws = recomputed.draws.len() == published.draws.len()
        && recomputed
            .draws
            .iter()
            .zip(&published.draws)
            .all(|(a, b)| a.id == b.id && a.ineligible == b.ineligible);
    if recomputed.mode == published.mode
        && recomputed.believable == published.believable
        && recomputed.normal == published.normal
        && same_draws
    {
        Ok(())
    } else {
        Err(LeagueError::Mismatch)
    }
}

/// Serde for a list of 32-byte ids as hex strings.
mod hex_ids {
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(ids: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ids.len()))?;
        for id in ids {
            seq.serialize_element(&hex::encode(id))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                let mut id = [0u8; 32];
                hex::decode_to_slice(s, &mut id).map_err(D::Error::custom)?;
                Ok(id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_stays_inside_the_open_interval() {
        assert!(uniform_of(&[0; 64]) > 0.0);
        assert!(uniform_of(&[0xff; 64]) < 1.0);
        assert_eq!(league_key(0.5, 0.0), None);
        let k1 = league_key(0.5, 1.0).unwrap();
        let k2 = league_key(0.5, 2.0).unwrap();
        assert!(
            k2 < k1,
            "a higher score gives a smaller key for the same draw"
        );
    }
}
