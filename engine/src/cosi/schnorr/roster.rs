//! The roster: who may sign, in which order, and the aggregate keys of any subset of them.
//!
//! Invariants, enforced at registration (the only way to build a roster outside tests):
//! - every key decodes, is canonically encoded, has large order and is torsion-free, so an
//!   aggregate key never carries a torsion component and the encoding a member announced is the
//!   encoding the challenge hash sees (a one-member roster signs plain Ed25519 under that key);
//! - no key appears twice (one key, one vote under a threshold policy);
//! - every member proved possession of its key, so nobody can choose a key as a function of the
//!   others' (the rogue-key attack).
//!
//! The sum of all members' keys is kept, so an aggregate key costs at most `n / 2` point additions:
//! with fewer than half the members absent, `A' = Σ all − Σ absent`; otherwise `A' = Σ present`.

use std::collections::HashMap;
use std::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::Identity;

use super::CosiError;
use super::key::{Registration, pop_verifies};
use crate::cosi::Mask;

/// How [`Roster::aggregate_key_with`] sums keys. Every path gives the same point; the choice only
/// changes the cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregatePath {
    /// The cheaper of the two below: subtract when fewer than half the members are absent.
    Auto,
    /// `Σ present`.
    SumPresent,
    /// `Σ all − Σ absent`.
    SubtractAbsent,
}

/// The ordered members of a CoSi group, with their keys decoded once.
#[derive(Clone)]
pub struct Roster {
    public_keys: Vec<[u8; 32]>,
    points: Vec<EdwardsPoint>,
    index: HashMap<[u8; 32], usize>,
    /// `Σ A_i` over all members.
    full: EdwardsPoint,
}

impl Roster {
    /// A roster of `registrations`, in their order; refuses the first bad one.
    pub fn from_registrations(registrations: &[Registration]) -> Result<Self, CosiError> {
        let mut builder = Self::builder();
        for registration in registrations {
            builder.register(registration)?;
        }
        builder.build()
    }

    /// An empty builder; members join with [`RosterBuilder::register`].
    pub fn builder() -> RosterBuilder {
        RosterBuilder {
            roster: Roster {
                public_keys: Vec::new(),
                points: Vec::new(),
                index: HashMap::new(),
                full: EdwardsPoint::identity(),
            },
        }
    }

    /// A roster whose members did NOT prove possession of their keys: open to the rogue-key attack.
    /// Exists only so that a test can show that attack; every other key check still applies.
    #[cfg(test)]
    pub(crate) fn new_without_pop_for_tests(public_keys: &[[u8; 32]]) -> Result<Self, CosiError> {
        let mut builder = Self::builder();
        for pk in public_keys {
            let point = builder.admit(pk)?;
            builder.push(*pk, point);
        }
        builder.build()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.public_keys.len()
    }

    /// Always false for a built roster (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.public_keys.is_empty()
    }

    /// Members' public keys, in roster order.
    pub fn public_keys(&self) -> &[[u8; 32]] {
        &self.public_keys
    }

    /// Member `i`'s public key.
    pub fn public_key(&self, i: usize) -> Option<&[u8; 32]> {
        self.public_keys.get(i)
    }

    /// The roster index of a public key.
    pub fn index_of(&self, public_key: &[u8; 32]) -> Option<usize> {
        self.index.get(public_key).copied()
    }

    /// `Σ A_i` over all members.
    pub fn full_aggregate_key(&self) -> &EdwardsPoint {
        &self.full
    }

    /// The aggregate key `A'` of the members set in `mask`.
    pub fn aggregate_key(&self, mask: &Mask) -> Result<EdwardsPoint, CosiError> {
        self.aggregate_key_with(mask, AggregatePath::Auto)
    }

    /// [`Self::aggregate_key`] along a chosen path (to test that the paths agree).
    pub fn aggregate_key_with(
        &self,
        mask: &Mask,
        path: AggregatePath,
    ) -> Result<EdwardsPoint, CosiError> {
        self.check_mask(mask)?;
        let absent = self.len() - mask.count();
        let subtract = match path {
            AggregatePath::Auto => absent * 2 < self.len(),
            AggregatePath::SumPresent => false,
            AggregatePath::SubtractAbsent => true,
        };
        // Plain loops with `+=`: folding a 160-byte point through an iterator chain copied it for
        // every member (measured: 77 µs for a 4,096-member roster with nobody absent).
        let mut sum = EdwardsPoint::identity();
        if subtract {
            for i in mask.absentees() {
                sum += &self.points[i];
            }
            Ok(self.full - sum)
        } else {
            for i in mask.participants() {
                sum += &self.points[i];
            }
            Ok(sum)
        }
    }

    /// Errors unless `mask` is over a roster of this size.
    pub(crate) fn check_mask(&self, mask: &Mask) -> Result<(), CosiError> {
        if mask.members() == self.len() {
            Ok(())
        } else {
            Err(CosiError::MaskRosterMismatch {
                expected: self.len(),
                got: mask.members(),
            })
        }
    }

    /// Member `i`'s decoded key, or an error past the roster.
    pub(crate) fn point(&self, i: usize) -> Result<&EdwardsPoint, CosiError> {
        self.points.get(i).ok_or(CosiError::MemberOutOfRange {
            index: i,
            members: self.len(),
        })
    }
}

impl fmt::Debug for Roster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roster")
            .field("members", &self.len())
            .field("aggregate", &hex::encode(self.full.compress().as_bytes()))
            .finish()
    }
}

