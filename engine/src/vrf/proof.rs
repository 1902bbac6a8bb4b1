//! `ECVRF_prove` (RFC 9381 §5.1), `ECVRF_verify` (§5.3) and `ECVRF_proof_to_hash` (§5.2).
//!
//! Proving uses constant-time scalar multiplications (the secret scalar and the nonce are secret);
//! verification handles public data only and uses variable-time multiscalar multiplication.

use std::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use sha2::{Digest, Sha512};

use super::keys::{PublicKey, SecretKey};
use super::suite::{
    PROOF_TO_HASH_FRONT, challenge_generation, encode_to_curve, nonce_string, point_to_string,
    string_to_point,
};
use super::{CHALLENGE_LEN, OUTPUT_LEN, PROOF_LEN, SUITE_STRING, VrfError};

/// A decoded proof `pi = Gamma ‖ c ‖ s`: `Gamma` decodes strictly, `s < L`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    gamma: EdwardsPoint,
    gamma_bytes: [u8; 32],
    c: [u8; CHALLENGE_LEN],
    s: Scalar,
}

impl Proof {
    /// `ECVRF_decode_proof` (§5.4.4) on untrusted bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Proof, VrfError> {
        let bytes: &[u8; PROOF_LEN] = bytes
            .try_into()
            .map_err(|_| VrfError::ProofLength(bytes.len()))?;
        let mut gamma_bytes = [0u8; 32];
        gamma_bytes.copy_from_slice(&bytes[..32]);
        let mut c = [0u8; CHALLENGE_LEN];
        c.copy_from_slice(&bytes[32..32 + CHALLENGE_LEN]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&bytes[32 + CHALLENGE_LEN..]);
        let gamma = string_to_point(&gamma_bytes).ok_or(VrfError::GammaNotAPoint)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(VrfError::NonCanonicalS)?;
        Ok(Proof {
            gamma,
            gamma_bytes,
            c,
            s,
        })
    }

    /// The 80-byte encoding `Gamma ‖ c ‖ s`.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..32].copy_from_slice(&self.gamma_bytes);
        out[32..32 + CHALLENGE_LEN].copy_from_slice(&self.c);
        out[32 + CHALLENGE_LEN..].copy_from_slice(self.s.as_bytes());
        out
    }

    /// `Gamma = x·H`.
    pub fn gamma(&self) -> &EdwardsPoint {
        &self.gamma
    }

    /// The 16-byte challenge `c`, little-endian.
    pub fn challenge(&self) -> &[u8; CHALLENGE_LEN] {
        &self.c
    }

    /// The response `s = k + c·x mod L`.
    pub fn response(&self) -> &Scalar {
        &self.s
    }

    fn c_scalar(&self) -> Scalar {
        challenge_scalar(&self.c)
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proof({})", hex::encode(self.to_bytes()))
    }
}

/// `c` as a scalar: 128 bits, below L, so no reduction happens.
fn challenge_scalar(c: &[u8; CHALLENGE_LEN]) -> Scalar {
    let mut wide = [0u8; 32];
    wide[..CHALLENGE_LEN].copy_from_slice(c);
    Scalar::from_bytes_mod_order(wide)
}

/// `ECVRF_prove(SK, alpha)`.
///
/// # Panics
///
/// Only if encode_to_curve fails 256 times in a row, which happens with probability about 2⁻²⁵⁶
/// (as likely as guessing the secret key); [`verify`] returns an error in that case instead.
pub fn prove(sk: &SecretKey, alpha: &[u8]) -> Proof {
    let pk = sk.public();
    let (h, _) = encode_to_curve(pk.as_bytes(), alpha)
        .expect("encode_to_curve fails with probability 2^-256");
    let h_string = point_to_string(&h);
    let x = sk.scalar();
    let gamma = h * x;
    let k = Scalar::from_bytes_mod_order_wide(&nonce_string(sk, &h_string));
    let u = EdwardsPoint::mul_base(&k);
    let v = h * k;
    let [gamma_bytes, u_bytes, v_bytes] =
        EdwardsPoint::compress_batch(&[gamma, u, v]).map(|compressed| compressed.to_bytes());
    let c = challenge_generation([pk.as_bytes(), &h_string, &gamma_bytes, &u_bytes, &v_bytes]);
    let s = k + challenge_scalar(&c) * x;
    Proof {
        gamma,
        gamma_bytes,
        c,
        s,
    }
}

/// `ECVRF_verify(PK_string, alpha_string, pi_string)` with `validate_key = TRUE`: the VRF output
/// `beta` if the proof is valid.
pub fn verify(pk: &[u8], alpha: &[u8], proof: &[u8]) -> Result<[u8; OUTPUT_LEN], VrfError> {
    let pk = PublicKey::from_bytes(pk)?;
    let proof = Proof::from_bytes(proof)?;
    verify_with_key(&pk, alpha, &proof)
}

/// [`verify`] for an already validated key and an already decoded proof.
pub fn verify_with_key(
    pk: &PublicKey,
    alpha: &[u8],
    proof: &Proof,
) -> Result<[u8; OUTPUT_LEN], VrfError> {
    let (h, _) = encode_to_curve(pk.as_bytes(), alpha)?;
    let c = proof.c_scalar();
    // U = s·B − c·Y, V = s·H − c·Gamma.
    let u = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-c, pk.point(), &proof.s);
    let v = EdwardsPoint::vartime_multiscalar_mul([proof.s, -c], [h, proof.gamma]);
    let [h_bytes, u_bytes, v_bytes] =
        EdwardsPoint::compress_batch(&[h, u, v]).map(|compressed| compressed.to_bytes());
    let expected = challenge_generation([
        pk.as_bytes(),
        &h_bytes,
        &proof.gamma_bytes,
        &u_bytes,
        &v_bytes,
    ]);
    if expected == proof.c {
        Ok(proof_to_hash(proof))
    } else {
        Err(VrfError::InvalidProof)
    }
}

/// `ECVRF_proof_to_hash(pi)`: `beta = SHA-512(0x03 ‖ 0x03 ‖ point_to_string(8·Gamma) ‖ 0x00)`.
///
/// Does not verify the proof: use the output of [`verify`] unless the proof is known to be valid.
pub fn proof_to_hash(proof: &Proof) -> [u8; OUTPUT_LEN] {
    let gamma8 = point_to_string(&proof.gamma.mul_by_cofactor());
    Sha512::new()
        .chain_update([SUITE_STRING, PROOF_TO_HASH_FRONT])
        .chain_update(gamma8)
        .chain_update([0x00])
        .finalize()
        .into()
}

impl SecretKey {
    /// [`prove`] as a method.
    pub fn prove(&self, alpha: &[u8]) -> Proof {
        prove(self, alpha)
    }
}
