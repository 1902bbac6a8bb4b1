//! Hashing with domain tags, canonical byte encodings, and the hex serde helpers the DRP uses
//! (re-exported from `iosv_engine::hex_serde`).
//!
//! Every hash the protocol signs or compares starts with its own domain tag (`iosv/drp/v1/…`), so a
//! value hashed for one purpose can never be replayed as another; variable-length fields are
//! preceded by their length, so two different field lists never hash alike.

use iosv_engine::pvss::DealTranscript;

use sha2::{Digest, Sha256};

/// A 32-byte digest (SHA-256).
pub type Hash32 = [u8; 32];

/// A SHA-256 hasher that starts with a domain tag.
pub(crate) struct Tagged(Sha256);

impl Tagged {
    pub(crate) fn new(domain: &str) -> Self {
        let mut h = Sha256::new();
        h.update((domain.len() as u64).to_le_bytes());
        h.update(domain.as_bytes());
        Self(h)
    }

    pub(crate) fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub(crate) fn u32(mut self, v: u32) -> Self {
        self.0.update(v.to_le_bytes());
        self
    }

    pub(crate) fn u64(mut self, v: u64) -> Self {
        self.0.update(v.to_le_bytes());
        self
    }

    pub(crate) fn finish(self) -> Hash32 {
        self.0.finalize().into()
    }
}

/// The canonical encoding of a dealing: `t ‖ n ‖ commitments ‖ encrypted shares ‖ proofs`.
pub(crate) fn deal_bytes(deal: &DealTranscript) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        8 + 32 * (deal.commitments.len() + deal.encrypted_shares.len()) + 96 * deal.proofs.len(),
    );
    out.extend_from_slice(&deal.threshold.to_le_bytes());
    out.extend_from_slice(&(deal.encrypted_shares.len() as u32).to_le_bytes());
    for c in &deal.commitments {
        out.extend_from_slice(&c.to_bytes());
    }
    for y in &deal.encrypted_shares {
        out.extend_from_slice(&y.to_bytes());
    }
    for p in &deal.proofs {
        out.extend_from_slice(&p.to_bytes());
    }
    out
}

/// The hex serde modules of the DRP's messages, under their DRP names.
pub use iosv_engine::hex_serde::{
    bytes as hex_vec, bytes32 as hex32, bytes32_list as hex32_list, bytes64 as hex64,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_lengths_separate_inputs() {
        let a = Tagged::new("a").bytes(b"xy").finish();
        let b = Tagged::new("a").bytes(b"x").bytes(b"y").finish();
        let c = Tagged::new("b").bytes(b"xy").finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, Tagged::new("a").bytes(b"xy").finish());
    }
}
