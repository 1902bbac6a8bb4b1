//! VRF keys: RFC 8032 §5.1.5 key expansion, and public keys checked by `ECVRF_validate_key`.

use std::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use curve25519_dalek::traits::IsIdentity;
use rand::CryptoRng;
use sha2::{Digest, Sha512};

use super::suite::{point_to_string, string_to_point};
use super::{PUBLIC_KEY_LEN, SECRET_KEY_LEN, VrfError};

/// A VRF secret key: the 32-byte seed and what RFC 8032 derives from it.
#[derive(Clone)]
pub struct SecretKey {
    seed: [u8; SECRET_KEY_LEN],
    /// The clamped first half of `SHA-512(seed)`, as an integer (not reduced mod L).
    scalar_bytes: [u8; 32],
    /// `scalar_bytes` reduced mod L: the same multiple of any point of order L.
    scalar: Scalar,
    /// The second half of `SHA-512(seed)`, keying the nonce.
    nonce_key: [u8; 32],
    public: PublicKey,
}

impl SecretKey {
    /// Expands a 32-byte seed (RFC 8032 §5.1.5): `h = SHA-512(seed)`, `x = clamp(h[0..32])`,
    /// nonce key `h[32..64]`, public key `Y = x·B`.
    pub fn from_seed(seed: &[u8; SECRET_KEY_LEN]) -> SecretKey {
        let hash = Sha512::digest(seed);
        let mut low = [0u8; 32];
        low.copy_from_slice(&hash[..32]);
        let mut nonce_key = [0u8; 32];
        nonce_key.copy_from_slice(&hash[32..]);
        let scalar_bytes = clamp_integer(low);
        let scalar = Scalar::from_bytes_mod_order(scalar_bytes);
        let point = EdwardsPoint::mul_base(&scalar);
        SecretKey {
            seed: *seed,
            scalar_bytes,
            scalar,
            nonce_key,
            public: PublicKey {
                bytes: point_to_string(&point),
                point,
            },
        }
    }

    /// A fresh key from a cryptographic random number generator.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> SecretKey {
        let mut seed = [0u8; SECRET_KEY_LEN];
        rng.fill_bytes(&mut seed);
        SecretKey::from_seed(&seed)
    }

    /// The seed this key was expanded from (`SK_string` in RFC 9381).
    pub fn seed(&self) -> &[u8; SECRET_KEY_LEN] {
        &self.seed
    }

    /// The secret scalar `x` as RFC 8032 defines it (clamped, not reduced), little-endian.
    pub fn secret_scalar_bytes(&self) -> &[u8; 32] {
        &self.scalar_bytes
    }

    pub(crate) fn scalar(&self) -> &Scalar {
        &self.scalar
    }

    pub(crate) fn nonce_key(&self) -> &[u8; 32] {
        &self.nonce_key
    }

    /// The matching public key `Y = x·B`.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A VRF public key that passed `ECVRF_validate_key` (or was derived from a secret key): it
/// decodes strictly and is not of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; PUBLIC_KEY_LEN],
    point: EdwardsPoint,
}

impl PublicKey {
    /// `ECVRF_validate_key` (RFC 9381 §5.4.5) on untrusted bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, VrfError> {
        let bytes: [u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| VrfError::PublicKeyLength(bytes.len()))?;
        let point = string_to_point(&bytes).ok_or(VrfError::PublicKeyNotAPoint)?;
        if point.mul_by_cofactor().is_identity() {
            return Err(VrfError::SmallOrderPublicKey);
        }
        Ok(PublicKey { bytes, point })
    }

    /// `PK_string`: the 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.bytes
    }

    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// The decoded point `Y`.
    pub fn point(&self) -> &EdwardsPoint {
        &self.point
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.bytes))
    }
}
