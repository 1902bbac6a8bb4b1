//! A DRP session's public parameters, and the balanced random grouping derived from them.
//!
//! Grouping (step a): the seed is `H(epoch ‖ previous randomness ‖ roster digest)`; each server `i`
//! gets the rank `H(seed ‖ i)` and the servers sorted by rank form a permutation. With
//! `k = max(1, ⌊n / group_size⌋)` groups, group `j` takes the permutation's positions `j, j + k,
//! j + 2k, …`, so group sizes differ by at most one and every group has at least `group_size`
//! members when `n ≥ group_size`. Anyone recomputes it from the public values; nobody chooses it
//! once the previous randomness is fixed.
//!
//! Thresholds: a group of `c` servers tolerates `f = ⌊(c − 1) / 3⌋` faulty members, and uses
//! `t = f + 1`: `f` colluders learn nothing about a secret, any `t` chosen secrets include at least
//! one dealt by an honest server, and the `c − f ≥ t` honest members can always decrypt `t` shares.
//! The choice is co-signed by the whole roster under ByzCoin's `2f + 1` policy.

use iosv_engine::cosi::Policy;
use iosv_engine::pvss::Point;
use serde::{Deserialize, Serialize};

use super::encoding::{Hash32, Tagged, hex32};
use super::roster::DrpRoster;

/// The CoSi policy of the choice: ByzCoin's `n − ⌊(n − 1) / 3⌋` signers.
pub const CHOICE_POLICY: Policy = Policy::ByzCoin;

/// Domain prefix of the message the roster co-signs: the prefix, then the choice hash.
pub const CHOICE_COSI_DOMAIN: &[u8] = crate::domain::DRP_CHOICE_COSI;

/// What fixes a session besides the roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    pub epoch: u64,
    /// The previous epoch's randomness (any agreed value for the first epoch).
    #[serde(with = "hex32")]
    pub previous: Hash32,
    /// Target group size (≥ 1): groups have this many members, or one more.
    pub group_size: u32,
}

/// One group: its members (server indices, in PVSS order: member `k` holds index `k + 1`) and its
/// threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub members: Vec<u32>,
    pub threshold: u32,
}

/// Why session parameters were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("group size must be at least 1")]
    ZeroGroupSize,
}

/// A session: parameters, roster, and what follows from them.
#[derive(Clone, Debug)]
pub struct Session {
    params: SessionParams,
    roster: DrpRoster,
    digest: Hash32,
    grouping_seed: Hash32,
    groups: Vec<Group>,
    /// `(group, position)` of each server.
    placement: Vec<(u32, u32)>,
}

impl Session {
    pub fn new(params: SessionParams, roster: DrpRoster) -> Result<Self, SessionError> {
        if params.group_size == 0 {
            return Err(SessionError::ZeroGroupSize);
        }
        let seed = grouping_seed(&params, roster.digest());
        let groups = grouping(&seed, roster.len(), params.group_size as usize);
        let mut placement = vec![(0, 0); roster.len()];
        for (g, group) in groups.iter().enumerate() {
            for (pos, &m) in group.members.iter().enumerate() {
                placement[m as usize] = (g as u32, pos as u32);
            }
        }
        let digest = Tagged::new(crate::domain::DRP_SESSION)
            .u64(params.epoch)
            .bytes(&params.previous)
            .u32(params.group_size)
            .bytes(roster.digest())
            .finish();
        Ok(Self {
            params,
            roster,
            digest,
            grouping_seed: seed,
            groups,
            placement,
        })
    }

    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    pub fn roster(&self) -> &DrpRoster {
        &self.roster
    }

    /// Binds every message and signature of the session to its parameters and roster.
    pub fn digest(&self) -> &Hash32 {
        &self.digest
    }

    pub fn grouping_seed(&self) -> &Hash32 {
        &self.grouping_seed
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn servers(&self) -> u32 {
        self.roster.len() as u32
    }

    /// `(group, position)` of `server`; `None` past the roster.
    pub fn placement(&self, server: u32) -> Option<(u32, u32)> {
        self.placement.get(server as usize).copied()
    }

    /// The PVSS keys of group `g`'s members, in PVSS order.
    pub fn group_keys(&self, g: u32) -> Vec<Point> {
        self.groups[g as usize]
            .members
            .iter()
            .map(|&m| *self.roster.pvss_key(m).expect("grouping covers the roster"))
            .collect()
    }

    /// The message the roster co-signs for a choice.
    pub fn cosi_message(choice_hash: &Hash32) -> Vec<u8> {
        [CHOICE_COSI_DOMAIN, choice_hash].concat()
    }
}

/// `t = ⌊(c − 1) / 3⌋ + 1` for a group of `c` (see the module doc).
pub fn threshold(group_len: usize) -> u32 {
    (group_len.saturating_sub(1) / 3 + 1) as u32
}

/// The grouping seed: `H(epoch ‖ previous ‖ roster digest)`.
pub fn grouping_seed(params: &SessionParams, roster_digest: &Hash32) -> Hash32 {
    Tagged::new(crate::domain::DRP_GROUPING_SEED)
        .u64(params.epoch)
        .bytes(&params.previous)
        .bytes(roster_digest)
        .finish()
}

/// The balanced grouping of `n` servers (see the module doc).
pub fn grouping(seed: &Hash32, n: usize, group_size: usize) -> Vec<Group> {
    let mut ranked: Vec<(Hash32, u32)> = (0..n as u32)
        .map(|i| {
            let rank = Tagged::new(crate::domain::DRP_GROUPING_RANK)
                .bytes(seed)
                .u32(i)
                .finish();
            (rank, i)
        })
        .collect();
    ranked.sort_unstable();
    let k = (n / group_size.max(1)).max(1);
    let mut groups: Vec<Vec<u32>> = vec![Vec::with_capacity(n / k + 1); k];
    for (position, (_, server)) in ranked.into_iter().enumerate() {
        groups[position % k].push(server);
    }
    groups
        .into_iter()
        .map(|members| Group {
            threshold: threshold(members.len()),
            members,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_balanced_and_cover_everyone() {
        for (n, size) in [(1, 4), (3, 4), (4, 4), (10, 4), (17, 5), (64, 8)] {
            let groups = grouping(&[7; 32], n, size);
            let mut all: Vec<u32> = groups.iter().flat_map(|g| g.members.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
            let sizes: Vec<usize> = groups.iter().map(|g| g.members.len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{sizes:?}");
            if n >= size {
                assert!(*min >= size, "{sizes:?}");
            }
        }
    }

    #[test]
    fn grouping_depends_on_the_seed() {
        assert_eq!(grouping(&[1; 32], 40, 5), grouping(&[1; 32], 40, 5));
        assert_ne!(grouping(&[1; 32], 40, 5), grouping(&[2; 32], 40, 5));
    }

    #[test]
    fn thresholds() {
        assert_eq!([1, 2, 3, 4, 5, 7, 10].map(threshold), [1, 1, 1, 2, 2, 3, 4]);
    }
}
