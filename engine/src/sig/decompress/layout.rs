//! A curve25519-dalek `EdwardsPoint` from coordinates computed by [`super::ifma`].
//!
//! dalek offers no public constructor from coordinates, only decompression, which is the work the
//! vector code replaces. Its `EdwardsPoint` is four field elements `X, Y, Z, T`, each five `u64`
//! limbs in radix 2⁵¹ (the `u64` and `fiat` field backends, the only ones on 64-bit targets), so
//! canonical limbs written in that order are a valid point. Field order is not a language guarantee:
//! [`layout_matches`] checks it at run time against dalek's own decompression before the vector
//! path is ever used, and the workspace pins dalek's exact version so an update is a reviewed
//! change. Every bit pattern of `[u64; 20]` is a valid value of the fields, so the conversion can give
//! a wrong point but never undefined behaviour; the check makes sure it gives the right one.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;

use super::ifma::{BATCH, Coordinates, Ifma};

const _: () = assert!(size_of::<EdwardsPoint>() == 20 * size_of::<u64>());

/// The extended point `(x : y : 1 : x·y)` from canonical affine coordinates.
pub fn point(c: &Coordinates) -> EdwardsPoint {
    let mut limbs = [0u64; 20];
    limbs[0..5].copy_from_slice(&c.x);
    limbs[5..10].copy_from_slice(&c.y);
    limbs[10] = 1;
    limbs[15..20].copy_from_slice(&c.t);
    // SAFETY: same size (checked above) and every field of `EdwardsPoint` is plain `u64` limbs, for
    // which any bit pattern is valid. Whether the fields sit in this order is checked by
    // `layout_matches` before this is used for verification.
    unsafe { core::mem::transmute::<[u64; 20], EdwardsPoint>(limbs) }
}

/// Whether points built by [`point`] from the vector decompression are exactly dalek's, on
/// encodings that exercise every coordinate: equal as points, same encoding, same results under
/// addition (which reads `T`) and doubling, and the same verdict on an invalid encoding.
pub fn layout_matches(ifma: Ifma) -> bool {
    let mut encodings = [[0u8; 32]; BATCH];
    for (k, e) in encodings.iter_mut().enumerate().take(BATCH - 2) {
        let scalar = Scalar::from(0x9e37_79b9_u64 * (k as u64 + 1));
        *e = (ED25519_BASEPOINT_POINT * scalar).compress().to_bytes();
    }
    // y = 1 encoded as p + 1 (non-canonical) with the sign bit set: x = 0 "negative".
    let mut noncanonical = [0xffu8; 32];
    noncanonical[0] = 0xee;
    encodings[BATCH - 2] = noncanonical;
    // y = 2 is not the y-coordinate of any point.
    encodings[BATCH - 1][0] = 2;

    let ours = ifma.decompress(&encodings);
    encodings.iter().zip(ours).all(|(bytes, decoded)| {
        let reference = CompressedEdwardsY(*bytes).decompress();
        match (decoded, reference) {
            (None, None) => true,
            (Some(c), Some(reference)) => {
                let p = point(&c);
                let b = ED25519_BASEPOINT_POINT;
                p == reference
                    && p.compress() == reference.compress()
                    && (p + b).compress() == (reference + b).compress()
                    && (p + p).compress() == (reference + reference).compress()
                    && p.mul_by_cofactor() == reference.mul_by_cofactor()
            }
            _ => false,
        }
    })
}
