//! The validator roster (public keys every node knows) and each validator's own secret keys.
//!
//! Keys are derived from the run seed and the validator's index with domain-separated SHA-256, so a
//! simulation is reproducible from its seed; nothing else about them is special (real RFC 9381 VRF
//! keys, real Ed25519 keys).

use ed25519_dalek::SigningKey;
use iosv_engine::vrf;
use sha2::{Digest, Sha256};

use crate::node::NodeId;

/// Domain of the derivation of a validator's VRF seed.
const VRF_KEY_DOMAIN: &[u8] = crate::domain::SIM_VRF_KEY;
/// Domain of the derivation of a validator's Ed25519 signing key.
const SIG_KEY_DOMAIN: &[u8] = crate::domain::SIM_SIG_KEY;

/// One validator's public keys.
#[derive(Clone, Debug)]
pub struct Member {
    pub vrf: vrf::PublicKey,
    /// Ed25519 verifying key, 32 bytes.
    pub sig: [u8; 32],
}

/// The validators of the system, indexed by [`NodeId`].
#[derive(Clone, Debug)]
pub struct Roster {
    members: Vec<Member>,
}

impl Roster {
    pub fn new(members: Vec<Member>) -> Self {
        Self { members }
    }

    pub fn len(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn get(&self, id: NodeId) -> Option<&Member> {
        self.members.get(id as usize)
    }
}

/// A validator's secret keys.
#[derive(Clone)]
pub struct ValidatorKeys {
    pub vrf: vrf::SecretKey,
    pub sig: SigningKey,
}

impl ValidatorKeys {
    /// The keys of validator `id` in a run seeded with `seed`.
    pub fn derive(seed: u64, id: NodeId) -> Self {
        let derive = |domain: &[u8]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(domain);
            h.update(seed.to_le_bytes());
            h.update(id.to_le_bytes());
            h.finalize().into()
        };
        Self {
            vrf: vrf::SecretKey::from_seed(&derive(VRF_KEY_DOMAIN)),
            sig: SigningKey::from_bytes(&derive(SIG_KEY_DOMAIN)),
        }
    }

    pub fn member(&self) -> Member {
        Member {
            vrf: *self.vrf.public(),
            sig: self.sig.verifying_key().to_bytes(),
        }
    }
}

/// Keys for `n` validators and the roster of their public keys.
pub fn generate(seed: u64, n: u32) -> (Vec<ValidatorKeys>, Roster) {
    let keys: Vec<ValidatorKeys> = (0..n).map(|i| ValidatorKeys::derive(seed, i)).collect();
    let roster = Roster::new(keys.iter().map(ValidatorKeys::member).collect());
    (keys, roster)
}
