//! A normal validator's sampling seed for a block: a VRF output over the block's header hash.

use std::fmt;

use crate::vrf::{self, PROOF_LEN, PublicKey, SecretKey, VrfError};

/// Domain tag of the VRF input (`alpha`): `alpha = SEED_DOMAIN ‖ header_hash` (32 bytes).
/// Not a prefix of any other iosv tag, so a sampling VRF proof cannot be replayed as another
/// protocol's VRF proof over the same key.
pub const SEED_DOMAIN: &[u8] = crate::domain::SAMPLING_SEED;

/// Length of a sampling seed: the VRF output `beta`.
pub const SEED_LEN: usize = vrf::OUTPUT_LEN;

/// A validator's sampling seed for one block: `beta = ECVRF(vrf_sk, SEED_DOMAIN ‖ header_hash)`.
///
/// Deterministic for a given key and header (the VRF output is unique), unpredictable without the
/// VRF secret key, checkable by anyone with the public key and the proof.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamplingSeed(pub [u8; SEED_LEN]);

impl SamplingSeed {
    /// The VRF input for `header_hash`: `SEED_DOMAIN ‖ header_hash`.
    pub fn alpha(header_hash: &[u8; 32]) -> Vec<u8> {
        let mut alpha = Vec::with_capacity(SEED_DOMAIN.len() + 32);
        alpha.extend_from_slice(SEED_DOMAIN);
        alpha.extend_from_slice(header_hash);
        alpha
    }

    /// The validator's seed for the block with header hash `header_hash`, and the VRF proof
    /// (80 bytes) that lets others check it with [`SamplingSeed::verify`].
    pub fn derive(vrf_sk: &SecretKey, header_hash: &[u8; 32]) -> (SamplingSeed, [u8; PROOF_LEN]) {
        let proof = vrf::prove(vrf_sk, &Self::alpha(header_hash));
        (SamplingSeed(vrf::proof_to_hash(&proof)), proof.to_bytes())
    }

    /// Checks `proof` (untrusted bytes) against the validator's VRF public key `vrf_pk` (untrusted
    /// bytes) and `header_hash`, and returns the seed it proves. Fails for a proof made for another
    /// header or by another key, a malformed proof or an invalid key. Never panics.
    pub fn verify(
        vrf_pk: &[u8],
        header_hash: &[u8; 32],
        proof: &[u8],
    ) -> Result<SamplingSeed, VrfError> {
        vrf::verify(vrf_pk, &Self::alpha(header_hash), proof).map(SamplingSeed)
    }

    /// [`SamplingSeed::verify`] for an already validated public key.
    pub fn verify_with_key(
        vrf_pk: &PublicKey,
        header_hash: &[u8; 32],
        proof: &[u8],
    ) -> Result<SamplingSeed, VrfError> {
        let proof = vrf::Proof::from_bytes(proof)?;
        vrf::verify_with_key(vrf_pk, &Self::alpha(header_hash), &proof).map(SamplingSeed)
    }

    pub fn as_bytes(&self) -> &[u8; SEED_LEN] {
        &self.0
    }
}

impl fmt::Debug for SamplingSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SamplingSeed({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_then_verify_roundtrip_and_rejections() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let other = SecretKey::from_seed(&[8; 32]);
        let (seed, proof) = SamplingSeed::derive(&sk, &[1; 32]);
        let pk = sk.public().to_bytes();
        assert_eq!(SamplingSeed::verify(&pk, &[1; 32], &proof), Ok(seed));
        assert_eq!(
            SamplingSeed::verify_with_key(sk.public(), &[1; 32], &proof),
            Ok(seed)
        );
        assert!(SamplingSeed::verify(&pk, &[2; 32], &proof).is_err());
        assert!(SamplingSeed::verify(&other.public().to_bytes(), &[1; 32], &proof).is_err());
        assert!(SamplingSeed::verify(&pk, &[1; 32], &proof[..79]).is_err());
        // Deterministic per (key, header); different across headers.
        assert_eq!(SamplingSeed::derive(&sk, &[1; 32]).0, seed);
        assert_ne!(SamplingSeed::derive(&sk, &[2; 32]).0, seed);
    }
}
