//! One CoSi round as pure functions, so any driver (the in-process [`run_round`](super::run_round),
//! the simulator, a network) can move the messages.
//!
//! 1. Announcement: the leader sends the message `M` down the tree.
//! 2. Commitment ([`commit`]): member `i` draws a secret `v_i` and sends `V_i = v_i·B` up, with a
//!    mask holding its bit. A node sums its own and its children's commitments and ORs their masks
//!    ([`aggregate_commitments`]). Members that do not commit are simply absent from the mask.
//! 3. Challenge ([`challenge`]): the leader, with the aggregate `V` and mask, computes
//!    `c = SHA-512(V ‖ A' ‖ M) mod L` (`A'` the participants' aggregate key, the Ed25519 layout)
//!    and sends `(V, c, mask)` down.
//! 4. Response ([`respond`]): each participant recomputes `c` from `V`, the mask and `M`, refuses a
//!    mismatch, and answers `r_i = v_i + c·x_i`; responses are summed up the tree like commitments
//!    ([`aggregate_responses`]); [`check_partial`] checks a subtree's sum to find a faulty child.
//! 5. The leader assembles `V ‖ r ‖ mask` ([`finalize`]).
//!
//! A [`Nonce`] is consumed by [`respond`], so one secret `v_i` never answers two challenges (two
//! answers would reveal `x_i`). Nonces are hedged: derived from fresh randomness, the member's
//! RFC 8032 nonce key and `M`, so a weak RNG alone does not repeat them.
//!
//! Wire formats (all fixed-size but for the mask, `⌈n / 8⌉` bytes in roster order):
//! commitment `V ‖ mask`, challenge `V ‖ c ‖ mask`, response `r ‖ mask`.

use std::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand::CryptoRng;
use sha2::{Digest, Sha512};

use super::signature::CollectiveSignature;
use super::{CosiError, MemberKey, Roster};
use crate::cosi::Mask;
use crate::sig::zip215;

/// Domain prefix of nonce derivation.
const NONCE_DOMAIN: &[u8] = crate::domain::COSI_NONCE;

/// A participant's secret for one round. Not `Clone`: [`respond`] consumes it.
pub struct Nonce {
    index: usize,
    v: Scalar,
}

impl Nonce {
    /// The roster index of the member that drew it.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonce")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A (sub)tree's commitment: `Σ V_i` over the members set in `mask`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment {
    point: EdwardsPoint,
    mask: Mask,
}

/// The leader's challenge: aggregate commitment `V` (as hashed), `c`, and who committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    v: [u8; 32],
    c: Scalar,
    mask: Mask,
}

/// A (sub)tree's response: `Σ r_i` over the members set in `mask`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    r: Scalar,
    mask: Mask,
}

/// Step 2 for member `index`: a fresh nonce and its commitment `V_i = v_i·B`.
pub fn commit<R: CryptoRng + ?Sized>(
    roster: &Roster,
    index: usize,
    key: &MemberKey,
    msg: &[u8],
    rng: &mut R,
) -> Result<(Nonce, Commitment), CosiError> {
    check_key(roster, index, key)?;
    let mut fresh = [0u8; 32];
    rng.fill_bytes(&mut fresh);
    let mut h = Sha512::new();
    h.update(NONCE_DOMAIN);
    h.update(key.prefix());
    h.update(fresh);
    h.update(msg);
    let wide: [u8; 64] = h.finalize().into();
    let v = Scalar::from_bytes_mod_order_wide(&wide);
    let mut mask = Mask::empty(roster.len());
    mask.set(index, true);
    let commitment = Commitment {
        point: EdwardsPoint::mul_base(&v),
        mask,
    };
    Ok((Nonce { index, v }, commitment))
}

