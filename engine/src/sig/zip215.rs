//! Single-signature verification under ZIP-215 rules, and the pieces the batch verifier shares.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use super::SigRef;

/// `k = SHA-512(R ‖ A ‖ M) mod L`, over the bytes exactly as given (never re-encoded).
pub fn challenge(r: &[u8], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let wide: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `S` as a scalar if it is canonical (`S < L`), which ZIP-215 requires.
pub fn canonical_s(sig: &[u8; 64]) -> Option<Scalar> {
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    Scalar::from_canonical_bytes(s).into_option()
}

/// Decodes any 32 bytes that are the encoding of a curve point, canonical or not, any order.
pub fn decompress(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

/// The cofactored equation for one signature: `[8]([S]B − [k]A − R) = 0`.
pub fn equation_holds(a: &EdwardsPoint, r: &EdwardsPoint, k: &Scalar, s: &Scalar) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s);
    (sb_minus_ka - r).mul_by_cofactor().is_identity()
}

/// Verifies one signature under ZIP-215 rules.
pub fn verify_single(item: SigRef<'_>) -> bool {
    let Some(s) = canonical_s(item.sig) else {
        return false;
    };
    let r_bytes: &[u8; 32] = item.sig[..32]
        .try_into()
        .expect("64-byte signature has a 32-byte R");
    let Some(r) = decompress(r_bytes) else {
        return false;
    };
    let Some(a) = decompress(item.pk) else {
        return false;
    };
    let k = challenge(r_bytes, item.pk, item.msg);
    equation_holds(&a, &r, &k, &s)
}
