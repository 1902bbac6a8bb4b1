//! Group elements and scalars as PVSS handles them, and their byte and serde encodings.
//!
//! Invariants:
//! - A [`Point`] always lies in the prime-order subgroup (order L) of edwards25519. Decoding
//!   ([`Point::from_bytes`]) additionally demands a canonical encoding (`y < p`, no "negative
//!   zero") and rejects the identity, so the 8 small-order points, every point with a small-order
//!   component and every second encoding of a point are refused. Points the crate computes from
//!   valid points (sums, multiples) stay in the subgroup; only such computed points can be the
//!   identity.
//! - Because every point is torsion-free, the DLEQ equations need no cofactor, and a random linear
//!   combination of equations holds only if each one does (except with probability 2⁻¹²⁸): batch
//!   and single verification agree on every input.
//! - Scalars decode only from canonical encodings (`< L`).
//! - In serde formats, points and scalars are 64-character lowercase hex strings of their 32 bytes.

use std::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand::CryptoRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::PvssError;

/// A point of the prime-order subgroup of edwards25519 (see the module invariants).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Point(EdwardsPoint);

impl Point {
    /// Decodes untrusted bytes: canonical encoding, on the curve, torsion-free, not the identity.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Point, PvssError> {
        let point = CompressedEdwardsY(*bytes)
            .decompress()
            .ok_or(PvssError::NotAPoint)?;
        // decompress reduces y mod p and ignores the sign of x = 0; re-encoding exposes both.
        if point.compress().as_bytes() != bytes {
            return Err(PvssError::NonCanonicalPoint);
        }
        Point::from_edwards(point)
    }

    /// Checks a point computed elsewhere: torsion-free and not the identity.
    pub fn from_edwards(point: EdwardsPoint) -> Result<Point, PvssError> {
        if point.is_identity() {
            return Err(PvssError::IdentityPoint);
        }
        if !point.is_torsion_free() {
            return Err(PvssError::TorsionPoint);
        }
        Ok(Point(point))
    }

    /// Wraps a point known to be in the subgroup (computed from subgroup points).
    pub(crate) fn from_subgroup(point: EdwardsPoint) -> Point {
        debug_assert!(point.is_torsion_free());
        Point(point)
    }

    /// `s·G` for the Ed25519 basepoint `G`.
    pub fn mul_base(s: &Scalar) -> Point {
        Point(EdwardsPoint::mul_base(s))
    }

    /// The canonical 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    pub fn as_edwards(&self) -> &EdwardsPoint {
        &self.0
    }

    pub fn is_identity(&self) -> bool {
        self.0.is_identity()
    }
}

impl std::ops::Mul<&Scalar> for &Point {
    type Output = Point;
    fn mul(self, s: &Scalar) -> Point {
        Point(self.0 * s)
    }
}

impl std::ops::Add<&Point> for &Point {
    type Output = Point;
    fn add(self, other: &Point) -> Point {
        Point(self.0 + other.0)
    }
}

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Point({})", hex::encode(self.to_bytes()))
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Point, D::Error> {
        let bytes = hex32(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)?;
        Point::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Decodes a canonical scalar (`< L`) from untrusted bytes.
pub fn scalar_from_bytes(bytes: &[u8; 32]) -> Result<Scalar, PvssError> {
    Option::from(Scalar::from_canonical_bytes(*bytes)).ok_or(PvssError::NonCanonicalScalar)
}

/// A uniformly random scalar (64 random bytes reduced mod L).
pub fn random_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A uniformly random non-zero scalar.
pub fn random_nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let s = random_scalar(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

fn hex32(s: &str) -> Result<[u8; 32], PvssError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| PvssError::BadHex)?;
    Ok(out)
}

/// serde `with` module for scalars: 32-byte hex, canonical on decode.
pub mod scalar_hex {
    use super::*;

    pub fn serialize<S: Serializer>(s: &Scalar, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(s.as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        let bytes = hex32(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)?;
        scalar_from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    #[test]
    fn decode_rules() {
        let g = ED25519_BASEPOINT_POINT;
        let ok = Point::from_bytes(&g.compress().to_bytes()).unwrap();
        assert_eq!(ok.as_edwards(), &g);
        for t in EIGHT_TORSION {
            let bytes = t.compress().to_bytes();
            assert!(Point::from_bytes(&bytes).is_err());
            let mixed = (g + t).compress().to_bytes();
            let expected = if t.is_identity() {
                Ok(Point(g))
            } else {
                Err(PvssError::TorsionPoint)
            };
            assert_eq!(Point::from_bytes(&mixed), expected);
        }
        assert_eq!(
            Point::from_bytes(&EIGHT_TORSION[0].compress().to_bytes()),
            Err(PvssError::IdentityPoint)
        );
        // y = p + 1: a second encoding of y = 1.
        let mut y = [0xffu8; 32];
        y[0] = 0xee;
        y[31] = 0x7f;
        assert_eq!(Point::from_bytes(&y), Err(PvssError::NonCanonicalPoint));
    }

    #[test]
    fn serde_round_trip() {
        let p = Point::mul_base(&Scalar::from(7u64));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", hex::encode(p.to_bytes())));
        assert_eq!(serde_json::from_str::<Point>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Point>("\"00\"").is_err());
    }
}
