//! Collective signatures: aggregation of members' signatures, encoding, strict decoding.
//!
//! Wire format: compressed aggregate G2 signature (96 bytes) ‖ participation mask over roster order
//! (`ceil(n / 8)` bytes). Decoding checks, cheapest first: exact length, canonical mask, canonical
//! point encoding, point in G2, point not at infinity.

use blst::BLST_ERROR;
use blst::min_pk::AggregateSignature;

use super::{BlsCosiError, BlsRoster, SIGNATURE_LEN, Signature};
use crate::cosi::Mask;

/// An aggregate signature and the members it claims to speak for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectiveSignature {
    signature: Signature,
    mask: Mask,
}

/// Decodes one compressed G2 signature strictly (a member's signature, a proof of possession, or
/// the aggregate inside a collective signature): 96 bytes, canonical, in G2, not infinity.
pub fn decode_signature(bytes: &[u8]) -> Result<Signature, BlsCosiError> {
    if bytes.len() != SIGNATURE_LEN {
        return Err(BlsCosiError::SignatureEncoding);
    }
    let sig = Signature::uncompress(bytes).map_err(|_| BlsCosiError::SignatureEncoding)?;
    sig.validate(true).map_err(|e| match e {
        BLST_ERROR::BLST_PK_IS_INFINITY => BlsCosiError::SignatureInfinity,
        _ => BlsCosiError::SignatureNotInGroup,
    })?;
    Ok(sig)
}

/// Splits a collective signature's bytes for a roster of `members`: the signature's bytes (not yet
/// decoded) and the decoded mask. Cheap: no curve arithmetic.
pub(super) fn split(members: usize, bytes: &[u8]) -> Result<(&[u8], Mask), BlsCosiError> {
    let expected = Mask::encoded_len(members)
        .checked_add(SIGNATURE_LEN)
        .ok_or(BlsCosiError::Length {
            members,
            expected: usize::MAX,
            got: bytes.len(),
        })?;
    if bytes.len() != expected {
        return Err(BlsCosiError::Length {
            members,
            expected,
            got: bytes.len(),
        });
    }
    let (signature, mask) = bytes.split_at(SIGNATURE_LEN);
    Ok((signature, Mask::decode(members, mask)?))
}

impl CollectiveSignature {
    /// Aggregates members' signatures, given as `(member index, signature)`. Does not check them:
    /// a leader checks each one with [`verify_member`](super::verify_member) first, or one bad
    /// contribution spoils the aggregate.
    pub fn aggregate(
        roster: &BlsRoster,
        contributions: &[(usize, Signature)],
    ) -> Result<Self, BlsCosiError> {
        let members = roster.len();
        let mut mask = Mask::empty(members);
        for &(index, _) in contributions {
            if index >= members {
                return Err(BlsCosiError::MemberOutOfRange { index, members });
            }
            if mask.get(index) {
                return Err(BlsCosiError::DuplicateContribution { index });
            }
            mask.set(index, true);
        }
        let signatures: Vec<&Signature> = contributions.iter().map(|(_, sig)| sig).collect();
        // Signatures were group-checked when decoded or made by `sign`.
        let aggregate = AggregateSignature::aggregate(&signatures, false)
            .map_err(|_| BlsCosiError::NoParticipants)?;
        Ok(Self {
            signature: aggregate.to_signature(),
            mask,
        })
    }

    /// Assembles a collective signature from its parts.
    pub fn from_parts(signature: Signature, mask: Mask) -> Self {
        Self { signature, mask }
    }

    /// Decodes a collective signature for a roster of `members`, strictly.
    pub fn decode(members: usize, bytes: &[u8]) -> Result<Self, BlsCosiError> {
        let (signature, mask) = split(members, bytes)?;
        Ok(Self {
            signature: decode_signature(signature)?,
            mask,
        })
    }