/// Step 2 at an inner node: sums its own and its children's commitments; masks must be disjoint.
pub fn aggregate_commitments<'a>(
    roster: &Roster,
    parts: impl IntoIterator<Item = &'a Commitment>,
) -> Result<Commitment, CosiError> {
    let mut point = None;
    let mut mask = None;
    for part in parts {
        roster.check_mask(&part.mask)?;
        point = Some(point.map_or(part.point, |p| p + part.point));
        mask = Some(match mask {
            None => part.mask.clone(),
            Some(m) => union(&m, &part.mask)?,
        });
    }
    match (point, mask) {
        (Some(point), Some(mask)) => Ok(Commitment { point, mask }),
        _ => Err(CosiError::NothingToAggregate),
    }
}

/// Step 3 at the leader: `c = SHA-512(V ‖ A' ‖ M) mod L` for the aggregate commitment.
pub fn challenge(
    roster: &Roster,
    aggregate: &Commitment,
    msg: &[u8],
) -> Result<Challenge, CosiError> {
    let v = aggregate.point.compress().to_bytes();
    let c = challenge_scalar(roster, &v, &aggregate.mask, msg)?;
    Ok(Challenge {
        v,
        c,
        mask: aggregate.mask.clone(),
    })
}

/// Step 4 for the member that drew `nonce`: checks the challenge, then `r_i = v_i + c·x_i`.
pub fn respond(
    roster: &Roster,
    key: &MemberKey,
    nonce: Nonce,
    challenge: &Challenge,
    msg: &[u8],
) -> Result<Response, CosiError> {
    let index = nonce.index;
    check_key(roster, index, key)?;
    roster.check_mask(&challenge.mask)?;
    if !challenge.mask.get(index) {
        return Err(CosiError::NotAParticipant { index });
    }
    if challenge_scalar(roster, &challenge.v, &challenge.mask, msg)? != challenge.c {
        return Err(CosiError::ChallengeMismatch);
    }
    let mut mask = Mask::empty(roster.len());
    mask.set(index, true);
    Ok(Response {
        r: nonce.v + challenge.c * key.scalar(),
        mask,
    })
}

/// Step 4 at an inner node: sums its own and its children's responses; masks must be disjoint.
pub fn aggregate_responses<'a>(
    roster: &Roster,
    parts: impl IntoIterator<Item = &'a Response>,
) -> Result<Response, CosiError> {
    let mut r = None;
    let mut mask = None;
    for part in parts {
        roster.check_mask(&part.mask)?;
        r = Some(r.map_or(part.r, |r| r + part.r));
        mask = Some(match mask {
            None => part.mask.clone(),
            Some(m) => union(&m, &part.mask)?,
        });
    }
    match (r, mask) {
        (Some(r), Some(mask)) => Ok(Response { r, mask }),
        _ => Err(CosiError::NothingToAggregate),
    }
}

/// Checks a subtree's response against its commitment: `[8](r·B − V_sub − c·A'_sub) = 0`, with the
/// same members in both. Lets a node find which child broke the round.
pub fn check_partial(
    roster: &Roster,
    challenge: &Challenge,
    commitment: &Commitment,
    response: &Response,
) -> Result<(), CosiError> {
    if commitment.mask != response.mask {
        return Err(CosiError::ResponseMaskMismatch);
    }
    let a = roster.aggregate_key(&response.mask)?;
    if zip215::equation_holds(&a, &commitment.point, &challenge.c, &response.r) {
        Ok(())
    } else {
        Err(CosiError::PartialResponseInvalid)
    }
}

/// Step 5 at the leader: `V ‖ r ‖ mask`, once every participant of the challenge responded.
pub fn finalize(
    challenge: &Challenge,
    response: &Response,
) -> Result<CollectiveSignature, CosiError> {
    if challenge.mask != response.mask {
        return Err(CosiError::ResponseMaskMismatch);
    }
    Ok(CollectiveSignature {
        v: challenge.v,
        r: response.r.to_bytes(),
        mask: challenge.mask.clone(),
    })
}

