//! Each epoch, a shard's validators split into a believable league and a normal league by
//! VRF-weighted sampling without replacement (Efraimidis & Spirakis, "Weighted random sampling
//! with a reservoir", 2006).
//!
//! 1. Every validator publishes a [`Ticket`]: its ECVRF (RFC 9381) proof over
//!    `alpha = LEAGUE_DOMAIN ‖ epoch u64 LE ‖ shard u32 LE ‖ randomness [32]`, where `randomness`
//!    is the epoch's output of the distributed randomness protocol. Nobody can predict or grind its
//!    output `beta` before the randomness is known, and anyone can check it from the proof.
//! 2. `u = (m + ½) / 2^52` with `m = ⌊beta[0..8] as u64 LE / 2^12⌋`, uniform in (0, 1), never 0 or 1.
//! 3. The validator's key is `−ln(u) / score`: an exponential variable of rate `score`. The `b`
//!    smallest keys form the believable league; sorting i.i.d. exponentials of rates `w_i` gives
//!    exactly sequential weighted sampling without replacement, so validator `i` is drawn first
//!    with probability `w_i / Σ w`, and so on. Keys are computed and compared in integers
//!    ([`LeagueKey`]: `−log₂ u` in Q32.32 against the [`Score`], cross-multiplied), so every node
//!    orders them alike; ties (equal ratios, vanishingly rare) break by validator id.
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

use super::fixed::{LeagueKey, Score};
use super::policy::ShardingPolicy;
use super::reputation::ValidatorId;

/// Domain tag of the league lottery's VRF input.
pub const LEAGUE_DOMAIN: &[u8] = crate::domain::POB_LEAGUE;

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
    pub score: Score,
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
    /// `−ln(u) / score` as a number, for reports (the draw compares exact integers).
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
    #[error("published assignment differs from the recomputed one")]
    Mismatch,
}

/// The Efraimidis–Spirakis key of a VRF output and a score (steps 2 and 3 of the module
/// documentation); `None` for a zero score.
pub fn league_key(beta: &[u8; vrf::OUTPUT_LEN], score: Score) -> Option<LeagueKey> {
    let mut word = [0u8; 8];
    word.copy_from_slice(&beta[..8]);
    LeagueKey::new(u64::from_le_bytes(word) >> 12, score)
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
    let alpha = league_alpha(epoch, shard, randomness);
    let keyed: Vec<(ValidatorId, Result<LeagueKey, Ineligible>)> = candidates
        .iter()
        .map(|c| {
            let key = match tickets.iter().find(|t| t.vrf_key == c.vrf_key) {
                None => Err(Ineligible::NoTicket),
                Some(t) => match vrf::verify(&c.vrf_key, &alpha, &t.proof) {
                    Err(_) => Err(Ineligible::BadTicket),
                    Ok(beta) => league_key(&beta, c.score).ok_or(Ineligible::ZeroScore),
                },
            };
            (c.id, key)
        })
        .collect();
    let draws: Vec<Draw> = keyed
        .iter()
        .map(|(id, key)| Draw {
            id: *id,
            key: key.as_ref().ok().map(LeagueKey::value),
            ineligible: key.as_ref().err().copied(),
        })
        .collect();
    let mut eligible: Vec<(LeagueKey, ValidatorId)> = keyed
        .iter()
        .filter_map(|(id, key)| key.ok().map(|k| (k, *id)))
        .collect();
    eligible.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
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

use iosv_engine::hex_serde::bytes32_list as hex_ids;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_draws_give_finite_keys() {
        let one = Score::from_f64(1.0);
        let smallest_u = league_key(&[0; 64], one).unwrap();
        let largest_u = league_key(&[0xff; 64], one).unwrap();
        assert!(largest_u < smallest_u);
        assert!(smallest_u.value().is_finite() && largest_u.value() > 0.0);
        assert!(league_key(&[7; 64], Score::ZERO).is_none());
    }
}
