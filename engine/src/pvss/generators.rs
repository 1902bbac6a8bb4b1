//! The two generators of the scheme: `G`, the Ed25519 basepoint, and `H`, derived from a hash.
//!
//! `H` must be independent of `G`: anyone who knew `h = log_G(H)` could read the secret straight
//! off the public commitment, `s·G = h⁻¹·C_0`, and every share, `p(i)·G = h⁻¹·X_i`, before any
//! participant decrypts. So `H` comes from a public hash with nothing secret in it ("nothing up my
//! sleeve"): for `ctr = 0, 1, …`, take the first 32 bytes of `SHA-512(H_DOMAIN ‖ ctr)`, decode
//! them strictly as a point `P` (the first success is at `ctr = 2`), and set `H = 8·P`.
//! Multiplying by the cofactor 8 removes any small-order component, so `H` lies in the prime-order
//! subgroup; it is checked not to be the identity. Knowing `log_G(H)` would mean solving a discrete
//! logarithm for a point chosen by SHA-512, which is assumed as hard as for a random point.

use std::sync::OnceLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use super::point::Point;

/// Domain tag of the derivation of `H`; changing it changes every transcript.
pub const H_DOMAIN: &[u8] = crate::domain::PVSS_GENERATOR_H;

/// `G`, the Ed25519 basepoint: public keys are `x·G` and recovered secrets `s·G`.
pub fn g() -> Point {
    Point::from_subgroup(ED25519_BASEPOINT_POINT)
}

/// `H`, the commitment generator (see the module docs for how and why).
pub fn h() -> Point {
    static H: OnceLock<Point> = OnceLock::new();
    *H.get_or_init(|| Point::from_subgroup(derive_h().0))
}

/// `H` and the counter that produced it.
fn derive_h() -> (EdwardsPoint, u8) {
    for ctr in 0..=u8::MAX {
        let hash = Sha512::new()
            .chain_update(H_DOMAIN)
            .chain_update([ctr])
            .finalize();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&hash[..32]);
        let Some(p) = CompressedEdwardsY(bytes).decompress() else {
            continue;
        };
        if p.compress().to_bytes() != bytes {
            continue;
        }
        let h = p.mul_by_cofactor();
        if !h.is_identity() {
            return (h, ctr);
        }
    }
    unreachable!("a fixed hash input: ctr = 2 succeeds (pinned by a test)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_is_a_fixed_subgroup_point_distinct_from_g() {
        let h = h();
        assert!(h.as_edwards().is_torsion_free());
        assert!(!h.is_identity());
        assert_ne!(h, g());
        // Pinned: every transcript depends on H.
        assert_eq!(hex::encode(h.to_bytes()), H_PINNED);
        assert_eq!(Point::from_bytes(&h.to_bytes()), Ok(h));
        assert_eq!(
            derive_h().1,
            2,
            "the module docs name the counter that succeeds"
        );
    }

    const H_PINNED: &str = "5e4d7cc5a5e231b76fc4137c342eba3b1326a93634d2032b33cb789672a0a6ee";
}