impl Commitment {
    /// `Σ V_i` over the subtree.
    pub fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    pub fn mask(&self) -> &Mask {
        &self.mask
    }

    /// `V ‖ mask`.
    pub fn to_bytes(&self) -> Vec<u8> {
        concat(self.point.compress().as_bytes(), &[], &self.mask)
    }

    /// Strict decoding for `roster`: exact length, strict mask, `V` a curve point.
    pub fn decode(roster: &Roster, bytes: &[u8]) -> Result<Self, CosiError> {
        let (head, mask) = split(roster, bytes, 32)?;
        let point = CompressedEdwardsY(head.try_into().expect("32-byte head"))
            .decompress()
            .ok_or(CosiError::CommitmentNotAPoint)?;
        Ok(Self { point, mask })
    }
}

impl Challenge {
    /// The aggregate commitment `V`, as hashed and as the signature will carry it.
    pub fn v(&self) -> &[u8; 32] {
        &self.v
    }

    pub fn c(&self) -> &Scalar {
        &self.c
    }

    pub fn mask(&self) -> &Mask {
        &self.mask
    }

    /// `V ‖ c ‖ mask`.
    pub fn to_bytes(&self) -> Vec<u8> {
        concat(&self.v, self.c.as_bytes(), &self.mask)
    }

    /// Strict decoding for `roster`: exact length, strict mask, canonical `c`. Whether `c` matches
    /// `V`, the mask and the message is [`respond`]'s check.
    pub fn decode(roster: &Roster, bytes: &[u8]) -> Result<Self, CosiError> {
        let (head, mask) = split(roster, bytes, 64)?;
        let v: [u8; 32] = head[..32].try_into().expect("64-byte head");
        let c = Scalar::from_canonical_bytes(head[32..].try_into().expect("64-byte head"))
            .into_option()
            .ok_or(CosiError::NonCanonicalChallenge)?;
        Ok(Self { v, c, mask })
    }
}

impl Response {
    pub fn r(&self) -> &Scalar {
        &self.r
    }

    pub fn mask(&self) -> &Mask {
        &self.mask
    }

    /// `r ‖ mask`.
    pub fn to_bytes(&self) -> Vec<u8> {
        concat(self.r.as_bytes(), &[], &self.mask)
    }

    /// Strict decoding for `roster`: exact length, strict mask, canonical `r`.
    pub fn decode(roster: &Roster, bytes: &[u8]) -> Result<Self, CosiError> {
        let (head, mask) = split(roster, bytes, 32)?;
        let r = Scalar::from_canonical_bytes(head.try_into().expect("32-byte head"))
            .into_option()
            .ok_or(CosiError::NonCanonicalResponse)?;
        Ok(Self { r, mask })
    }
}

/// `SHA-512(V ‖ A' ‖ M) mod L` for the members of `mask`.
pub(crate) fn challenge_scalar(
    roster: &Roster,
    v: &[u8; 32],
    mask: &Mask,
    msg: &[u8],
) -> Result<Scalar, CosiError> {
    let a = roster.aggregate_key(mask)?;
    if a.is_identity() {
        return Err(CosiError::IdentityAggregateKey);
    }
    Ok(zip215::challenge(v, &a.compress().to_bytes(), msg))
}

fn check_key(roster: &Roster, index: usize, key: &MemberKey) -> Result<(), CosiError> {
    if roster.point(index)? == key.point() {
        Ok(())
    } else {
        Err(CosiError::KeyMismatch { index })
    }
}

/// The union of two disjoint masks over the same roster.
fn union(a: &Mask, b: &Mask) -> Result<Mask, CosiError> {
    let mut bytes = a.as_bytes().to_vec();
    for (i, (x, y)) in bytes.iter_mut().zip(b.as_bytes()).enumerate() {
        let both = *x & y;
        if both != 0 {
            return Err(CosiError::OverlappingMasks {
                index: i * 8 + both.trailing_zeros() as usize,
            });
        }
        *x |= y;
    }
    Ok(Mask::decode(a.members(), &bytes)?)
}

