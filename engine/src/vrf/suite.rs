//! The building blocks of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5.4 and §5.5).
//!
//! Public so that the RFC's intermediate values (`H`, `k`, `U`, `V`) can be checked against its
//! vectors; [`super::proof`] composes them into prove and verify.
//!
//! Domain separators, as the RFC numbers them: `0x01` encode_to_curve, `0x02` challenge generation,
//! `0x03` proof_to_hash; each hash input ends with `0x00`.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use super::keys::SecretKey;
use super::{CHALLENGE_LEN, SUITE_STRING, VrfError};

const ENCODE_TO_CURVE_FRONT: u8 = 0x01;
const CHALLENGE_FRONT: u8 = 0x02;
pub(crate) const PROOF_TO_HASH_FRONT: u8 = 0x03;
const DOMAIN_BACK: u8 = 0x00;

/// `string_to_point` (RFC 8032 §5.1.3 decoding): `None` where the RFC says `INVALID`.
///
/// Stricter than `CompressedEdwardsY::decompress`, which reduces a non-canonical `y` modulo `p` and
/// ignores the sign bit of `x = 0`; RFC 8032 rejects both.
pub fn string_to_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_encoding(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// `point_to_string`: the 32-byte RFC 8032 encoding.
pub fn point_to_string(point: &EdwardsPoint) -> [u8; 32] {
    point.compress().to_bytes()
}

/// True when `y < p` and the encoding is not `x = 0` with the sign bit set.
///
/// `x = 0` exactly when `y = ±1`, so the second test looks at `y = 1` and `y = p − 1` only.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] >> 7;
    let mut y = *bytes;
    y[31] &= 0x7f;
    // p = 2²⁵⁵ − 19: y ≥ p iff its top 31 bytes are all ones (top bit cleared) and y[0] ≥ 0xed.
    let top_all_ones = y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    if top_all_ones && y[0] >= 0xed {
        return false;
    }
    if sign == 1 {
        let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
        let is_p_minus_one = top_all_ones && y[0] == 0xec;
        if is_one || is_p_minus_one {
            return false;
        }
    }
    true
}

/// `ECVRF_encode_to_curve_try_and_increment` (§5.4.1.1) with `encode_to_curve_salt = PK_string`.
///
/// Returns the point and the counter that produced it. Each try succeeds with probability about
/// 1/2, so running out of the 256 one-byte counters has probability about 2⁻²⁵⁶; it is still an
/// error, never a panic, because `alpha` may come from anyone.
pub fn encode_to_curve(salt: &[u8], alpha: &[u8]) -> Result<(EdwardsPoint, u8), VrfError> {
    let mut prefix = Sha512::new();
    prefix.update([SUITE_STRING, ENCODE_TO_CURVE_FRONT]);
    prefix.update(salt);
    prefix.update(alpha);
    for ctr in 0..=u8::MAX {
        let hash = prefix.clone().chain_update([ctr, DOMAIN_BACK]).finalize();
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(&hash[..32]);
        if let Some(point) = string_to_point(&candidate) {
            let point = point.mul_by_cofactor();
            if !point.is_identity() {
                return Ok((point, ctr));
            }
        }
    }
    Err(VrfError::EncodeToCurveExhausted)
}

/// `k_string` of `ECVRF_nonce_generation_RFC8032` (§5.4.2.2):
/// `SHA-512(SHA-512(SK)[32..64] ‖ h_string)`; the nonce is `k = k_string mod L`.
pub fn nonce_string(sk: &SecretKey, h_string: &[u8; 32]) -> [u8; 64] {
    Sha512::new()
        .chain_update(sk.nonce_key())
        .chain_update(h_string)
        .finalize()
        .into()
}

/// `ECVRF_challenge_generation` (§5.4.3) over the encodings of `Y, H, Gamma, U, V`: the first
/// `cLen` = 16 bytes of `SHA-512(0x03 ‖ 0x02 ‖ Y ‖ H ‖ Gamma ‖ U ‖ V ‖ 0x00)`.
pub fn challenge_generation(points: [&[u8; 32]; 5]) -> [u8; CHALLENGE_LEN] {
    let mut hasher = Sha512::new();
    hasher.update([SUITE_STRING, CHALLENGE_FRONT]);
    for point in points {
        hasher.update(point);
    }
    hasher.update([DOMAIN_BACK]);
    let hash = hasher.finalize();
    let mut c = [0u8; CHALLENGE_LEN];
    c.copy_from_slice(&hash[..CHALLENGE_LEN]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p_minus(k: u8) -> [u8; 32] {
        let mut y = [0xffu8; 32];
        y[0] = 0xed - k;
        y[31] = 0x7f;
        y
    }

    #[test]
    fn canonical_encodings_round_trip() {
        let b = curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        for k in 1u64..20 {
            let p = b * curve25519_dalek::Scalar::from(k);
            let s = point_to_string(&p);
            assert_eq!(string_to_point(&s), Some(p));
        }
    }

    #[test]
    fn non_canonical_y_rejected() {
        // y = p + 1 is a non-canonical encoding of y = 1 (the identity), which decompress accepts.
        let mut y = p_minus(0);
        y[0] += 1;
        assert!(CompressedEdwardsY(y).decompress().is_some());
        assert_eq!(string_to_point(&y), None);
        for k in 0..=0x12u8 {
            let mut y = [0xffu8; 32];
            y[0] = 0xed + k;
            y[31] = 0x7f;
            assert_eq!(string_to_point(&y), None, "y = p + {k}");
            y[31] |= 0x80;
            assert_eq!(string_to_point(&y), None, "y = p + {k}, sign set");
        }
    }

    #[test]
    fn negative_zero_x_rejected() {
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(string_to_point(&one).is_some());
        one[31] |= 0x80;
        assert!(CompressedEdwardsY(one).decompress().is_some());
        assert_eq!(string_to_point(&one), None);

        let mut minus_one = p_minus(1);
        assert!(string_to_point(&minus_one).is_some());
        minus_one[31] |= 0x80;
        assert_eq!(string_to_point(&minus_one), None);
    }
}
