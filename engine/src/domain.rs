//! Every domain-separation tag of iosv's engine, in one place, with how it is framed.
//!
//! A tag starts the input of every hash (or signed message) made for one purpose, so that a value
//! made for one purpose can never be taken for another. Two framings are in use, and which one a
//! tag gets is part of the protocol (changing it changes every hash made with it):
//! - [`Framing::Raw`]: the tag's bytes, then the fields. Safe only if no raw tag is a prefix of
//!   another raw tag: otherwise `tag1 ‖ x` could equal `tag2 ‖ y`.
//! - [`Framing::LengthPrefixed`]: the tag's length (`u64`, little-endian), the tag, then each
//!   variable field with its length (the harness's DRP/MSB hasher). Such inputs start with the
//!   length's low byte, never with a raw tag's first byte `i` while tags are shorter than 105.
//!
//! [`check_tags`] states those conditions as a test over the engine's tags and the harness's
//! (which lists its own in `iosv_harness::domain` and checks the union). The public constants the
//! modules export (`tx::TXID_DOMAIN`, `utxo::LEAF_DOMAIN`, …) are these values under their older
//! names. Ciphersuite strings fixed by standards (the BLS `SIG_DST`/`POP_DST`, RFC 9381's VRF suite)
//! are not iosv tags and stay with their code.

use std::fmt;

/// How a tag starts a hash input (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Raw,
    LengthPrefixed,
}

/// A tag with its name and framing, for [`check_tags`].
#[derive(Clone, Copy, Debug)]
pub struct Tag {
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub framing: Framing,
}

const fn raw(name: &'static str, bytes: &'static [u8]) -> Tag {
    Tag {
        name,
        bytes,
        framing: Framing::Raw,
    }
}

/// Transaction identifiers (the message every input signs).
pub const TXID: &[u8] = b"iosv/txid/v1";
/// Witness txids: a transaction with its signatures, for the block's transaction tree.
pub const WTXID: &[u8] = b"iosv/wtxid/v1";
/// Block headers.
pub const HEADER: &[u8] = b"iosv/header/v1";
/// Leaves of the UTXO set's additive consistency digest.
pub const UTXO_LEAF: &[u8] = b"iosv/utxo/leaf/v1";
/// The UTXO set's additive consistency digest itself.
pub const UTXO_ROOT: &[u8] = b"iosv/utxo/root/v1";
/// Buckets (leaves) of the Merkle state tree.
pub const STATE_BUCKET: &[u8] = b"iosv/state/bucket/v1";
/// The state tree's node hashing IV.
pub const STATE_NODE_IV: &[u8] = b"iosv/utxo/state-tree/node/v1";
/// Schnorr CoSi proofs of possession.
pub const COSI_POP: &[u8] = b"iosv/cosi/pop/v1";
/// Schnorr CoSi deterministic nonces.
pub const COSI_NONCE: &[u8] = b"iosv/cosi/nonce/v1";
/// PVSS DLEQ challenges.
pub const PVSS_DLEQ_CHALLENGE: &[u8] = b"iosv/pvss/v1/dleq/challenge";
/// PVSS DLEQ nonces.
pub const PVSS_DLEQ_NONCE: &[u8] = b"iosv/pvss/v1/dleq/nonce";
/// The PVSS second generator `H` (hashed to the group).
pub const PVSS_GENERATOR_H: &[u8] = b"iosv/pvss/v1/generator-H";
/// Sampling: which transactions a validator re-validates.
pub const SAMPLING_SELECT: &[u8] = b"iosv/sampling-select/v1";
/// Sampling: the VRF input of a validator's seed.
pub const SAMPLING_SEED: &[u8] = b"iosv/sampling-seed/v1";

