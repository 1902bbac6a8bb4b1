//! The ordered set of members' public keys, and the aggregate key of any subset of them.
//!
//! A key enters only with a valid proof of possession, after strict decoding and key validation
//! (not infinity, in G1); it keeps its index for the roster's life, and the index is its bit in
//! participation masks. The full roster's aggregate key is kept up to date, so the participants'
//! aggregate key costs `min(present, absent)` additions: `Σ present`, or `full − Σ absent` when
//! fewer than half the members are absent.

use std::collections::HashMap;

use blst::BLST_ERROR;
use blst::min_pk::AggregatePublicKey;

use super::{BlsCosiError, PUBLIC_KEY_LEN, PublicKey, decode_signature, member};
use crate::cosi::Mask;

/// Set in the first byte of a compressed point at infinity (ZCash serialization).
const INFINITY_FLAG: u8 = 0x40;

/// Members' public keys in roster order.
#[derive(Clone, Debug, Default)]
pub struct BlsRoster {
    keys: Vec<PublicKey>,
    index: HashMap<[u8; PUBLIC_KEY_LEN], usize>,
    /// `Σ keys`, `None` while the roster is empty.
    full: Option<AggregatePublicKey>,
}

/// Decodes a compressed public key strictly and validates it (not infinity, in G1).
pub fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, BlsCosiError> {
    if bytes.len() != PUBLIC_KEY_LEN {
        return Err(BlsCosiError::PublicKeyEncoding);
    }
    let pk = PublicKey::uncompress(bytes).map_err(|_| BlsCosiError::PublicKeyEncoding)?;
    pk.validate().map_err(|e| match e {
        BLST_ERROR::BLST_PK_IS_INFINITY => BlsCosiError::PublicKeyInfinity,
        _ => BlsCosiError::PublicKeyNotInGroup,
    })?;
    Ok(pk)
}

