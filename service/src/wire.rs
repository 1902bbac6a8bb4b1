//! The packed batch layout on the wire, checked before anything else touches it.
//!
//! A [`SignatureBatch`] arrives from an untrusted peer. [`PackedBatch::check`] accepts it only if
//! every field is consistent (key and signature lengths are whole multiples, the message ends
//! never decrease and end at the message bytes' length, no message is longer than the limit, the
//! count is within the limit) and never allocates more than the request already occupies: the
//! fields are `Bytes` views into the received buffer, and the only new allocation is the list of
//! message ends, which the decoder already holds. Everything after the check indexes without
//! panicking because the check proved the indices in range.

use bytes::{BufMut, Bytes, BytesMut};
use iosv_engine::sig::SigRef;
use iosv_engine::sig::zip215::{canonical_s, decompress};
use thiserror::Error;

use crate::proto::{BatchVerdicts, Malformed, SignatureBatch, Verdict};

/// Why a batch was refused as a whole (the request gets `INVALID_ARGUMENT`, or
/// `RESOURCE_EXHAUSTED` for [`WireError::TooManySignatures`]).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("public_keys is {0} bytes, not a multiple of 32")]
    KeysLength(usize),
    #[error("signatures is {0} bytes, not a multiple of 64")]
    SignaturesLength(usize),
    #[error(
        "{keys} public keys, {signatures} signatures and {ends} message ends: the counts differ"
    )]
    Counts {
        keys: usize,
        signatures: usize,
        ends: usize,
    },
    #[error("message_ends[{index}] = {end} is below the previous end {previous}")]
    EndsDecrease {
        index: usize,
        end: u32,
        previous: u32,
    },
    #[error("the last message end is {last}, but messages is {len} bytes")]
    EndsLength { last: u64, len: usize },
    #[error("message {index} is {len} bytes, over the limit of {limit}")]
    MessageTooLong {
        index: usize,
        len: usize,
        limit: usize,
    },
    #[error("{count} signatures in one request, over the limit of {limit}")]
    TooManySignatures { count: usize, limit: usize },
}

/// Limits a request must keep to.
#[derive(Clone, Copy, Debug)]
pub struct WireLimits {
    pub max_signatures: usize,
    pub max_message_len: usize,
}

/// A checked batch: `len()` signatures, each available as a [`SigRef`].
#[derive(Clone, Debug)]
pub struct PackedBatch {
    public_keys: Bytes,
    signatures: Bytes,
    messages: Bytes,
    ends: Vec<u32>,
}

impl PackedBatch {
    /// Checks `batch` against the layout and `limits`.
    pub fn check(batch: SignatureBatch, limits: WireLimits) -> Result<Self, WireError> {
        let SignatureBatch {
            public_keys,
            signatures,
            messages,
            message_ends: ends,
        } = batch;
        if public_keys.len() % 32 != 0 {
            return Err(WireError::KeysLength(public_keys.len()));
        }
        if signatures.len() % 64 != 0 {
            return Err(WireError::SignaturesLength(signatures.len()));
        }
        let count = ends.len();
        if public_keys.len() / 32 != count || signatures.len() / 64 != count {
            return Err(WireError::Counts {
                keys: public_keys.len() / 32,
                signatures: signatures.len() / 64,
                ends: count,
            });
        }
        if count > limits.max_signatures {
            return Err(WireError::TooManySignatures {
                count,
                limit: limits.max_signatures,
            });
        }
        let mut previous = 0u32;
        for (index, &end) in ends.iter().enumerate() {
            if end < previous {
                return Err(WireError::EndsDecrease {
                    index,
                    end,
                    previous,
                });
            }
            let len = (end - previous) as usize;
            if len > limits.max_message_len {
                return Err(WireError::MessageTooLong {
                    index,
                    len,
                    limit: limits.max_message_len,
                });
            }
            previous = end;
        }
        if previous as usize != messages.len() {
            return Err(WireError::EndsLength {
                last: u64::from(previous),
                len: messages.len(),
            });
        }
        Ok(Self {
            public_keys,
            signatures,
            messages,
            ends,
        })
    }

