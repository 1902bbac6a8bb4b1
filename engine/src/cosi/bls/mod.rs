//! BLS collective signatures over BLS12-381 with blst, `min_pk` variant: public keys in G1 (48 bytes
//! compressed), signatures in G2 (96 bytes compressed).
//!
//! Scheme: the IETF BLS proof-of-possession ciphersuite. A member signs a message `m` as
//! `σ = sk · H(m)` under [`SIG_DST`]; a collective signature is `Σ σᵢ` over the participants, and
//! verifies as `e(apk, H(m)) = e(g₁, Σ σᵢ)` with `apk = Σ pkᵢ` over the same participants: one pairing
//! check (two Miller loops and one final exponentiation), whatever the number of signers.
//!
//! Invariants:
//! - Every key in a [`BlsRoster`] decoded strictly, is not the point at infinity, lies in G1, and came
//!   with a valid proof of possession (a signature of its own compressed bytes under [`POP_DST`]).
//!   Possession is what makes summing keys safe: a rogue key `g^x − Σ honest pks`, which would let
//!   its owner sign for everyone, has no known secret key, so it cannot be registered.
//! - Wire format: compressed aggregate signature (96 bytes) ‖ participation mask over roster order
//!   ([`Mask`](super::Mask), bit `i` = `byte[i >> 3] & (1 << (i & 7))`). Decoding is strict: exact
//!   length, canonical mask, canonical point encoding, point in G2 and not at infinity. Untrusted bytes
//!   never panic.
//! - The policy is checked on the mask before any curve work, so a signature with too few signers
//!   costs almost nothing to refuse.
//! - The participants' aggregate key is never the point at infinity (that key would accept the
//!   infinity signature for any message); such a signature is refused.
//! - The participants' aggregate key costs `min(present, absent)` point additions: the full roster's
//!   aggregate is kept, and when fewer than half the members are absent the key is computed as
//!   `full − Σ absent` instead of `Σ present` (both give the same point; tests hold them equal).
//! - Batch verification ([`verify_batch`]) gives exactly the verdicts of [`verify()`](fn@verify), up to a 2⁻⁶⁴
//!   chance per batch check of accepting an invalid set: random 64-bit coefficients from a
//!   cryptographic RNG, unknown to signers, and bisection when a batch fails.
//!
//! Layout: [`error`] (one error type), [`member`] (key generation, proof of possession, signing),
//! [`roster`] (registration, aggregate keys), [`signature`] (aggregation, encoding, strict decoding),
//! [`verify`](mod@verify) (single verification), [`batch`] (batch verification).

pub mod batch;
pub mod error;
pub mod member;
pub mod roster;
pub mod signature;
pub mod verify;

pub use batch::verify_batch;
pub use blst::min_pk::{PublicKey, SecretKey, Signature};
pub use error::BlsCosiError;
pub use member::{keygen, proof_of_possession, sign};
pub use roster::{BlsRoster, decode_public_key};
pub use signature::{CollectiveSignature, decode_signature};
pub use verify::{verify, verify_member};

/// Domain separation tag of message signatures (IETF BLS, proof-of-possession scheme, G2 signatures).
pub const SIG_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Domain separation tag of proofs of possession (the signature of a member's own public key).
pub const POP_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Bytes of a compressed public key (G1).
pub const PUBLIC_KEY_LEN: usize = 48;

/// Bytes of a compressed signature (G2).
pub const SIGNATURE_LEN: usize = 96;