/// Builds a [`Roster`] one verified registration at a time.
#[derive(Debug)]
pub struct RosterBuilder {
    roster: Roster,
}

impl RosterBuilder {
    /// Checks `registration` (key decodes, canonical, large order, torsion-free, not yet registered,
    /// proof of possession valid) and appends the member; returns its roster index.
    pub fn register(&mut self, registration: &Registration) -> Result<usize, CosiError> {
        let pk = &registration.public_key;
        let point = self.admit(pk)?;
        if !pop_verifies(pk, &point, &registration.proof_of_possession) {
            return Err(CosiError::BadProofOfPossession {
                index: self.roster.len(),
            });
        }
        Ok(self.push(*pk, point))
    }

    /// Members registered so far.
    pub fn len(&self) -> usize {
        self.roster.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roster.is_empty()
    }

    /// The roster, if it has at least one member.
    pub fn build(self) -> Result<Roster, CosiError> {
        if self.roster.is_empty() {
            return Err(CosiError::EmptyRoster);
        }
        Ok(self.roster)
    }

    /// Every key check except the proof of possession; the decoded point.
    fn admit(&self, pk: &[u8; 32]) -> Result<EdwardsPoint, CosiError> {
        let index = self.roster.len();
        let point = CompressedEdwardsY(*pk)
            .decompress()
            .ok_or(CosiError::KeyNotAPoint { index })?;
        if point.compress().as_bytes() != pk {
            return Err(CosiError::NonCanonicalKey { index });
        }
        if point.is_small_order() {
            return Err(CosiError::SmallOrderKey { index });
        }
        if !point.is_torsion_free() {
            return Err(CosiError::KeyNotTorsionFree { index });
        }
        if let Some(existing) = self.roster.index_of(pk) {
            return Err(CosiError::DuplicateKey { index, existing });
        }
        Ok(point)
    }

    fn push(&mut self, pk: [u8; 32], point: EdwardsPoint) -> usize {
        let roster = &mut self.roster;
        let index = roster.len();
        roster.public_keys.push(pk);
        roster.points.push(point);
        roster.index.insert(pk, index);
        roster.full += point;
        index
    }
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::cosi::schnorr::MemberKey;

    fn keys(n: usize) -> Vec<MemberKey> {
        let mut rng = StdRng::seed_from_u64(7);
        (0..n).map(|_| MemberKey::generate(&mut rng)).collect()
    }

    #[test]
    fn registration_checks() {
        let k = keys(2);
        let mut b = Roster::builder();
        assert_eq!(b.register(&k[0].registration()), Ok(0));
        assert_eq!(
            b.register(&k[0].registration()),
            Err(CosiError::DuplicateKey {
                index: 1,
                existing: 0
            })
        );
        let mut swapped = k[1].registration();
        swapped.proof_of_possession = k[0].proof_of_possession();
        assert_eq!(
            b.register(&swapped),
            Err(CosiError::BadProofOfPossession { index: 1 })
        );

        let small = EIGHT_TORSION[1].compress().to_bytes();
        assert_eq!(
            b.register(&Registration {
                public_key: small,
                proof_of_possession: [0; 64]
            }),
            Err(CosiError::SmallOrderKey { index: 1 })
        );
        let mixed = (k[1].point() + EIGHT_TORSION[1]).compress().to_bytes();
        assert_eq!(
            b.register(&Registration {
                public_key: mixed,
                proof_of_possession: [0; 64]
            }),
            Err(CosiError::KeyNotTorsionFree { index: 1 })
        );
        // y = 2²⁵⁵ − 19 + 1 ≡ 1: a non-canonical encoding of the identity's y.
        let mut noncanonical = [0xff; 32];
        noncanonical[0] = 0xee;
        noncanonical[31] = 0x7f;
        assert_eq!(
            b.register(&Registration {
                public_key: noncanonical,
                proof_of_possession: [0; 64]
            }),
            Err(CosiError::NonCanonicalKey { index: 1 })
        );
        assert_eq!(b.register(&k[1].registration()), Ok(1));
        let roster = b.build().unwrap();
        assert_eq!(roster.len(), 2);
        assert_eq!(roster.index_of(k[1].public_key()), Some(1));
        assert_eq!(*roster.full_aggregate_key(), k[0].point() + k[1].point());
    }

    #[test]
    fn empty_roster_is_refused() {
        assert_eq!(
            Roster::from_registrations(&[]).unwrap_err(),
            CosiError::EmptyRoster
        );
    }

    #[test]
    fn aggregate_paths_agree() {
        let k = keys(13);
        let regs: Vec<_> = k.iter().map(MemberKey::registration).collect();
        let roster = Roster::from_registrations(&regs).unwrap();
        for pattern in [0u32, 1, 0x1fff, 0x0f0f, 0x1ffe, 0x0001, 0x1555] {
            let mut mask = Mask::empty(13);
            for i in 0..13 {
                mask.set(i, pattern >> i & 1 == 1);
            }
            let expected: EdwardsPoint = mask.participants().map(|i| *k[i].point()).sum();
            for path in [
                AggregatePath::Auto,
                AggregatePath::SumPresent,
                AggregatePath::SubtractAbsent,
            ] {
                assert_eq!(roster.aggregate_key_with(&mask, path).unwrap(), expected);
            }
        }
        assert!(matches!(
            roster.aggregate_key(&Mask::full(12)),
            Err(CosiError::MaskRosterMismatch { .. })
        ));
    }
}
