//! Proof-of-Believability leagues: the draw is deterministic from the epoch randomness, checkable
//! by anyone from the VRF tickets, honours the policy's sizes (and falls back to one league when it
//! cannot), never draws a slashed validator, and favours higher scores exactly as weighted sampling
//! without replacement says (measured over many epochs against the exact inclusion probabilities).

use iosv_engine::vrf::SecretKey;
use iosv_harness::pob::{
    Candidate, Ineligible, LeagueAssignment, LeagueError, LeagueMode, Score, ShardingPolicy,
    Ticket, assign, league_key, verify_assignment,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

struct Validator {
    vrf: SecretKey,
    candidate: Candidate,
}

/// Validators with the given scores; the VRF key doubles as the validator id (both are RFC 8032
/// keys from the same seed).
fn validators(scores: &[f64]) -> Vec<Validator> {
    scores
        .iter()
        .enumerate()
        .map(|(i, &score)| {
            let vrf = SecretKey::from_seed(&[i as u8 + 1; 32]);
            let id = vrf.public().to_bytes();
            Validator {
                candidate: Candidate {
                    id,
                    vrf_key: id,
                    score: Score::from_f64(score),
                },
                vrf,
            }
        })
        .collect()
}

fn randomness(epoch: u64) -> [u8; 32] {
    Sha256::digest(epoch.to_le_bytes()).into()
}

fn policy(believable: usize, normal: usize) -> ShardingPolicy {
    ShardingPolicy {
        believable_league_size: believable,
        normal_league_size: normal,
        ..ShardingPolicy::default()
    }
}

fn draw(
    vs: &[Validator],
    policy: &ShardingPolicy,
    epoch: u64,
    shard: u32,
) -> (LeagueAssignment, Vec<Candidate>, Vec<Ticket>) {
    let r = randomness(epoch);
    let tickets: Vec<Ticket> = vs
        .iter()
        .map(|v| Ticket::draw(&v.vrf, epoch, shard, &r))
        .collect();
    let candidates: Vec<Candidate> = vs.iter().map(|v| v.candidate).collect();
    let a = assign(policy, epoch, shard, &r, &candidates, &tickets).unwrap();
    (a, candidates, tickets)
}

#[test]
fn the_draw_is_deterministic_and_verifiable_from_the_tickets() {
    let vs = validators(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let p = policy(3, 4);
    let (a, candidates, tickets) = draw(&vs, &p, 7, 2);
    let (again, _, _) = draw(&vs, &p, 7, 2);
    assert_eq!(a, again);
    assert_eq!(a.mode, LeagueMode::TwoLeagues);
    let r = randomness(7);
    verify_assignment(&p, &r, &candidates, &tickets, &a).unwrap();

    let json = serde_json::to_string(&a).unwrap();
    let back: LeagueAssignment = serde_json::from_str(&json).unwrap();
    verify_assignment(&p, &r, &candidates, &tickets, &back).unwrap();

    // Swapping a believable member for a normal one is caught.
    let mut forged = a.clone();
    std::mem::swap(&mut forged.believable[0], &mut forged.normal[0]);
    assert_eq!(
        verify_assignment(&p, &r, &candidates, &tickets, &forged),
        Err(LeagueError::Mismatch)
    );
    // Another epoch, shard or randomness gives other draws.
    assert_ne!(draw(&vs, &p, 8, 2).0.draws, a.draws);
    assert_ne!(draw(&vs, &p, 7, 3).0.draws, a.draws);

    // A ticket replayed from another epoch, or forged, makes its holder ineligible.
    let mut stale = tickets.clone();
    stale[0] = Ticket::draw(&vs[0].vrf, 6, 2, &randomness(6));
    let mut bent = tickets.clone();
    bent[1].proof[40] ^= 1;
    let mut missing = tickets.clone();
    missing.remove(2);
    for (ts, who, why) in [
        (stale, 0, Ineligible::BadTicket),
        (bent, 1, Ineligible::BadTicket),
        (missing, 2, Ineligible::NoTicket),
    ] {
        let b = assign(&p, 7, 2, &r, &candidates, &ts).unwrap();
        assert_eq!(b.draws[who].ineligible, Some(why));
        assert!(!b.is_believable(&candidates[who].id));
    }
}

#[test]
fn the_policy_sizes_are_honoured_or_the_shard_runs_one_league() {
    let vs = validators(&[3.0; 10]);
    for b in 1..=6 {
        let p = policy(b, 4);
        let (a, candidates, _) = draw(&vs, &p, 1, 0);
        assert_eq!(a.mode, LeagueMode::TwoLeagues);
        assert_eq!(a.believable.len(), b);
        assert_eq!(a.normal.len(), 10 - b);
        for c in &candidates {
            assert!(a.is_believable(&c.id) != a.normal.contains(&c.id));
        }
    }
    // 7 believable would leave 3 normal validators, fewer than 4.
    let (a, _, _) = draw(&vs, &policy(7, 4), 1, 0);
    assert_eq!(a.mode, LeagueMode::SingleLeague);
    assert!(a.believable.is_empty() && a.normal.len() == 10);

    // Only two validators with a non-zero score: three believable cannot be drawn.
    let mut scores = [0.0; 10];
    scores[3] = 1.0;
    scores[8] = 5.0;
    let vs = validators(&scores);
    let (a, _, _) = draw(&vs, &policy(3, 4), 1, 0);
    assert_eq!(a.mode, LeagueMode::SingleLeague);
    let (a, candidates, _) = draw(&vs, &policy(2, 4), 1, 0);
    assert_eq!(a.mode, LeagueMode::TwoLeagues);
    assert!(a.is_believable(&candidates[3].id) && a.is_believable(&candidates[8].id));
    assert_eq!(
        a.draws
            .iter()
            .filter(|d| d.ineligible == Some(Ineligible::ZeroScore))
            .count(),
        8
    );
}

#[test]
fn bad_candidate_lists_are_refused() {
    let vs = validators(&[1.0, 2.0]);
    let mut candidates: Vec<Candidate> = vs.iter().map(|v| v.candidate).collect();
    let r = randomness(0);
    candidates[1] = candidates[0];
    assert_eq!(
        assign(&policy(1, 4), 0, 0, &r, &candidates, &[]),
        Err(LeagueError::DuplicateCandidate(1))
    );
    // One VRF key claimed by two validators that are not neighbours in id order.
    let vs = validators(&[1.0, 1.0, 1.0]);
    let mut candidates: Vec<Candidate> = vs.iter().map(|v| v.candidate).collect();
    candidates.sort_by_key(|c| c.id);
    candidates[2].vrf_key = candidates[0].vrf_key;
    assert_eq!(
        assign(&policy(1, 4), 0, 0, &r, &candidates, &[]),
        Err(LeagueError::DuplicateCandidate(1))
    );
}

/// Probability that validator `i` is among the first two drawn by sequential weighted sampling
/// without replacement.
fn inclusion_in_two(w: &[f64], i: usize) -> f64 {
    let total: f64 = w.iter().sum();
    let first = w[i] / total;
    let second: f64 = (0..w.len())
        .filter(|&j| j != i)
        .map(|j| w[j] / total * w[i] / (total - w[j]))
        .sum();
    first + second
}

#[test]
fn higher_scores_are_drawn_more_often_as_weighted_sampling_predicts() {
    const EPOCHS: u64 = 1500;
    let scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let vs = validators(&scores);
    let p = policy(2, 4);
    let mut hits = [0u32; 6];
    for epoch in 0..EPOCHS {
        let (a, candidates, _) = draw(&vs, &p, epoch, 0);
        for (i, c) in candidates.iter().enumerate() {
            hits[i] += u32::from(a.is_believable(&c.id));
        }
    }
    let n = EPOCHS as f64;
    for (i, &h) in hits.iter().enumerate() {
        let expected = inclusion_in_two(&scores, i);
        let sigma = (expected * (1.0 - expected) / n).sqrt();
        let measured = f64::from(h) / n;
        assert!(
            (measured - expected).abs() < 4.5 * sigma,
            "validator {i}: measured {measured:.4}, expected {expected:.4} (σ {sigma:.4})"
        );
    }
    assert!(hits[5] > 3 * hits[0], "{hits:?}");
}

/// The key rule alone, with many more draws: the first drawn is `i` with probability `w_i / Σw`.
#[test]
fn smallest_key_is_first_with_probability_proportional_to_score() {
    const DRAWS: usize = 200_000;
    let scores = [0.5, 1.0, 2.0, 4.0, 8.5];
    let total: f64 = scores.iter().sum();
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let mut first = [0usize; 5];
    for _ in 0..DRAWS {
        let winner = (0..scores.len())
            .map(|i| {
                let mut beta = [0u8; 64];
                rng.fill(&mut beta[..]);
                (league_key(&beta, Score::from_f64(scores[i])).unwrap(), i)
            })
            .min_by(|a, b| a.0.cmp(&b.0))
            .unwrap()
            .1;
        first[winner] += 1;
    }
    for (i, &f) in first.iter().enumerate() {
        let expected = scores[i] / total;
        let sigma = (expected * (1.0 - expected) / DRAWS as f64).sqrt();
        let measured = f as f64 / DRAWS as f64;
        assert!(
            (measured - expected).abs() < 4.5 * sigma,
            "{i}: {measured:.4} vs {expected:.4}"
        );
    }
}

#[test]
fn a_zero_score_is_never_drawn() {
    let vs = validators(&[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let p = policy(2, 4);
    for epoch in 0..200 {
        let (a, candidates, _) = draw(&vs, &p, epoch, 1);
        assert_eq!(a.mode, LeagueMode::TwoLeagues);
        assert!(!a.is_believable(&candidates[0].id), "epoch {epoch}");
    }
}
