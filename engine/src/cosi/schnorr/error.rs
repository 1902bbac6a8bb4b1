//! The one error type of Schnorr CoSi: decoding, verification, roster registration and protocol steps.

use thiserror::Error;

use crate::cosi::MaskError;

/// Why a collective signature, a registration or a protocol message was refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CosiError {
    // Decoding and verification of a collective signature.
    #[error("collective signature is {got} bytes, a roster of {members} needs {expected}")]
    WrongLength {
        members: usize,
        expected: usize,
        got: usize,
    },
    #[error("bad participation mask: {0}")]
    BadMask(#[from] MaskError),
    #[error("response r is not canonical (r ≥ L)")]
    NonCanonicalResponse,
    #[error("aggregate commitment V is not the encoding of a curve point")]
    CommitmentNotAPoint,
    #[error("policy not met: {signers} of {members} members signed, {required} required")]
    PolicyNotMet {
        signers: usize,
        required: usize,
        members: usize,
    },
    #[error("the participants' aggregate key is the identity")]
    IdentityAggregateKey,
    #[error("verification equation [8](r·B − V − k·A') = 0 failed")]
    EquationFailed,

    // Roster registration.
    #[error("a roster needs at least one member")]
    EmptyRoster,
    #[error("registration {index}: public key is not the encoding of a curve point")]
    KeyNotAPoint { index: usize },
    #[error("registration {index}: public key is not canonically encoded")]
    NonCanonicalKey { index: usize },
    #[error("registration {index}: public key has small order")]
    SmallOrderKey { index: usize },
    #[error("registration {index}: public key is not torsion-free")]
    KeyNotTorsionFree { index: usize },
    #[error("registration {index}: public key already registered as member {existing}")]
    DuplicateKey { index: usize, existing: usize },
    #[error("registration {index}: proof of possession does not verify")]
    BadProofOfPossession { index: usize },

    // Protocol steps.
    #[error("member {index} is past a roster of {members}")]
    MemberOutOfRange { index: usize, members: usize },
    #[error("secret key does not belong to roster member {index}")]
    KeyMismatch { index: usize },
    #[error("{given} secret keys given for a roster of {members}")]
    KeyCount { given: usize, members: usize },
    #[error("mask is over a roster of {got} members, this roster has {expected}")]
    MaskRosterMismatch { expected: usize, got: usize },
    #[error("member {index} is counted in two aggregated subtrees")]
    OverlappingMasks { index: usize },
    #[error("nothing to aggregate")]
    NothingToAggregate,
    #[error("challenge does not match its V, mask and the message")]
    ChallengeMismatch,
    #[error("member {index} is not a participant of the challenge")]
    NotAParticipant { index: usize },
    #[error("the responders differ from the challenge's participants")]
    ResponseMaskMismatch,
    #[error("partial response does not verify against its subtree's commitment")]
    PartialResponseInvalid,
    #[error("protocol message is {got} bytes, expected {expected}")]
    MessageLength { expected: usize, got: usize },
    #[error("challenge scalar is not canonical (c ≥ L)")]
    NonCanonicalChallenge,
}
