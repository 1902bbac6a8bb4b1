//! Verification of one collective signature: policy on the mask, the participants' aggregate key,
//! then one pairing check `e(apk, H(m)) = e(g₁, σ)`.

use blst::{BLST_ERROR, Pairing, blst_p1_affine, blst_p2_affine};

use super::{BlsCosiError, BlsRoster, PublicKey, SIG_DST, Signature, decode_signature, signature};
use crate::cosi::{Mask, Policy};

/// Verifies the collective signature `sig_bytes` (signature ‖ mask) of `msg` by members of
/// `roster`, under `policy`. Checks in order of cost: length and mask, policy, signature decoding,
/// aggregate key, pairing.
pub fn verify(
    roster: &BlsRoster,
    policy: Policy,
    msg: &[u8],
    sig_bytes: &[u8],
) -> Result<(), BlsCosiError> {
    let (pk, sig) = prepare(roster, policy, sig_bytes)?;
    if pairing_check(SIG_DST, &pk, msg, &sig) {
        Ok(())
    } else {
        Err(BlsCosiError::VerificationFailed)
    }
}

/// Verifies member `index`'s own signature of `msg` (what a leader does with each contribution
/// before aggregating).
pub fn verify_member(
    roster: &BlsRoster,
    index: usize,
    msg: &[u8],
    sig: &Signature,
) -> Result<(), BlsCosiError> {
    let pk = roster
        .public_key(index)
        .ok_or(BlsCosiError::MemberOutOfRange {
            index,
            members: roster.len(),
        })?;
    if pairing_check(SIG_DST, pk, msg, sig) {
        Ok(())
    } else {
        Err(BlsCosiError::VerificationFailed)
    }
}

/// Everything but the pairing: decodes `sig_bytes`, checks the policy, and returns the participants'
/// aggregate key with the decoded signature.
pub(super) fn prepare(
    roster: &BlsRoster,
    policy: Policy,
    sig_bytes: &[u8],
) -> Result<(PublicKey, Signature), BlsCosiError> {
    let (sig, mask) = signature::split(roster.len(), sig_bytes)?;
    check_policy(policy, &mask)?;
    let sig = decode_signature(sig)?;
    let pk = roster.aggregate_key(&mask)?;
    Ok((pk, sig))
}

fn check_policy(policy: Policy, mask: &Mask) -> Result<(), BlsCosiError> {
    let (members, signers) = (mask.members(), mask.count());
    if policy.satisfied(members, signers) {
        Ok(())
    } else {
        Err(BlsCosiError::PolicyNotMet {
            members,
            signers,
            required: policy.required(members).max(1),
        })
    }
}

/// `e(pk, H_dst(msg)) = e(g₁, sig)`, on the calling thread. `pk` must be valid (not infinity, in G1)
/// and `sig` in G2: neither is checked again here.
pub(super) fn pairing_check(dst: &[u8], pk: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
    let pk: &blst_p1_affine = pk.into();
    let sig: &blst_p2_affine = sig.into();
    let mut ctx = Pairing::new(true, dst);
    if ctx.aggregate(pk, false, sig, false, msg, &[]) != BLST_ERROR::BLST_SUCCESS {
        return false;
    }
    ctx.commit();
    ctx.finalverify(None)
}
