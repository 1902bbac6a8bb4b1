//! Blocks: a header committing to a shard's chain and state, and the transactions it orders.
//!
//! Only the header has an encoding so far. Its layout (integers little-endian), fixed length
//! [`HEADER_ENCODED_LEN`]:
//!
//! ```text
//! version u8 | shard u32 | height u64 | prev_hash [32] | tx_root [32] | tx_count u32
//! | pre_state_root [32] | state_root [32] | timestamp_ms u64 | proposer [32]
//! ```
//!
//! `tx_root` is the [`tx_tree`](super::tx_root) root over the block's transactions and `tx_count`
//! their number (a Merkle inclusion proof needs the tree size). `pre_state_root` and `state_root`
//! are [`StateTree`](crate::utxo::StateTree) roots of the shard state before and after the block:
//! carrying the state before lets a fraud proof be checked from the header alone.
//!
//! As for transactions, the decoder accepts exactly the canonical encoding of a header with a known
//! version, and `hash = SHA-512(HEADER_DOMAIN || encoding)[..32]`.

use sha2::{Digest, Sha512};

use super::encoding::{Reader, Sink};
use super::error::HeaderDecodeError;
use super::id::truncated_512;
use super::types::Transaction;

/// The only block header version this code reads or writes.
pub const HEADER_VERSION: u8 = 1;

/// Length of every header encoding: version, shard, height, three hashes, timestamp, proposer.
pub const HEADER_ENCODED_LEN: usize = 1 + 4 + 8 + 32 + 32 + 4 + 32 + 32 + 8 + 32;

/// Domain tag prefixed to the header hash preimage (not a prefix of any other iosv tag).
pub const HEADER_DOMAIN: &[u8] = crate::domain::HEADER;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockHeader {
    /// Header format version; only [`HEADER_VERSION`] decodes.
    pub version: u8,
    pub shard: u32,
    pub height: u64,
    /// Hash of the previous block's header in this shard.
    pub prev_hash: [u8; 32],
    /// Merkle root over the block's transactions ([`tx_root`](super::tx_root)).
    pub tx_root: [u8; 32],
    /// Number of transactions in the block.
    pub tx_count: u32,
    /// [`StateTree`](crate::utxo::StateTree) root of the shard state before the block.
    pub pre_state_root: [u8; 32],
    /// [`StateTree`](crate::utxo::StateTree) root of the shard state after the block.
    pub state_root: [u8; 32],
    pub timestamp_ms: u64,
    /// Ed25519 public key of the block's proposer.
    pub proposer: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<Transaction>,
}

impl BlockHeader {
    fn write(&self, sink: &mut impl Sink) {
        sink.put(&[self.version]);
        sink.put(&self.shard.to_le_bytes());
        sink.put(&self.height.to_le_bytes());
        sink.put(&self.prev_hash);
        sink.put(&self.tx_root);
        sink.put(&self.tx_count.to_le_bytes());
        sink.put(&self.pre_state_root);
        sink.put(&self.state_root);
        sink.put(&self.timestamp_ms.to_le_bytes());
        sink.put(&self.proposer);
    }

    /// The canonical encoding ([`HEADER_ENCODED_LEN`] bytes). A header whose version is not
    /// [`HEADER_VERSION`] still encodes, but its bytes do not decode.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_ENCODED_LEN);
        self.write(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(HEADER_ENCODED_LEN);
        self.write(out);
    }

    /// Decodes exactly one canonical header encoding, rejecting anything else.
    pub fn decode(bytes: &[u8]) -> Result<BlockHeader, HeaderDecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != HEADER_VERSION {
            return Err(HeaderDecodeError::UnknownVersion {
                found: version,
                expected: HEADER_VERSION,
            });
        }
        let header = BlockHeader {
            version,
            shard: r.u32_le("shard")?,
            height: r.u64_le("height")?,
            prev_hash: r.array("prev_hash")?,
            tx_root: r.array("tx_root")?,
            tx_count: r.u32_le("tx_count")?,
            pre_state_root: r.array("pre_state_root")?,
            state_root: r.array("state_root")?,
            timestamp_ms: r.u64_le("timestamp_ms")?,
            proposer: r.array("proposer")?,
        };
        r.finish()
            .map_err(|(consumed, extra)| HeaderDecodeError::TrailingBytes { consumed, extra })?;
        Ok(header)
    }

    /// The header's identifier: first 32 bytes of SHA-512 over [`HEADER_DOMAIN`] and the encoding.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha512::new();
        Digest::update(&mut hasher, HEADER_DOMAIN);
        self.write(&mut hasher);
        truncated_512(hasher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BlockHeader {
        BlockHeader {
            version: HEADER_VERSION,
            shard: 3,
            height: 1_000_000,
            prev_hash: [1; 32],
            tx_root: [2; 32],
            tx_count: 7,
            pre_state_root: [5; 32],
            state_root: [3; 32],
            timestamp_ms: 1_700_000_000_000,
            proposer: [4; 32],
        }
    }

    #[test]
    fn round_trips_with_fixed_length() {
        let h = sample();
        let bytes = h.encode();
        assert_eq!(bytes.len(), HEADER_ENCODED_LEN);
        assert_eq!(&bytes[1..5], &3u32.to_le_bytes());
        assert_eq!(BlockHeader::decode(&bytes), Ok(h));
        let mut out = vec![9];
        sample().encode_into(&mut out);
        assert_eq!(&out[1..], bytes.as_slice());
    }

    #[test]
    fn rejects_unknown_version() {
        let mut h = sample();
        h.version = 2;
        assert_eq!(
            BlockHeader::decode(&h.encode()),
            Err(HeaderDecodeError::UnknownVersion {
                found: 2,
                expected: HEADER_VERSION
            })
        );
    }

    #[test]
    fn rejects_every_strict_prefix() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(
                matches!(
                    BlockHeader::decode(&bytes[..len]),
                    Err(HeaderDecodeError::Truncated { .. })
                ),
                "prefix of length {len}"
            );
        }
        assert_eq!(
            BlockHeader::decode(&bytes[..20]),
            Err(HeaderDecodeError::Truncated {
                field: "prev_hash",
                offset: 13,
                needed: 32,
                remaining: 7
            })
        );
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = sample().encode();
        bytes.push(0);
        assert_eq!(
            BlockHeader::decode(&bytes),
            Err(HeaderDecodeError::TrailingBytes {
                consumed: HEADER_ENCODED_LEN,
                extra: 1
            })
        );
    }

    #[test]
    fn hash_is_domain_separated_and_covers_every_field() {
        let h = sample();
        let mut preimage = HEADER_DOMAIN.to_vec();
        preimage.extend(h.encode());
        assert_eq!(h.hash()[..], Sha512::digest(&preimage)[..32]);

        let edits: [fn(&mut BlockHeader); 10] = [
            |h| h.version ^= 1,
            |h| h.shard ^= 1,
            |h| h.height ^= 1,
            |h| h.prev_hash[31] ^= 1,
            |h| h.tx_root[0] ^= 1,
            |h| h.tx_count ^= 1,
            |h| h.pre_state_root[2] ^= 1,
            |h| h.state_root[5] ^= 1,
            |h| h.timestamp_ms ^= 1,
            |h| h.proposer[9] ^= 1,
        ];
        for edit in edits {
            let mut changed = sample();
            edit(&mut changed);
            assert_ne!(changed.hash(), h.hash());
        }
    }
}