impl BlsRoster {
    /// An empty roster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a member, given its compressed public key (48 bytes) and its proof of possession
    /// (compressed G2 signature, 96 bytes; see [`proof_of_possession`](super::proof_of_possession)).
    /// Returns the member's index. Refuses malformed or invalid keys, duplicates and bad proofs; a
    /// refused registration leaves the roster unchanged.
    pub fn register(&mut self, public_key: &[u8], pop: &[u8]) -> Result<usize, BlsCosiError> {
        let pk = decode_public_key(public_key)?;
        let compressed = pk.compress();
        if let Some(&index) = self.index.get(&compressed) {
            return Err(BlsCosiError::DuplicateKey { index });
        }
        let pop = decode_signature(pop).map_err(|_| BlsCosiError::BadProofOfPossession)?;
        member::check_possession(&pk, &pop)?;

        let index = self.keys.len();
        self.keys.push(pk);
        self.index.insert(compressed, index);
        match &mut self.full {
            Some(full) => add(full, &pk),
            None => self.full = Some(AggregatePublicKey::from_public_key(&pk)),
        }
        Ok(index)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Member `index`'s public key.
    pub fn public_key(&self, index: usize) -> Option<&PublicKey> {
        self.keys.get(index)
    }

    /// All members' public keys, in roster order.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The index of the member with this compressed public key.
    pub fn index_of(&self, public_key: &[u8]) -> Option<usize> {
        let key: &[u8; PUBLIC_KEY_LEN] = public_key.try_into().ok()?;
        self.index.get(key).copied()
    }

    /// The aggregate key of the whole roster (`None` while empty).
    pub fn full_aggregate_key(&self) -> Option<PublicKey> {
        self.full.as_ref().map(AggregatePublicKey::to_public_key)
    }

    /// The participants' aggregate key, by the cheaper of the two paths: `full − Σ absent` when fewer
    /// than half the members are absent, `Σ present` otherwise.
    pub fn aggregate_key(&self, mask: &Mask) -> Result<PublicKey, BlsCosiError> {
        let present = self.check_mask(mask)?;
        // `full − Σ absent` costs `absent` mixed additions plus one full addition; `Σ present` costs
        // `present − 1` mixed additions.
        if self.len() - present < present {
            self.aggregate_key_by_subtraction(mask)
        } else {
            self.aggregate_key_by_sum(mask)
        }
    }

    /// The participants' aggregate key as `Σ present`.
    pub fn aggregate_key_by_sum(&self, mask: &Mask) -> Result<PublicKey, BlsCosiError> {
        self.check_mask(mask)?;
        let sum = self
            .sum(mask.participants())
            .ok_or(BlsCosiError::NoParticipants)?;
        finite(sum)
    }

    /// The participants' aggregate key as `full − Σ absent`.
    pub fn aggregate_key_by_subtraction(&self, mask: &Mask) -> Result<PublicKey, BlsCosiError> {
        self.check_mask(mask)?;
        let mut key = self.full.ok_or(BlsCosiError::NoParticipants)?;
        if let Some(absent) = self.sum(mask.absentees()) {
            key.sub_aggregate(&absent);
        }
        finite(key)
    }

    /// Checks that `mask` covers this roster and names somebody; returns the number of participants.
    fn check_mask(&self, mask: &Mask) -> Result<usize, BlsCosiError> {
        if mask.members() != self.len() {
            return Err(BlsCosiError::MaskRosterMismatch {
                mask_members: mask.members(),
                roster_members: self.len(),
            });
        }
        match mask.count() {
            0 => Err(BlsCosiError::NoParticipants),
            present => Ok(present),
        }
    }

    /// `Σ keys[i]` over `members` (indices below `len()`), `None` when there are none.
    fn sum(&self, mut members: impl Iterator<Item = usize>) -> Option<AggregatePublicKey> {
        let first = members.next()?;
        let mut sum = AggregatePublicKey::from_public_key(&self.keys[first]);
        for i in members {
            add(&mut sum, &self.keys[i]);
        }
        Some(sum)
    }
}

/// `sum += pk`, for keys validated at registration.
fn add(sum: &mut AggregatePublicKey, pk: &PublicKey) {
    let added = sum.add_public_key(pk, false);
    debug_assert!(added.is_ok(), "adding without validation cannot fail");
}

/// The affine key, refused when it is the point at infinity.
fn finite(key: AggregatePublicKey) -> Result<PublicKey, BlsCosiError> {
    let key = key.to_public_key();
    if key.compress()[0] & INFINITY_FLAG != 0 {
        return Err(BlsCosiError::AggregateKeyInfinity);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::cosi::bls::{SecretKey, keygen, proof_of_possession};

    fn roster(n: usize, seed: u64) -> (Vec<SecretKey>, BlsRoster) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sks: Vec<SecretKey> = (0..n).map(|_| keygen(&mut rng)).collect();
        let mut roster = BlsRoster::new();
        for sk in &sks {
            roster
                .register(
                    &sk.sk_to_pk().compress(),
                    &proof_of_possession(sk).compress(),
                )
                .unwrap();
        }
        (sks, roster)
    }

    fn mask(n: usize, members: &[usize]) -> Mask {
        let mut m = Mask::empty(n);
        for &i in members {
            m.set(i, true);
        }
        m
    }

    #[test]
    fn both_paths_agree_on_every_mask_of_a_small_roster() {
        let (_, roster) = roster(6, 10);
        for bits in 1u32..(1 << 6) {
            let members: Vec<usize> = (0..6).filter(|i| bits & (1 << i) != 0).collect();
            let m = mask(6, &members);
            let by_sum = roster.aggregate_key_by_sum(&m).unwrap();
            let by_sub = roster.aggregate_key_by_subtraction(&m).unwrap();
            assert_eq!(by_sum, by_sub, "mask {bits:06b}");
            assert_eq!(roster.aggregate_key(&m).unwrap(), by_sum);
        }
        assert_eq!(
            roster.aggregate_key(&Mask::full(6)).unwrap(),
            roster.full_aggregate_key().unwrap()
        );
    }

    #[test]
    fn empty_and_mismatched_masks_are_refused() {
        let (_, roster) = roster(3, 11);
        for f in [
            BlsRoster::aggregate_key,
            BlsRoster::aggregate_key_by_sum,
            BlsRoster::aggregate_key_by_subtraction,
        ] {
            assert_eq!(
                f(&roster, &Mask::empty(3)),
                Err(BlsCosiError::NoParticipants)
            );
            assert_eq!(
                f(&roster, &Mask::full(4)),
                Err(BlsCosiError::MaskRosterMismatch {
                    mask_members: 4,
                    roster_members: 3
                })
            );
        }
        assert_eq!(
            BlsRoster::new().aggregate_key(&Mask::empty(0)),
            Err(BlsCosiError::NoParticipants)
        );
    }

    #[test]
    fn registration_is_strict() {
        let (sks, mut roster) = roster(2, 12);
        let pk0 = sks[0].sk_to_pk().compress();
        let pop0 = proof_of_possession(&sks[0]).compress();
        assert_eq!(
            roster.register(&pk0, &pop0),
            Err(BlsCosiError::DuplicateKey { index: 0 })
        );
        assert_eq!(
            roster.register(&pk0[..47], &pop0),
            Err(BlsCosiError::PublicKeyEncoding)
        );
        let mut infinity = [0u8; PUBLIC_KEY_LEN];
        infinity[0] = 0xc0;
        assert_eq!(
            roster.register(&infinity, &pop0),
            Err(BlsCosiError::PublicKeyInfinity)
        );
        // Uncompressed (96-byte) encodings are not accepted, only the 48-byte compressed form.
        assert_eq!(
            roster.register(&sks[0].sk_to_pk().serialize(), &pop0),
            Err(BlsCosiError::PublicKeyEncoding)
        );
        assert_eq!(roster.len(), 2);
        assert_eq!(roster.index_of(&pk0), Some(0));
        assert_eq!(roster.index_of(&infinity), None);
    }

    #[test]
    fn colluding_members_cannot_cancel_the_aggregate_key() {
        // sk and −sk are both registrable by whoever knows sk; together they sum to infinity.
        let mut rng = StdRng::seed_from_u64(13);
        let sk = keygen(&mut rng);
        let neg = negate(&sk);
        let mut roster = BlsRoster::new();
        for k in [&sk, &neg] {
            roster
                .register(&k.sk_to_pk().compress(), &proof_of_possession(k).compress())
                .unwrap();
        }
        assert_eq!(
            roster.aggregate_key_by_sum(&Mask::full(2)),
            Err(BlsCosiError::AggregateKeyInfinity)
        );
        assert_eq!(
            roster.aggregate_key_by_subtraction(&Mask::full(2)),
            Err(BlsCosiError::AggregateKeyInfinity)
        );
    }

    /// `r − sk`, with `r` the order of G1 and G2.
    fn negate(sk: &SecretKey) -> SecretKey {
        const R: [u8; 32] = [
            0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1,
            0xd8, 0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff,
            0x00, 0x00, 0x00, 0x01,
        ];
        let s = sk.to_bytes();
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for ((o, &r), &s) in out.iter_mut().zip(&R).zip(&s).rev() {
            let d = i16::from(r) - i16::from(s) - borrow;
            borrow = i16::from(d < 0);
            *o = d.rem_euclid(256) as u8;
        }
        SecretKey::from_bytes(&out).unwrap()
    }
}
