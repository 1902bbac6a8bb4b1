//! Who takes part in the DRP: each server's CoSi key (with its proof of possession) and PVSS key.
//!
//! A server publishes a [`MemberInfo`]: its Ed25519 / CoSi public key, the CoSi proof of possession
//! (so nobody can pick a rogue key against the collective signature), its PVSS public key, and an
//! Ed25519 signature by the CoSi key over [`PVSS_BINDING_DOMAIN`] ‖ PVSS key, which ties the PVSS key
//! to the server (nobody can claim another server's PVSS key as its own).
//!
//! Invariants of a built [`DrpRoster`]: every proof of possession and binding verifies, CoSi keys
//! and PVSS keys are pairwise distinct, and there are between 1 and [`MAX_SERVERS`] servers.

use ed25519_dalek::{Signer, SigningKey};
use iosv_engine::cosi::schnorr::{CosiError, MemberKey, Registration, Roster};
use iosv_engine::pvss::{KeyPair, Point};
use iosv_engine::sig::{SigRef, verify_single};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::encoding::{Hash32, Tagged, hex32, hex64};

/// Domain prefix of the message a server signs to bind its PVSS key.
pub const PVSS_BINDING_DOMAIN: &[u8] = crate::domain::DRP_PVSS_KEY;
/// Domain of the PVSS secret derived from a server's seed.
const PVSS_SEED_DOMAIN: &[u8] = crate::domain::DRP_PVSS_SECRET;
/// The largest roster: CoSi masks and PVSS indices are `u32`, and a DRP round with more servers
/// than this is far beyond what one leader can drive.
pub const MAX_SERVERS: usize = 1 << 16;

/// What a server publishes to take part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInfo {
    #[serde(with = "hex32")]
    pub cosi_key: [u8; 32],
    #[serde(with = "hex64")]
    pub cosi_pop: [u8; 64],
    pub pvss_key: Point,
    /// Ed25519 signature by `cosi_key` over [`PVSS_BINDING_DOMAIN`] ‖ `pvss_key`.
    #[serde(with = "hex64")]
    pub pvss_binding: [u8; 64],
}

/// A server's secrets: one Ed25519 seed (CoSi and plain signatures) and a PVSS key pair.
#[derive(Clone)]
pub struct ServerKeys {
    cosi: MemberKey,
    signing: SigningKey,
    pvss: KeyPair,
}

/// The keys of server `i` of a deterministic test roster (tests, `iosv drp`, the fuzz corpus).
pub fn server_keys(seed: u64, i: u32) -> ServerKeys {
    let derived = Tagged::new(crate::domain::DRP_TEST_SERVER_SEED)
        .u64(seed)
        .u32(i)
        .finish();
    ServerKeys::from_seed(&derived)
}

impl ServerKeys {
    /// Keys derived from a 32-byte seed (the PVSS secret is hashed from it under its own domain).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut wide: [u8; 64] = Sha512::new()
            .chain_update(PVSS_SEED_DOMAIN)
            .chain_update(seed)
            .finalize()
            .into();
        let pvss = loop {
            let s = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide);
            match KeyPair::from_secret(s) {
                Ok(k) => break k,
                Err(_) => wide = Sha512::digest(wide).into(),
            }
        };
        Self {
            cosi: MemberKey::from_seed(seed),
            signing: SigningKey::from_bytes(seed),
            pvss,
        }
    }

    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(&seed)
    }

    /// What this server publishes.
    pub fn member_info(&self) -> MemberInfo {
        let registration = self.cosi.registration();
        let pvss_key = *self.pvss.public();
        MemberInfo {
            cosi_key: registration.public_key,
            cosi_pop: registration.proof_of_possession,
            pvss_key,
            pvss_binding: self.sign(&binding_message(&pvss_key)),
        }
    }

    pub fn cosi(&self) -> &MemberKey {
        &self.cosi
    }

    pub fn pvss(&self) -> &KeyPair {
        &self.pvss
    }

    /// An Ed25519 signature (RFC 8032) by the server's key.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("cosi", &self.cosi)
            .finish_non_exhaustive()
    }
}

fn binding_message(pvss_key: &Point) -> Vec<u8> {
    [PVSS_BINDING_DOMAIN, &pvss_key.to_bytes()].concat()
}

