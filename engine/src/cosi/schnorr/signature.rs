//! The collective signature's wire format: `V (32) ‖ r (32) ‖ mask (⌈n / 8⌉)`.
//!
//! `V ‖ r` is laid out exactly like an Ed25519 signature `R ‖ S`, so with the participants'
//! aggregate key `A'` it is an Ed25519 signature under `A'` (cofactored, ZIP-215 rules).

use super::CosiError;
use crate::cosi::Mask;

/// A collective signature, split into its parts (no curve checks yet: see [`verify`](super::verify)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectiveSignature {
    /// Aggregate commitment `V`, as encoded.
    pub v: [u8; 32],
    /// Aggregate response `r`, as encoded.
    pub r: [u8; 32],
    /// Who took part.
    pub mask: Mask,
}

impl CollectiveSignature {
    /// Encoded length for a roster of `members` (`None` only on overflow).
    pub fn encoded_len(members: usize) -> Option<usize> {
        Mask::encoded_len(members).checked_add(64)
    }

    /// `V ‖ r ‖ mask`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mask = self.mask.as_bytes();
        let mut out = Vec::with_capacity(64 + mask.len());
        out.extend_from_slice(&self.v);
        out.extend_from_slice(&self.r);
        out.extend_from_slice(mask);
        out
    }

    /// Splits `bytes` for a roster of `members`: exact length, strict mask.
    pub fn decode(members: usize, bytes: &[u8]) -> Result<Self, CosiError> {
        let expected = Self::encoded_len(members).ok_or(CosiError::WrongLength {
            members,
            expected: usize::MAX,
            got: bytes.len(),
        })?;
        if bytes.len() != expected {
            return Err(CosiError::WrongLength {
                members,
                expected,
                got: bytes.len(),
            });
        }
        let (v, rest) = bytes.split_at(32);
        let (r, mask) = rest.split_at(32);
        Ok(Self {
            v: v.try_into().expect("split at 32"),
            r: r.try_into().expect("split at 32"),
            mask: Mask::decode(members, mask)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosi::MaskError;

    #[test]
    fn round_trip_and_strictness() {
        let mut mask = Mask::empty(10);
        mask.set(3, true);
        let sig = CollectiveSignature {
            v: [1; 32],
            r: [2; 32],
            mask,
        };
        let bytes = sig.to_bytes();
        assert_eq!(bytes.len(), 66);
        assert_eq!(CollectiveSignature::decode(10, &bytes).unwrap(), sig);
        assert_eq!(
            CollectiveSignature::decode(10, &bytes[..65]),
            Err(CosiError::WrongLength {
                members: 10,
                expected: 66,
                got: 65
            })
        );
        let mut past = bytes.clone();
        past[65] |= 0x80;
        assert_eq!(
            CollectiveSignature::decode(10, &past),
            Err(CosiError::BadMask(MaskError::BitPastRoster {
                bit: 15,
                members: 10
            }))
        );
    }
}
