//! The one error type of BLS collective signatures.

use thiserror::Error;

use crate::cosi::MaskError;

/// Why a key, a proof of possession or a collective signature was refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlsCosiError {
    /// The collective signature's byte length does not fit the roster.
    #[error("collective signature is {got} bytes, a roster of {members} needs {expected}")]
    Length {
        members: usize,
        expected: usize,
        got: usize,
    },
    /// The participation mask is malformed.
    #[error("participation mask: {0}")]
    Mask(#[from] MaskError),
    /// A mask built for another roster size.
    #[error("mask covers {mask_members} members, the roster has {roster_members}")]
    MaskRosterMismatch {
        mask_members: usize,
        roster_members: usize,
    },
    /// Signature bytes that are not exactly one canonical compressed G2 point.
    #[error("signature bytes are not a canonical compressed G2 point")]
    SignatureEncoding,
    /// A signature point outside the prime-order subgroup G2.
    #[error("signature is not in the G2 subgroup")]
    SignatureNotInGroup,
    /// The signature is the point at infinity (never the signature of a valid key).
    #[error("signature is the point at infinity")]
    SignatureInfinity,
    /// Public key bytes that are not exactly one canonical compressed G1 point.
    #[error("public key bytes are not a canonical compressed G1 point")]
    PublicKeyEncoding,
    /// The public key is the point at infinity.
    #[error("public key is the point at infinity")]
    PublicKeyInfinity,
    /// A public key point outside the prime-order subgroup G1.
    #[error("public key is not in the G1 subgroup")]
    PublicKeyNotInGroup,
    /// The public key is already a member of the roster.
    #[error("public key is already member {index} of the roster")]
    DuplicateKey { index: usize },
    /// The proof of possession is malformed or does not verify for the key.
    #[error("proof of possession does not verify for this public key")]
    BadProofOfPossession,
    /// A member index past the roster.
    #[error("member {index} is past a roster of {members}")]
    MemberOutOfRange { index: usize, members: usize },
    /// The same member contributed twice to one aggregation.
    #[error("member {index} contributed twice")]
    DuplicateContribution { index: usize },
    /// Nobody signed.
    #[error("no participants")]
    NoParticipants,
    /// Too few signers for the policy.
    #[error("{signers} of {members} members signed, the policy needs {required}")]
    PolicyNotMet {
        members: usize,
        signers: usize,
        required: usize,
    },
    /// The participants' keys sum to the point at infinity (only colluding members can cause it).
    #[error("participants' aggregate public key is the point at infinity")]
    AggregateKeyInfinity,
    /// Well-formed, but the pairing equation does not hold.
    #[error("signature does not verify")]
    VerificationFailed,
}