fn concat(head: &[u8], more: &[u8], mask: &Mask) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + more.len() + mask.as_bytes().len());
    out.extend_from_slice(head);
    out.extend_from_slice(more);
    out.extend_from_slice(mask.as_bytes());
    out
}

/// Splits a protocol message into a fixed-size head and a strict mask for `roster`.
fn split<'b>(roster: &Roster, bytes: &'b [u8], head: usize) -> Result<(&'b [u8], Mask), CosiError> {
    let expected =
        Mask::encoded_len(roster.len())
            .checked_add(head)
            .ok_or(CosiError::MessageLength {
                expected: usize::MAX,
                got: bytes.len(),
            })?;
    if bytes.len() != expected {
        return Err(CosiError::MessageLength {
            expected,
            got: bytes.len(),
        });
    }
    let (head, mask) = bytes.split_at(head);
    Ok((head, Mask::decode(roster.len(), mask)?))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::cosi::Policy;
    use crate::cosi::schnorr::verify;

    fn setup(n: usize) -> (Roster, Vec<MemberKey>, StdRng) {
        let mut rng = StdRng::seed_from_u64(11);
        let keys: Vec<_> = (0..n).map(|_| MemberKey::generate(&mut rng)).collect();
        let regs: Vec<_> = keys.iter().map(MemberKey::registration).collect();
        (Roster::from_registrations(&regs).unwrap(), keys, rng)
    }

    #[test]
    fn manual_round_with_wire_encodings() {
        let (roster, keys, mut rng) = setup(5);
        let msg = b"block 7";
        let participants = [0usize, 2, 3];
        let mut nonces = Vec::new();
        let mut commitments = Vec::new();
        for &i in &participants {
            let (nonce, c) = commit(&roster, i, &keys[i], msg, &mut rng).unwrap();
            let wire = Commitment::decode(&roster, &c.to_bytes()).unwrap();
            assert_eq!(wire, c);
            nonces.push(nonce);
            commitments.push(c);
        }
        let agg = aggregate_commitments(&roster, &commitments).unwrap();
        let ch = challenge(&roster, &agg, msg).unwrap();
        let ch = Challenge::decode(&roster, &ch.to_bytes()).unwrap();
        let responses: Vec<_> = nonces
            .into_iter()
            .map(|n| {
                let i = n.index();
                respond(&roster, &keys[i], n, &ch, msg).unwrap()
            })
            .collect();
        for (c, r) in commitments.iter().zip(&responses) {
            assert_eq!(Response::decode(&roster, &r.to_bytes()).unwrap(), *r);
            check_partial(&roster, &ch, c, r).unwrap();
        }
        let total = aggregate_responses(&roster, &responses).unwrap();
        check_partial(&roster, &ch, &agg, &total).unwrap();
        let sig = finalize(&ch, &total).unwrap();
        verify(&roster, Policy::Threshold(3), msg, &sig.to_bytes()).unwrap();
    }

    #[test]
    fn members_refuse_a_wrong_challenge() {
        let (roster, keys, mut rng) = setup(3);
        let (n0, c0) = commit(&roster, 0, &keys[0], b"m", &mut rng).unwrap();
        let (_n1, c1) = commit(&roster, 1, &keys[1], b"m", &mut rng).unwrap();
        let agg = aggregate_commitments(&roster, [&c0, &c1]).unwrap();
        let ch = challenge(&roster, &agg, b"m").unwrap();
        // Another message.
        let (n0b, _) = commit(&roster, 0, &keys[0], b"m", &mut rng).unwrap();
        assert_eq!(
            respond(&roster, &keys[0], n0b, &ch, b"other").unwrap_err(),
            CosiError::ChallengeMismatch
        );
        // A tampered c.
        let mut bad = ch.clone();
        bad.c += Scalar::ONE;
        let (n0c, _) = commit(&roster, 0, &keys[0], b"m", &mut rng).unwrap();
        assert_eq!(
            respond(&roster, &keys[0], n0c, &bad, b"m").unwrap_err(),
            CosiError::ChallengeMismatch
        );
        // A mask that claims member 2 as well.
        let mut wider = ch.clone();
        wider.mask.set(2, true);
        let (n0d, _) = commit(&roster, 0, &keys[0], b"m", &mut rng).unwrap();
        assert_eq!(
            respond(&roster, &keys[0], n0d, &wider, b"m").unwrap_err(),
            CosiError::ChallengeMismatch
        );
        // Member 2 never committed.
        let (n2, _) = commit(&roster, 2, &keys[2], b"m", &mut rng).unwrap();
        assert_eq!(
            respond(&roster, &keys[2], n2, &ch, b"m").unwrap_err(),
            CosiError::NotAParticipant { index: 2 }
        );
        // The wrong key for the nonce's member.
        assert_eq!(
            respond(&roster, &keys[1], n0, &ch, b"m").unwrap_err(),
            CosiError::KeyMismatch { index: 0 }
        );
    }

    #[test]
    fn aggregation_refuses_overlap_and_nothing() {
        let (roster, keys, mut rng) = setup(10);
        let (_, c9) = commit(&roster, 9, &keys[9], b"m", &mut rng).unwrap();
        let (_, c1) = commit(&roster, 1, &keys[1], b"m", &mut rng).unwrap();
        let both = aggregate_commitments(&roster, [&c9, &c1]).unwrap();
        assert_eq!(
            aggregate_commitments(&roster, [&both, &c9]).unwrap_err(),
            CosiError::OverlappingMasks { index: 9 }
        );
        assert_eq!(
            aggregate_commitments(&roster, []).unwrap_err(),
            CosiError::NothingToAggregate
        );
        assert_eq!(
            commit(&roster, 10, &keys[0], b"m", &mut rng).unwrap_err(),
            CosiError::MemberOutOfRange {
                index: 10,
                members: 10
            }
        );
    }

    #[test]
    fn finalize_needs_every_participant() {
        let (roster, keys, mut rng) = setup(3);
        let (n0, c0) = commit(&roster, 0, &keys[0], b"m", &mut rng).unwrap();
        let (_n1, c1) = commit(&roster, 1, &keys[1], b"m", &mut rng).unwrap();
        let agg = aggregate_commitments(&roster, [&c0, &c1]).unwrap();
        let ch = challenge(&roster, &agg, b"m").unwrap();
        let r0 = respond(&roster, &keys[0], n0, &ch, b"m").unwrap();
        assert_eq!(
            finalize(&ch, &r0).unwrap_err(),
            CosiError::ResponseMaskMismatch
        );
        assert_eq!(
            check_partial(&roster, &ch, &c1, &r0).unwrap_err(),
            CosiError::ResponseMaskMismatch
        );
    }

    #[test]
    fn wire_decoding_is_strict() {
        let (roster, _, _) = setup(3);
        assert!(matches!(
            Response::decode(&roster, &[0u8; 32]),
            Err(CosiError::MessageLength {
                expected: 33,
                got: 32
            })
        ));
        let mut r = [0xffu8; 33];
        r[32] = 1;
        assert_eq!(
            Response::decode(&roster, &r).unwrap_err(),
            CosiError::NonCanonicalResponse
        );
        let mut c = [0u8; 65];
        c[32..64].fill(0xff);
        assert_eq!(
            Challenge::decode(&roster, &c).unwrap_err(),
            CosiError::NonCanonicalChallenge
        );
        c[32..64].fill(0);
        c[64] = 0x08;
        assert!(matches!(
            Challenge::decode(&roster, &c),
            Err(CosiError::BadMask(_))
        ));
    }
}
