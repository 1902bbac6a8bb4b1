//! Members' secret keys (RFC 8032 key expansion) and proofs of possession.
//!
//! A proof of possession (PoP) is an ordinary Ed25519 signature, by the member's key, over
//! [`POP_DOMAIN`] ‖ public key. Only someone who knows the discrete log of a key can produce it,
//! which is what stops the rogue-key attack on aggregate keys (a member announcing
//! `A_evil = A' − Σ honest keys`, whose secret it does not know). The domain prefix keeps a PoP from
//! being replayed as, or made from, a signature on anything else.

use std::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rand::CryptoRng;
use sha2::{Digest, Sha512};

use crate::sig::zip215;

/// Domain prefix of the message a proof of possession signs.
pub const POP_DOMAIN: &[u8] = crate::domain::COSI_POP;

/// The message a member's proof of possession signs: [`POP_DOMAIN`] ‖ its public key.
pub fn pop_message(public_key: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(POP_DOMAIN.len() + 32);
    msg.extend_from_slice(POP_DOMAIN);
    msg.extend_from_slice(public_key);
    msg
}

/// What a member submits to join a roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    pub public_key: [u8; 32],
    pub proof_of_possession: [u8; 64],
}

/// A member's Ed25519 secret key, expanded as RFC 8032 does: the same seed gives the same public key
/// (and the same plain Ed25519 signatures) as any Ed25519 implementation.
#[derive(Clone)]
pub struct MemberKey {
    /// The clamped secret scalar `x`, reduced mod L (same point, `x·B`).
    scalar: Scalar,
    /// Second half of SHA-512(seed): the nonce-derivation key.
    prefix: [u8; 32],
    public: [u8; 32],
    point: EdwardsPoint,
}

impl MemberKey {
    /// Expands a 32-byte Ed25519 seed (RFC 8032 §5.1.5).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let h: [u8; 64] = Sha512::digest(seed).into();
        let mut lower = [0u8; 32];
        lower.copy_from_slice(&h[..32]);
        lower[0] &= 248;
        lower[31] &= 127;
        lower[31] |= 64;
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&h[32..]);
        let scalar = Scalar::from_bytes_mod_order(lower);
        let point = EdwardsPoint::mul_base(&scalar);
        Self {
            scalar,
            prefix,
            public: point.compress().to_bytes(),
            point,
        }
    }

    /// A fresh key from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(&seed)
    }

    /// The 32-byte public key (canonical encoding of `x·B`).
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// The proof of possession: an Ed25519 signature over [`pop_message`] of this key.
    pub fn proof_of_possession(&self) -> [u8; 64] {
        self.sign(&pop_message(&self.public))
    }

    /// Public key and proof of possession, ready for [`Roster`](super::Roster) registration.
    pub fn registration(&self) -> Registration {
        Registration {
            public_key: self.public,
            proof_of_possession: self.proof_of_possession(),
        }
    }

    pub(crate) fn scalar(&self) -> &Scalar {
        &self.scalar
    }

    pub(crate) fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    pub(crate) fn prefix(&self) -> &[u8; 32] {
        &self.prefix
    }

    /// A deterministic RFC 8032 Ed25519 signature (for proofs of possession, and tests).
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update(self.prefix);
        h.update(msg);
        let wide: [u8; 64] = h.finalize().into();
        let r = Scalar::from_bytes_mod_order_wide(&wide);
        let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
        let k = zip215::challenge(&r_bytes, &self.public, msg);
        let s = r + k * self.scalar;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
}

impl fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberKey")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

/// Whether `pop` is a valid proof of possession for the key `public_key` (decoded as `point`),
/// under the cofactored ZIP-215 equation.
pub(crate) fn pop_verifies(public_key: &[u8; 32], point: &EdwardsPoint, pop: &[u8; 64]) -> bool {
    let Some(s) = zip215::canonical_s(pop) else {
        return false;
    };
    let r_bytes: &[u8; 32] = pop[..32]
        .try_into()
        .expect("64-byte signature has a 32-byte R");
    let Some(r) = zip215::decompress(r_bytes) else {
        return false;
    };
    let k = zip215::challenge(r_bytes, public_key, &pop_message(public_key));
    zip215::equation_holds(point, &r, &k, &s)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Signer;

    use super::*;

    #[test]
    fn expansion_and_signatures_match_ed25519_dalek() {
        for i in 0..8u8 {
            let seed = [i.wrapping_mul(37); 32];
            let ours = MemberKey::from_seed(&seed);
            let theirs = ed25519_dalek::SigningKey::from_bytes(&seed);
            assert_eq!(ours.public_key(), theirs.verifying_key().as_bytes());
            assert_eq!(*ours.scalar(), theirs.to_scalar());
            let msg = pop_message(ours.public_key());
            assert_eq!(ours.sign(&msg), theirs.sign(&msg).to_bytes());
        }
    }

    #[test]
    fn pop_is_bound_to_its_key() {
        let a = MemberKey::from_seed(&[1; 32]);
        let b = MemberKey::from_seed(&[2; 32]);
        assert!(pop_verifies(
            a.public_key(),
            a.point(),
            &a.proof_of_possession()
        ));
        assert!(!pop_verifies(
            b.public_key(),
            b.point(),
            &a.proof_of_possession()
        ));
        // A plain signature over the bare key (no domain prefix) is not a PoP.
        let bare = a.sign(a.public_key());
        assert!(!pop_verifies(a.public_key(), a.point(), &bare));
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = MemberKey::from_seed(&[9; 32]);
        let shown = format!("{k:?}");
        assert!(shown.contains(&hex::encode(k.public_key())));
        assert!(!shown.contains(&hex::encode(k.prefix())));
    }
}
