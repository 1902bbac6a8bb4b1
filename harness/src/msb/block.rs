//! The Micro State Block: what a shard's roster co-signs at the end of an epoch.
//!
//! Fields: shard, epoch, the height and header hash of the last block of the epoch, the state
//! commitment after it ([`state_commitment`](super::chain::state_commitment), the Merkle state
//! root), the RFC 6962 Merkle root over the hashes of the epoch's headers (those after the
//! previous MSB, in height order) with their count, and the previous MSB's hash (zeros for the
//! first), so MSBs form a hash chain a node can follow from any MSB it trusts.
//!
//! The roster co-signs [`MSB_COSI_DOMAIN`] ‖ `hash`, Schnorr CoSi under ByzCoin's policy. What a
//! bootstrapping node must know independently: the latest finished epoch and that epoch's shard
//! roster (from the identity chain / epoch randomness); see [`bootstrap`](mod@super::bootstrap).

use iosv_engine::cosi::schnorr::{self, CosiError, MemberKey, Roster, Topology, run_round};
use iosv_engine::cosi::{Mask, Policy};
use iosv_engine::merkle::{self, Hash};
use iosv_engine::tx::BlockHeader;
use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::drp::encoding::{Tagged, hex_vec, hex32};

/// Format version of [`MicroStateBlock`].
pub const MSB_VERSION: u8 = 1;
/// Domain prefix of the message the roster co-signs.
pub const MSB_COSI_DOMAIN: &[u8] = crate::domain::MSB_COSI;
/// The co-signing policy: ByzCoin's `2f + 1` of the shard roster.
pub const MSB_POLICY: Policy = Policy::ByzCoin;

/// A shard's state summary at the end of an epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicroStateBlock {
    pub version: u8,
    pub shard: u32,
    pub epoch: u64,
    /// Height of the last block the MSB covers.
    pub height: u64,
    /// Hash of that block's header.
    #[serde(with = "hex32")]
    pub tip_hash: Hash,
    /// Merkle state root after that block.
    #[serde(with = "hex32")]
    pub state_root: Hash,
    /// RFC 6962 root over the header hashes since the previous MSB.
    #[serde(with = "hex32")]
    pub headers_root: Hash,
    pub header_count: u64,
    /// Hash of the previous MSB (zeros for the shard's first).
    #[serde(with = "hex32")]
    pub prev_msb: Hash,
}

impl MicroStateBlock {
    pub fn hash(&self) -> Hash {
        Tagged::new(crate::domain::MSB_BLOCK)
            .u32(u32::from(self.version))
            .u32(self.shard)
            .u64(self.epoch)
            .u64(self.height)
            .bytes(&self.tip_hash)
            .bytes(&self.state_root)
            .bytes(&self.headers_root)
            .u64(self.header_count)
            .bytes(&self.prev_msb)
            .finish()
    }

    /// The message the roster co-signs.
    pub fn cosi_message(&self) -> Vec<u8> {
        [MSB_COSI_DOMAIN, &self.hash()].concat()
    }
}

/// The Merkle root over `headers`' hashes, in order.
pub fn headers_root(headers: &[BlockHeader]) -> Hash {
    let leaves: Vec<Hash> = headers
        .iter()
        .map(|h| merkle::leaf_hash(&h.hash()))
        .collect();
    merkle::root(&leaves)
}

/// An MSB with the roster's collective signature (`V ‖ r ‖ mask`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedMsb {
    pub msb: MicroStateBlock,
    #[serde(with = "hex_vec")]
    pub signature: Vec<u8>,
}

impl SignedMsb {
    /// Runs a real CoSi round among `signers` of `roster` (`keys[i]` is member `i`'s key).
    pub fn sign<R: CryptoRng + ?Sized>(
        msb: MicroStateBlock,
        roster: &Roster,
        keys: &[MemberKey],
        signers: &Mask,
        rng: &mut R,
    ) -> Result<SignedMsb, CosiError> {
        let signature = run_round(
            roster,
            keys,
            signers,
            &msb.cosi_message(),
            Topology::Star,
            rng,
        )?;
        Ok(SignedMsb {
            msb,
            signature: signature.to_bytes(),
        })
    }

    /// Checks the collective signature against `roster` under [`MSB_POLICY`].
    pub fn verify(&self, roster: &Roster) -> Result<(), CosiError> {
        schnorr::verify(
            roster,
            MSB_POLICY,
            &self.msb.cosi_message(),
            &self.signature,
        )
    }
}
