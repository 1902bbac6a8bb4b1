//! A validator's keys: its Ed25519 signing key (blocks, headers), its id, and the VRF key its
//! sampling seeds and league tickets come from (derived from the same seed under its own tag).

use ed25519_dalek::SigningKey;
use iosv_engine::vrf;
use sha2::{Digest, Sha256};

use crate::pob::ValidatorId;

/// A validator's keys.
pub struct Member {
    pub seed: [u8; 32],
    pub key: SigningKey,
    pub id: ValidatorId,
    pub vrf: vrf::SecretKey,
}

impl Member {
    pub fn new(seed: [u8; 32]) -> Member {
        let key = SigningKey::from_bytes(&seed);
        let mut vrf_seed = Sha256::new();
        vrf_seed.update(crate::domain::DEMO_VRF_KEY);
        vrf_seed.update(seed);
        Member {
            seed,
            id: key.verifying_key().to_bytes(),
            key,
            vrf: vrf::SecretKey::from_seed(&vrf_seed.finalize().into()),
        }
    }
}
