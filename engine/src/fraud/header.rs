//! Block headers signed by their proposer: what a believable validator vouches for.

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::sig::{SigRef, verify_single};
use crate::tx::BlockHeader;

/// A header and its proposer's Ed25519 signature over [`BlockHeader::hash`] (which is domain
/// separated, so the signature cannot be replayed as a signature over anything else), checked under
/// the same ZIP-215 rules as transaction signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHeader {
    #[serde(with = "header_hex")]
    pub header: BlockHeader,
    #[serde(with = "hex::serde")]
    pub signature: [u8; 64],
}

impl SignedHeader {
    /// Signs `header` with `key`, first setting its `proposer` to `key`'s public key.
    pub fn sign(mut header: BlockHeader, key: &SigningKey) -> SignedHeader {
        header.proposer = key.verifying_key().to_bytes();
        let signature = key.sign(&header.hash()).to_bytes();
        SignedHeader { header, signature }
    }

    /// Whether the signature verifies under the header's `proposer`.
    pub fn verify(&self) -> bool {
        verify_single(SigRef {
            pk: &self.header.proposer,
            msg: &self.header.hash(),
            sig: &self.signature,
        })
    }
}

/// Serde for a header as the hex of its canonical encoding (decoded strictly).
mod header_hex {
    use super::*;

    pub fn serialize<S: Serializer>(header: &BlockHeader, s: S) -> Result<S::Ok, S::Error> {
        hex::serde::serialize(header.encode(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BlockHeader, D::Error> {
        let bytes: Vec<u8> = hex::serde::deserialize(d)?;
        BlockHeader::decode(&bytes).map_err(D::Error::custom)
    }
}