    /// Packs signatures for a request (the client side).
    pub fn encode(items: &[SigRef<'_>]) -> SignatureBatch {
        let mut keys = BytesMut::with_capacity(items.len() * 32);
        let mut sigs = BytesMut::with_capacity(items.len() * 64);
        let total: usize = items.iter().map(|i| i.msg.len()).sum();
        let mut messages = BytesMut::with_capacity(total);
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            keys.put_slice(item.pk);
            sigs.put_slice(item.sig);
            messages.put_slice(item.msg);
            // Saturates instead of wrapping: a batch over 4 GiB of messages is refused by the
            // server's length check rather than misread.
            ends.push(u32::try_from(messages.len()).unwrap_or(u32::MAX));
        }
        SignatureBatch {
            public_keys: keys.freeze(),
            signatures: sigs.freeze(),
            messages: messages.freeze(),
            message_ends: ends,
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes this batch holds (for admission).
    pub fn byte_len(&self) -> usize {
        self.public_keys.len() + self.signatures.len() + self.messages.len() + 4 * self.ends.len()
    }

    /// Signature `i` (`i < len()`).
    pub fn get(&self, i: usize) -> SigRef<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        SigRef {
            pk: self.public_keys[32 * i..32 * i + 32]
                .try_into()
                .expect("checked: 32 bytes per key"),
            msg: &self.messages[start..end],
            sig: self.signatures[64 * i..64 * i + 64]
                .try_into()
                .expect("checked: 64 bytes per signature"),
        }
    }
}

/// The verdict of a signature the batch verifier rejected: malformed (with the reason) if its
/// bytes cannot be a ZIP-215 signature, otherwise invalid. Only called for rejected signatures,
/// so the valid path pays nothing for the reasons.
pub fn classify_failure(item: SigRef<'_>) -> (Verdict, Option<&'static str>) {
    if canonical_s(item.sig).is_none() {
        return (Verdict::Malformed, Some("S is not canonical (S >= L)"));
    }
    let r: &[u8; 32] = item.sig[..32].try_into().expect("64-byte signature");
    if decompress(r).is_none() {
        return (
            Verdict::Malformed,
            Some("R is not the encoding of a curve point"),
        );
    }
    if decompress(item.pk).is_none() {
        return (
            Verdict::Malformed,
            Some("the public key is not the encoding of a curve point"),
        );
    }
    (Verdict::Invalid, None)
}

/// Writes the verdicts of `batch` (indices `offset..offset + ok.len()`) from the batch verifier's
/// booleans into `verdicts` (one byte per signature of the whole batch), with reasons for the
/// malformed ones.
pub fn fill_verdicts(
    batch: &PackedBatch,
    offset: usize,
    ok: &[bool],
    verdicts: &mut [u8],
    malformed: &mut Vec<Malformed>,
) {
    for (j, &valid) in ok.iter().enumerate() {
        let index = offset + j;
        let verdict = if valid {
            Verdict::Valid
        } else {
            let (verdict, reason) = classify_failure(batch.get(index));
            if let Some(reason) = reason {
                malformed.push(Malformed {
                    index: index as u32,
                    reason: reason.to_string(),
                });
            }
            verdict
        };
        verdicts[index] = verdict as u8;
    }
}

/// The verdicts of a response as booleans (valid or not), checking that there is one per
/// signature sent and that each is a known value.
pub fn verdicts_as_bools(v: &BatchVerdicts, expected: usize) -> Result<Vec<bool>, String> {
    if v.verdicts.len() != expected {
        return Err(format!(
            "{} verdicts for {expected} signatures",
            v.verdicts.len()
        ));
    }
    v.verdicts
        .iter()
        .enumerate()
        .map(|(i, &b)| match Verdict::try_from(i32::from(b)) {
            Ok(Verdict::Valid) => Ok(true),
            Ok(Verdict::Invalid | Verdict::Malformed) => Ok(false),
            _ => Err(format!("verdict {i} is {b}, not a known value")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: WireLimits = WireLimits {
        max_signatures: 1000,
        max_message_len: 512,
    };

    fn batch(keys: usize, sigs: usize, messages: usize, ends: Vec<u32>) -> SignatureBatch {
        SignatureBatch {
            public_keys: Bytes::from(vec![1u8; keys]),
            signatures: Bytes::from(vec![2u8; sigs]),
            messages: Bytes::from(vec![3u8; messages]),
            message_ends: ends,
        }
    }

    #[test]
    fn a_consistent_batch_round_trips() {
        let pk = [7u8; 32];
        let sig = [9u8; 64];
        let msgs: [&[u8]; 3] = [b"", b"abc", b"de"];
        let items: Vec<SigRef<'_>> = msgs
            .iter()
            .map(|m| SigRef {
                pk: &pk,
                msg: m,
                sig: &sig,
            })
            .collect();
        let packed = PackedBatch::check(PackedBatch::encode(&items), LIMITS).unwrap();
        assert_eq!(packed.len(), 3);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(packed.get(i).msg, *m);
            assert_eq!(packed.get(i).pk, &pk);
            assert_eq!(packed.get(i).sig, &sig);
        }
    }

    #[test]
    fn each_inconsistency_is_named() {
        let check = |b| PackedBatch::check(b, LIMITS).unwrap_err();
        assert_eq!(check(batch(31, 64, 0, vec![0])), WireError::KeysLength(31));
        assert_eq!(
            check(batch(32, 65, 0, vec![0])),
            WireError::SignaturesLength(65)
        );
        assert!(matches!(
            check(batch(64, 64, 0, vec![0])),
            WireError::Counts { .. }
        ));
        assert!(matches!(
            check(batch(64, 128, 4, vec![3, 2])),
            WireError::EndsDecrease { index: 1, .. }
        ));
        assert!(matches!(
            check(batch(32, 64, 4, vec![3])),
            WireError::EndsLength { last: 3, len: 4 }
        ));
        assert!(matches!(
            check(batch(32, 64, 600, vec![600])),
            WireError::MessageTooLong { index: 0, .. }
        ));
        assert!(matches!(
            check(batch(32 * 1001, 64 * 1001, 0, vec![0; 1001])),
            WireError::TooManySignatures { count: 1001, .. }
        ));
    }

    proptest! {
        /// Any field contents: the check either refuses or gives a batch whose every signature
        /// can be read (no panic, messages within the limit, exactly the bytes sent).
        #[test]
        fn any_request_is_refused_or_readable(
            keys in 0usize..200,
            sigs in 0usize..400,
            messages in 0usize..2000,
            ends in proptest::collection::vec(0u32..2100, 0..8),
        ) {
            if let Ok(packed) = PackedBatch::check(batch(keys, sigs, messages, ends.clone()), LIMITS) {
                prop_assert_eq!(packed.len(), ends.len());
                let mut total = 0;
                for i in 0..packed.len() {
                    let item = packed.get(i);
                    prop_assert!(item.msg.len() <= LIMITS.max_message_len);
                    total += item.msg.len();
                }
                prop_assert_eq!(total, messages);
            }
        }

        /// Arbitrary bytes as a request body: protobuf decoding then the layout check never
        /// panic, and whatever passes can be read in full.
        #[test]
        fn arbitrary_request_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            use prost::Message;
            if let Ok(batch) = SignatureBatch::decode(&bytes[..])
                && let Ok(packed) = PackedBatch::check(batch, LIMITS)
            {
                for i in 0..packed.len() {
                    let _ = classify_failure(packed.get(i));
                }
            }
        }

        /// Whatever is packed is read back unchanged.
        #[test]
        fn encode_then_check_is_identity(
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
            seed in any::<u8>(),
        ) {
            let pks: Vec<[u8; 32]> = (0..msgs.len()).map(|i| [seed ^ i as u8; 32]).collect();
            let sigs: Vec<[u8; 64]> = (0..msgs.len()).map(|i| [seed.wrapping_add(i as u8); 64]).collect();
            let items: Vec<SigRef<'_>> = (0..msgs.len())
                .map(|i| SigRef { pk: &pks[i], msg: &msgs[i], sig: &sigs[i] })
                .collect();
            let packed = PackedBatch::check(PackedBatch::encode(&items), LIMITS).unwrap();
            for (i, item) in items.iter().enumerate() {
                let got = packed.get(i);
                prop_assert_eq!(got.pk, item.pk);
                prop_assert_eq!(got.msg, item.msg);
                prop_assert_eq!(got.sig, item.sig);
            }
        }
    }
}
