//! Publicly verifiable secret sharing (Schoenmakers, 1999) on the prime-order subgroup of
//! edwards25519, with Chaum–Pedersen DLEQ proofs.
//!
//! A dealer shares a secret among `n` participants so that any `t` of them can recover `s·G`, and
//! anyone (not only the participants) can check that the dealer's encrypted shares are consistent
//! and that each decrypted share is the right one. The harness uses it for shared randomness that
//! no single validator can bias or withhold.
//!
//! Invariants (each module states its own in detail):
//! - Every group element is a [`Point`]: in the prime-order subgroup; decoded from canonical bytes
//!   only, and never the identity or a point with a small-order component when decoded
//!   ([`point`]).
//! - Scalars decode only from canonical bytes (`< L`).
//! - Every DLEQ challenge is recomputed by the verifier from the full transcript; batch and single
//!   verification give the same per-proof verdicts ([`dleq`]).
//! - `H` is a hash-derived generator whose discrete logarithm to `G` nobody knows ([`generators`]).
//! - Untrusted input (bytes, serde, sizes, indices) never panics: every failure is a [`PvssError`].
//!
//! Layout: [`point`] (encodings), [`generators`] (`G`, `H`), [`dleq`] (proofs, batch verification),
//! [`scheme`] (keys, dealing, verification, decryption), [`recover`](mod@recover) (Lagrange
//! interpolation).

pub mod dleq;
pub mod generators;
pub mod point;
pub mod recover;
pub mod scheme;

pub use dleq::{DleqProof, DleqStatement};
pub use point::Point;
pub use recover::{lagrange_at_zero, recover, recover_verified};
pub use scheme::{
    DealTranscript, DecryptedShare, KeyPair, deal, deal_secret, decrypt_share,
    verify_decrypted_share, verify_decrypted_shares, verify_encrypted_shares,
};

/// Why a PVSS input was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PvssError {
    #[error("bytes do not decode to a curve point")]
    NotAPoint,
    #[error("point encoding is not canonical")]
    NonCanonicalPoint,
    #[error("point is the identity")]
    IdentityPoint,
    #[error("point is not in the prime-order subgroup")]
    TorsionPoint,
    #[error("scalar encoding is not canonical (>= L)")]
    NonCanonicalScalar,
    #[error("expected 64 hex characters")]
    BadHex,
    #[error("DLEQ proof must be 96 bytes, got {0}")]
    ProofLength(usize),
    #[error("threshold {threshold} out of range for {participants} participants")]
    ThresholdOutOfRange {
        threshold: usize,
        participants: usize,
    },
    #[error("expected {expected} {what}, got {got}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("secret must not be zero")]
    ZeroSecret,
    #[error("participant index {index} out of range 1..={participants}")]
    IndexOutOfRange { index: u32, participants: usize },
    #[error("share index 0 is not a participant")]
    ZeroIndex,
    #[error("share index {0} appears twice")]
    DuplicateIndex(u32),
    #[error("{have} shares, {need} needed")]
    NotEnoughShares { have: usize, need: usize },
    #[error("encrypted shares of participants {indices:?} do not match the commitments")]
    InvalidEncryptedShares { indices: Vec<u32> },
    #[error("decrypted share of participant {index} is invalid")]
    InvalidDecryptedShare { index: u32 },
}