/// Every tag above.
pub const ENGINE_TAGS: &[Tag] = &[
    raw("TXID", TXID),
    raw("WTXID", WTXID),
    raw("HEADER", HEADER),
    raw("UTXO_LEAF", UTXO_LEAF),
    raw("UTXO_ROOT", UTXO_ROOT),
    raw("STATE_BUCKET", STATE_BUCKET),
    raw("STATE_NODE_IV", STATE_NODE_IV),
    raw("COSI_POP", COSI_POP),
    raw("COSI_NONCE", COSI_NONCE),
    raw("PVSS_DLEQ_CHALLENGE", PVSS_DLEQ_CHALLENGE),
    raw("PVSS_DLEQ_NONCE", PVSS_DLEQ_NONCE),
    raw("PVSS_GENERATOR_H", PVSS_GENERATOR_H),
    raw("SAMPLING_SELECT", SAMPLING_SELECT),
    raw("SAMPLING_SEED", SAMPLING_SEED),
];

/// Why a set of tags is unsafe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagConflict {
    Duplicate(&'static str, &'static str),
    RawPrefix {
        prefix: &'static str,
        of: &'static str,
    },
    NotIosv(&'static str),
    FrameCollides(&'static str),
}

impl fmt::Display for TagConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagConflict::Duplicate(a, b) => write!(f, "tags {a} and {b} are equal"),
            TagConflict::RawPrefix { prefix, of } => {
                write!(f, "raw tag {prefix} is a prefix of raw tag {of}")
            }
            TagConflict::NotIosv(a) => write!(f, "raw tag {a} does not start with iosv/"),
            TagConflict::FrameCollides(a) => write!(
                f,
                "length-prefixed tag {a} is 105 bytes long: its frame starts like a raw tag"
            ),
        }
    }
}

/// Checks that hash inputs started by two different tags of `tags` can never be equal: tags are
/// distinct; raw tags start with `iosv/` and none is a prefix of another; a length-prefixed tag's
/// first input byte (its length's low byte) is never `i`, the first byte of every raw tag.
pub fn check_tags(tags: &[Tag]) -> Result<(), TagConflict> {
    for (i, a) in tags.iter().enumerate() {
        match a.framing {
            Framing::Raw if !a.bytes.starts_with(b"iosv/") => {
                return Err(TagConflict::NotIosv(a.name));
            }
            Framing::LengthPrefixed if a.bytes.len() % 256 == usize::from(b'i') => {
                return Err(TagConflict::FrameCollides(a.name));
            }
            _ => {}
        }
        for b in &tags[i + 1..] {
            if a.bytes == b.bytes {
                return Err(TagConflict::Duplicate(a.name, b.name));
            }
            if a.framing == Framing::Raw && b.framing == Framing::Raw {
                let (short, long) = if a.bytes.len() <= b.bytes.len() {
                    (a, b)
                } else {
                    (b, a)
                };
                if long.bytes.starts_with(short.bytes) {
                    return Err(TagConflict::RawPrefix {
                        prefix: short.name,
                        of: long.name,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_tags_are_prefix_free() {
        assert_eq!(check_tags(ENGINE_TAGS), Ok(()));
    }

    #[test]
    fn each_unsafe_set_is_named() {
        let prefix = [raw("A", b"iosv/a/v1"), raw("B", b"iosv/a/v1/more")];
        assert_eq!(
            check_tags(&prefix),
            Err(TagConflict::RawPrefix {
                prefix: "A",
                of: "B"
            })
        );
        let framed_prefix = [
            Tag {
                name: "A",
                bytes: b"iosv/a/v1",
                framing: Framing::LengthPrefixed,
            },
            raw("B", b"iosv/a/v1/more"),
        ];
        assert_eq!(check_tags(&framed_prefix), Ok(()));
        assert_eq!(
            check_tags(&[raw("A", b"x"), raw("B", b"x")]),
            Err(TagConflict::NotIosv("A"))
        );
        assert_eq!(
            check_tags(&[raw("A", b"iosv/x"), raw("B", b"iosv/x")]),
            Err(TagConflict::Duplicate("A", "B"))
        );
        let long: &'static [u8] = &[b'a'; 105];
        assert_eq!(
            check_tags(&[Tag {
                name: "L",
                bytes: long,
                framing: Framing::LengthPrefixed
            }]),
            Err(TagConflict::FrameCollides("L"))
        );
    }
}