/// Why a roster was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    #[error("a roster needs 1 to {MAX_SERVERS} servers, got {0}")]
    Size(usize),
    #[error("CoSi registration refused: {0}")]
    Cosi(#[from] CosiError),
    #[error("server {index}: PVSS key binding signature does not verify")]
    BadPvssBinding { index: usize },
    #[error("server {index}: PVSS key already used by server {existing}")]
    DuplicatePvssKey { index: usize, existing: usize },
}

/// A checked roster: the members, the CoSi roster built from them, and their PVSS keys.
#[derive(Clone, Debug)]
pub struct DrpRoster {
    members: Vec<MemberInfo>,
    cosi: Roster,
    pvss_keys: Vec<Point>,
    digest: Hash32,
}

impl DrpRoster {
    /// Checks every registration (see the module invariants), in order; refuses the first bad one.
    pub fn new(members: Vec<MemberInfo>) -> Result<Self, RosterError> {
        if members.is_empty() || members.len() > MAX_SERVERS {
            return Err(RosterError::Size(members.len()));
        }
        let registrations: Vec<Registration> = members
            .iter()
            .map(|m| Registration {
                public_key: m.cosi_key,
                proof_of_possession: m.cosi_pop,
            })
            .collect();
        let cosi = Roster::from_registrations(&registrations)?;
        let mut pvss_keys: Vec<Point> = Vec::with_capacity(members.len());
        let mut digest = Tagged::new(crate::domain::DRP_ROSTER).u64(members.len() as u64);
        for (index, m) in members.iter().enumerate() {
            let msg = binding_message(&m.pvss_key);
            let binding = SigRef {
                pk: &m.cosi_key,
                msg: &msg,
                sig: &m.pvss_binding,
            };
            if !verify_single(binding) {
                return Err(RosterError::BadPvssBinding { index });
            }
            if let Some(existing) = pvss_keys.iter().position(|k| *k == m.pvss_key) {
                return Err(RosterError::DuplicatePvssKey { index, existing });
            }
            pvss_keys.push(m.pvss_key);
            digest = digest
                .bytes(&m.cosi_key)
                .bytes(&m.cosi_pop)
                .bytes(&m.pvss_key.to_bytes())
                .bytes(&m.pvss_binding);
        }
        Ok(Self {
            members,
            cosi,
            pvss_keys,
            digest: digest.finish(),
        })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    pub fn cosi(&self) -> &Roster {
        &self.cosi
    }

    pub fn pvss_key(&self, server: u32) -> Option<&Point> {
        self.pvss_keys.get(server as usize)
    }

    /// Server `server`'s Ed25519 public key.
    pub fn signing_key(&self, server: u32) -> Option<&[u8; 32]> {
        self.members.get(server as usize).map(|m| &m.cosi_key)
    }

    /// A hash of every member's published fields, in order.
    pub fn digest(&self) -> &Hash32 {
        &self.digest
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn registrations_are_checked() {
        let mut rng = StdRng::seed_from_u64(3);
        let keys: Vec<ServerKeys> = (0..3).map(|_| ServerKeys::generate(&mut rng)).collect();
        let infos: Vec<MemberInfo> = keys.iter().map(ServerKeys::member_info).collect();
        let roster = DrpRoster::new(infos.clone()).unwrap();
        assert_eq!(roster.len(), 3);
        assert_eq!(roster.pvss_key(1), Some(keys[1].pvss().public()));

        let mut stolen = infos.clone();
        stolen[2].pvss_key = infos[0].pvss_key;
        assert_eq!(
            DrpRoster::new(stolen).unwrap_err(),
            RosterError::BadPvssBinding { index: 2 }
        );
        let mut bad_pop = infos.clone();
        bad_pop[1].cosi_pop = infos[0].cosi_pop;
        assert!(matches!(
            DrpRoster::new(bad_pop).unwrap_err(),
            RosterError::Cosi(CosiError::BadProofOfPossession { index: 1 })
        ));
        assert_eq!(DrpRoster::new(vec![]).unwrap_err(), RosterError::Size(0));
    }

    #[test]
    fn seeds_are_deterministic() {
        let a = ServerKeys::from_seed(&[4; 32]).member_info();
        assert_eq!(a, ServerKeys::from_seed(&[4; 32]).member_info());
        assert_ne!(a, ServerKeys::from_seed(&[5; 32]).member_info());
    }
}