    /// Signature (96 bytes) ‖ mask.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNATURE_LEN + self.mask.as_bytes().len());
        out.extend_from_slice(&self.signature.compress());
        out.extend_from_slice(self.mask.as_bytes());
        out
    }

    /// The aggregate signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The members the signature claims to speak for.
    pub fn mask(&self) -> &Mask {
        &self.mask
    }

    /// Number of signers the mask claims.
    pub fn signers(&self) -> usize {
        self.mask.count()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::cosi::MaskError;
    use crate::cosi::bls::{keygen, proof_of_possession, sign};

    fn roster(n: usize) -> (Vec<blst::min_pk::SecretKey>, BlsRoster) {
        let mut rng = StdRng::seed_from_u64(20);
        let sks: Vec<_> = (0..n).map(|_| keygen(&mut rng)).collect();
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

    #[test]
    fn encoding_round_trips() {
        let (sks, roster) = roster(10);
        let parts: Vec<_> = [0, 3, 9]
            .iter()
            .map(|&i| (i, sign(&sks[i], b"m")))
            .collect();
        let cs = CollectiveSignature::aggregate(&roster, &parts).unwrap();
        let bytes = cs.to_bytes();
        assert_eq!(bytes.len(), SIGNATURE_LEN + 2);
        assert_eq!(&bytes[SIGNATURE_LEN..], &[0b0000_1001, 0b0000_0010]);
        assert_eq!(CollectiveSignature::decode(10, &bytes).unwrap(), cs);
        assert_eq!(cs.signers(), 3);
    }

    #[test]
    fn aggregation_refuses_bad_contributions() {
        let (sks, roster) = roster(3);
        let s = sign(&sks[0], b"m");
        assert_eq!(
            CollectiveSignature::aggregate(&roster, &[]),
            Err(BlsCosiError::NoParticipants)
        );
        assert_eq!(
            CollectiveSignature::aggregate(&roster, &[(3, s)]),
            Err(BlsCosiError::MemberOutOfRange {
                index: 3,
                members: 3
            })
        );
        assert_eq!(
            CollectiveSignature::aggregate(&roster, &[(1, s), (1, s)]),
            Err(BlsCosiError::DuplicateContribution { index: 1 })
        );
    }

    #[test]
    fn decoding_is_strict() {
        let (sks, roster) = roster(10);
        let cs = CollectiveSignature::aggregate(&roster, &[(2, sign(&sks[2], b"m"))]).unwrap();
        let bytes = cs.to_bytes();
        for len in [0, SIGNATURE_LEN, bytes.len() - 1, bytes.len() + 1] {
            let mut b = bytes.clone();
            b.resize(len, 0);
            assert!(matches!(
                CollectiveSignature::decode(10, &b),
                Err(BlsCosiError::Length { .. })
            ));
        }
        let mut past = bytes.clone();
        past[SIGNATURE_LEN + 1] |= 0b0000_0100;
        assert_eq!(
            CollectiveSignature::decode(10, &past),
            Err(BlsCosiError::Mask(MaskError::BitPastRoster {
                bit: 10,
                members: 10
            }))
        );
        // The compression flag cleared: not a compressed encoding.
        let mut flag = bytes.clone();
        flag[0] &= 0x7f;
        assert_eq!(
            CollectiveSignature::decode(10, &flag),
            Err(BlsCosiError::SignatureEncoding)
        );
        let mut infinity = bytes.clone();
        infinity[..SIGNATURE_LEN].fill(0);
        infinity[0] = 0xc0;
        assert_eq!(
            CollectiveSignature::decode(10, &infinity),
            Err(BlsCosiError::SignatureInfinity)
        );
        // Infinity flag with stray bits set is non-canonical.
        infinity[5] = 1;
        assert_eq!(
            CollectiveSignature::decode(10, &infinity),
            Err(BlsCosiError::SignatureEncoding)
        );
        // x ≥ p is non-canonical.
        let mut big = bytes;
        big[..SIGNATURE_LEN].fill(0xff);
        big[0] = 0x9f;
        assert_eq!(
            CollectiveSignature::decode(10, &big),
            Err(BlsCosiError::SignatureEncoding)
        );
    }
}
