//! Shard assignment: a permutation of the validators drawn from the epoch's randomness, cut into
//! `m` equal buckets.
//!
//! Consensus-critical: every honest validator must compute the same assignment from the same
//! randomness, on every platform and with every version of this program. So the permutation is
//! fully specified here: the stream is ChaCha20 (rand_chacha, whose output is value-stable) keyed
//! by `SHA-256(domain ‖ randomness ‖ n)`; bounded integers come from this module's own unbiased
//! rejection sampling (not a library distribution); Fisher–Yates runs from the last position down.
//!
//! Buckets are the first `m · s` positions in order (`s = ⌊n/m⌋` unless a size is given); the
//! validators left over are on standby (in no shard) for the epoch, so every shard has exactly `s`
//! members and each shard's members are a uniformly random subset of that size (the
//! hypergeometric model of `safety`).

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

use crate::node::NodeId;

/// Domain of the permutation's seed.
const PERMUTATION_DOMAIN: &[u8] = crate::domain::SHARD_PERMUTATION;

/// Who is in which shard in one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// `shard_of[node]`: the node's shard, or `None` on standby.
    shard_of: Vec<Option<u32>>,
    /// `members[shard]`: the shard's nodes in permutation order.
    members: Vec<Vec<NodeId>>,
}

/// Why an assignment cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    #[error("need at least one shard")]
    NoShards,
    #[error("{validators} validators cannot fill {shards} shards")]
    TooFewValidators { validators: u32, shards: u32 },
}

/// A uniform integer in `0..bound` from `rng` (unbiased rejection sampling); `bound > 0`.
fn below(rng: &mut ChaCha20Rng, bound: u64) -> u64 {
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let x = rng.next_u64();
        if x >= threshold {
            return x % bound;
        }
    }
}

/// The permutation of `0..n` that `randomness` selects.
pub fn permutation(randomness: &[u8; 32], n: u32) -> Vec<NodeId> {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(PERMUTATION_DOMAIN)
        .chain_update(randomness)
        .chain_update(n.to_le_bytes())
        .finalize()
        .into();
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut perm: Vec<NodeId> = (0..n).collect();
    for i in (1..perm.len()).rev() {
        let j = below(&mut rng, i as u64 + 1) as usize;
        perm.swap(i, j);
    }
    perm
}

impl Assignment {
    /// The assignment of `n` validators to `m` shards of `⌊n/m⌋` members for `randomness`.
    pub fn new(randomness: &[u8; 32], n: u32, m: u32) -> Result<Self, AssignError> {
        if m == 0 {
            return Err(AssignError::NoShards);
        }
        Self::with_shard_size(randomness, n, m, n / m)
    }

    /// The assignment of `n` validators to `m` shards of `size` members each (the first `m · size`
    /// positions of the permutation; the rest stand by).
    pub fn with_shard_size(
        randomness: &[u8; 32],
        n: u32,
        m: u32,
        size: u32,
    ) -> Result<Self, AssignError> {
        if m == 0 {
            return Err(AssignError::NoShards);
        }
        if size == 0 || u64::from(m) * u64::from(size) > u64::from(n) {
            return Err(AssignError::TooFewValidators {
                validators: n,
                shards: m,
            });
        }
        let size = size as usize;
        let perm = permutation(randomness, n);
        let members: Vec<Vec<NodeId>> = perm
            .chunks_exact(size)
            .take(m as usize)
            .map(<[NodeId]>::to_vec)
            .collect();
        let mut shard_of = vec![None; n as usize];
        for (s, nodes) in members.iter().enumerate() {
            for &v in nodes {
                shard_of[v as usize] = Some(s as u32);
            }
        }
        Ok(Self { shard_of, members })
    }

    pub fn shards(&self) -> u32 {
        self.members.len() as u32
    }

    /// Members per shard.
    pub fn shard_size(&self) -> u32 {
        self.members.first().map_or(0, |m| m.len() as u32)
    }

    pub fn validators(&self) -> u32 {
        self.shard_of.len() as u32
    }

    pub fn shard_of(&self, node: NodeId) -> Option<u32> {
        self.shard_of.get(node as usize).copied().flatten()
    }

    pub fn members(&self, shard: u32) -> &[NodeId] {
        self.members.get(shard as usize).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_depends_on_the_randomness() {
        let a = permutation(&[1; 32], 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, permutation(&[1; 32], 100));
        assert_ne!(a, permutation(&[2; 32], 100));
    }

    /// Pins the stream: a change to the derivation or the sampling is a consensus change and
    /// must show up here.
    #[test]
    fn permutation_is_pinned() {
        assert_eq!(
            permutation(&[0; 32], 10),
            vec![5, 1, 2, 9, 4, 7, 3, 8, 6, 0]
        );
    }

    #[test]
    fn buckets_are_equal_and_leftovers_stand_by() {
        let a = Assignment::new(&[7; 32], 23, 4).unwrap();
        assert_eq!(a.shards(), 4);
        assert_eq!(a.shard_size(), 5);
        for s in 0..4 {
            assert_eq!(a.members(s).len(), 5);
            assert!(a.members(s).iter().all(|&v| a.shard_of(v) == Some(s)));
        }
        assert_eq!((0..23).filter(|&v| a.shard_of(v).is_none()).count(), 3);
        assert!(matches!(
            Assignment::new(&[0; 32], 3, 4),
            Err(AssignError::TooFewValidators { .. })
        ));
        assert!(matches!(
            Assignment::new(&[0; 32], 3, 0),
            Err(AssignError::NoShards)
        ));
    }

    /// Each position is equally likely for each validator (chi-square-like bound, loose).
    #[test]
    fn positions_are_uniform() {
        let n = 8u32;
        let trials = 16_000u32;
        let mut counts = vec![[0u32; 8]; n as usize];
        for t in 0..trials {
            let mut r = [0u8; 32];
            r[..4].copy_from_slice(&t.to_le_bytes());
            for (pos, &v) in permutation(&r, n).iter().enumerate() {
                counts[v as usize][pos] += 1;
            }
        }
        let expected = f64::from(trials) / f64::from(n);
        for row in &counts {
            for &c in row {
                assert!(
                    (f64::from(c) - expected).abs() < 6.0 * expected.sqrt(),
                    "{c} vs {expected}"
                );
            }
        }
    }
}
