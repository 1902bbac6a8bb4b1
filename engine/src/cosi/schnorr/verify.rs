//! Verification of one collective signature.
//!
//! Order of checks (cheap and structural first, then curve work):
//! 1. length = 64 + ⌈n / 8⌉ and a strict mask (no bit past the roster);
//! 2. `r` canonical (`r < L`), `V` any 32 bytes that decode to a curve point (ZIP-215's rule for `R`);
//! 3. the policy holds for the number of bits set;
//! 4. `A'` = aggregate key of the participants (never the identity);
//! 5. `k = SHA-512(V ‖ A' ‖ M) mod L` over `V` as given and `A'` canonically encoded, and the
//!    cofactored equation `[8](r·B − V − k·A') = 0`.
//!
//! Steps 1–5 are the ZIP-215 rules for an Ed25519 signature `V ‖ r` under `A'`.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;

use super::signature::CollectiveSignature;
use super::{CosiError, Roster};
use crate::cosi::{Mask, Policy};
use crate::sig::zip215;

/// Verifies `sig` as a collective signature on `msg` by the members of `roster` it names, who must
/// satisfy `policy`.
pub fn verify(roster: &Roster, policy: Policy, msg: &[u8], sig: &[u8]) -> Result<(), CosiError> {
    let d = decode(roster, policy, sig)?;
    let a = roster.aggregate_key(&d.mask)?;
    let (a, a_bytes) = encoded_key(a)?;
    let k = zip215::challenge(&d.v_bytes, &a_bytes, msg);
    if zip215::equation_holds(&a, &d.v, &k, &d.r) {
        Ok(())
    } else {
        Err(CosiError::EquationFailed)
    }
}

/// A signature that passed steps 1–3.
pub(crate) struct Decoded {
    pub v_bytes: [u8; 32],
    pub v: EdwardsPoint,
    pub r: Scalar,
    pub mask: Mask,
}

/// Steps 1–3.
pub(crate) fn decode(roster: &Roster, policy: Policy, sig: &[u8]) -> Result<Decoded, CosiError> {
    let CollectiveSignature { v, r, mask } = CollectiveSignature::decode(roster.len(), sig)?;
    let r = Scalar::from_canonical_bytes(r)
        .into_option()
        .ok_or(CosiError::NonCanonicalResponse)?;
    let v_point = CompressedEdwardsY(v)
        .decompress()
        .ok_or(CosiError::CommitmentNotAPoint)?;
    let signers = mask.count();
    if !policy.satisfied(roster.len(), signers) {
        return Err(CosiError::PolicyNotMet {
            signers,
            required: policy.required(roster.len()).max(1),
            members: roster.len(),
        });
    }
    Ok(Decoded {
        v_bytes: v,
        v: v_point,
        r,
        mask,
    })
}

/// Step 4's refusal of the identity, and the encoding the challenge hashes.
pub(crate) fn encoded_key(a: EdwardsPoint) -> Result<(EdwardsPoint, [u8; 32]), CosiError> {
    if a.is_identity() {
        return Err(CosiError::IdentityAggregateKey);
    }
    Ok((a, a.compress().to_bytes()))
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::scalar::Scalar;

    use super::*;
    use crate::cosi::schnorr::MemberKey;
    use crate::cosi::schnorr::protocol::{Commitment, challenge};

    /// Keys `A` and `−A` (only a roster without PoP checks lets one party place both without
    /// controlling both, but even its own pair must not make an identity aggregate key).
    #[test]
    fn identity_aggregate_key_is_refused() {
        let k = MemberKey::from_seed(&[5; 32]);
        let neg = (-k.point()).compress().to_bytes();
        let roster = Roster::new_without_pop_for_tests(&[*k.public_key(), neg]).unwrap();
        let mut sig = vec![0u8; 65];
        sig[..32].copy_from_slice(EdwardsPoint::mul_base(&Scalar::ONE).compress().as_bytes());
        sig[32..64].copy_from_slice(Scalar::ONE.as_bytes());
        sig[64] = 0b11;
        assert_eq!(
            verify(&roster, Policy::Complete, b"m", &sig),
            Err(CosiError::IdentityAggregateKey)
        );
        let both = Commitment::decode(
            &roster,
            &sig[..32].iter().chain(&[0b11]).copied().collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(
            challenge(&roster, &both, b"m").unwrap_err(),
            CosiError::IdentityAggregateKey
        );
    }

    #[test]
    fn policy_error_reports_counts() {
        let k = MemberKey::from_seed(&[6; 32]);
        let roster = Roster::from_registrations(&[k.registration()]).unwrap();
        let mut sig = vec![0u8; 65];
        sig[..32].copy_from_slice(k.public_key());
        assert_eq!(
            verify(&roster, Policy::Complete, b"m", &sig),
            Err(CosiError::PolicyNotMet {
                signers: 0,
                required: 1,
                members: 1
            })
        );
    }
}
