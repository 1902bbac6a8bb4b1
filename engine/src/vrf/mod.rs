//! ECVRF-EDWARDS25519-SHA512-TAI, exactly as RFC 9381 specifies it (suite string `0x03`).
//!
//! The normal league draws its re-validation sample from VRF outputs, so every validator must
//! compute the same `beta` for the same `(pk, alpha, pi)` and reject the same malformed proofs:
//! this module follows the RFC step by step and is pinned by its Appendix B.3 vectors
//! (`engine/tests/vrf_rfc9381.rs`).
//!
//! Invariants:
//! - Keys follow RFC 8032 §5.1.5: the secret key is a 32-byte seed; `SHA-512(seed)` gives the
//!   clamped secret scalar `x` (first half) and the nonce key (second half); the public key is
//!   `Y = x·B`.
//! - Points are decoded strictly as RFC 8032 §5.1.3 says ([`suite::string_to_point`]): a
//!   non-canonical `y` (`y ≥ p`) or a "negative zero" `x` is `INVALID`. So every accepted point has
//!   exactly one encoding, and `point_to_string(string_to_point(s)) = s`.
//! - Verification runs the RFC's `ECVRF_validate_key` (§5.4.5): the public key must decode and must
//!   not be of small order (`8·Y ≠ O`). Points with a small-order component but a large-order part
//!   pass, as in the RFC.
//! - A proof is `Gamma (32) ‖ c (16) ‖ s (32)` = 80 bytes; `Gamma` must decode, `s` must be
//!   canonical (`s < L`); `c` is any 128-bit integer. Any other length is rejected.
//! - `beta = SHA-512(0x03 ‖ 0x03 ‖ point_to_string(8·Gamma) ‖ 0x00)` (§5.2); it depends only on
//!   `Gamma`, so it is unique for a given key and `alpha` once the proof verifies.
//! - Untrusted bytes never panic: every failure is a [`VrfError`].
//!
//! Layout: [`keys`] (secret and public keys), [`suite`] (the RFC's building blocks: decoding,
//! encode_to_curve, nonce and challenge generation), [`proof`] (prove, verify, proof_to_hash).

pub mod keys;
pub mod proof;
pub mod suite;

pub use keys::{PublicKey, SecretKey};
pub use proof::{Proof, proof_to_hash, prove, verify, verify_with_key};

/// The suite string of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5.5).
pub const SUITE_STRING: u8 = 0x03;
/// Length of a public key (`ptLen`).
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a secret key (the RFC 8032 seed).
pub const SECRET_KEY_LEN: usize = 32;
/// Length of the challenge `c` in a proof (`cLen`).
pub const CHALLENGE_LEN: usize = 16;
/// Length of a proof: `Gamma ‖ c ‖ s` (`ptLen + cLen + qLen`).
pub const PROOF_LEN: usize = 32 + CHALLENGE_LEN + 32;
/// Length of the VRF output `beta` (`hLen`).
pub const OUTPUT_LEN: usize = 64;

/// Why a VRF public key or proof was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VrfError {
    #[error("public key must be {PUBLIC_KEY_LEN} bytes, got {0}")]
    PublicKeyLength(usize),
    #[error("public key does not decode to a curve point")]
    PublicKeyNotAPoint,
    #[error("public key is a small-order point")]
    SmallOrderPublicKey,
    #[error("proof must be {PROOF_LEN} bytes, got {0}")]
    ProofLength(usize),
    #[error("proof's Gamma does not decode to a curve point")]
    GammaNotAPoint,
    #[error("proof's s is not canonical (s >= L)")]
    NonCanonicalS,
    #[error("encode_to_curve found no point within 256 tries")]
    EncodeToCurveExhausted,
    #[error("proof does not verify")]
    InvalidProof,
}
