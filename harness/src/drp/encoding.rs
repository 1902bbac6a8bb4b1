//! Hashing with domain tags, canonical byte encodings, and hex serde helpers for the DRP.
//!
//! Every hash the protocol signs or compares starts with its own domain tag (`iosv/drp/v1/…`), so a
//! value hashed for one purpose can never be replayed as another; variable-length fields are
//! preceded by their length, so two different field lists never hash alike.

use iosv_engine::pvss::DealTranscript;
use serde::{Deserialize, Deserializer, Serializer};
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

fn decode_array<const N: usize, E: serde::de::Error>(s: &str) -> Result<[u8; N], E> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| E::custom(format!("expected {} hex characters", 2 * N)))?;
    Ok(out)
}

/// serde `with` module: `[u8; 32]` as 64 hex characters.
pub mod hex32 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        decode_array(&String::deserialize(d)?)
    }
}

/// serde `with` module: `[u8; 64]` as 128 hex characters.
pub mod hex64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        decode_array(&String::deserialize(d)?)
    }
}

/// serde `with` module: `Vec<u8>` as hex.
pub mod hex_vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// serde `with` module: `Vec<[u8; 32]>` as a list of hex strings.
pub mod hex32_list {
    use serde::ser::SerializeSeq;

    use super::*;

    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for item in v {
            seq.serialize_element(&hex::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| decode_array(s))
            .collect()
    }
}

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
