//! The canonical binary encoding of a transaction and its strict decoder.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! version        u8    = TX_FORMAT_VERSION
//! input_count    u16   1..=MAX_INPUTS
//! inputs         input_count × { prev.txid [32] | prev.index u32 | owner [32] | signature [64] }
//! output_count   u16   1..=MAX_OUTPUTS
//! outputs        output_count × { amount u64 | owner [32] }
//! ```
//!
//! Every valid transaction has exactly one encoding and the decoder accepts nothing else: no
//! trailing bytes, no unknown version, and the structural rules of
//! [`Transaction::validate_structure`] hold. So `decode(b) == Ok(t)` implies `t.encode() == b`.
//! Counts are checked against the maxima before anything is allocated, and every size derived from
//! the input is computed with checked arithmetic; the decoder never panics.

use sha2::{Digest, Sha512};

use super::error::{Truncation, TxDecodeError};
use super::types::{
    OutPoint, Transaction, TxId, TxInput, TxOutput, check_input_count, check_output_count,
};

/// The only transaction format version this code reads or writes.
pub const TX_FORMAT_VERSION: u8 = 1;

/// Most inputs one transaction may spend. Bounds the signature work of one transaction (one
/// verification per input) so a single transaction cannot dominate a verification batch; payments
/// rarely need more than a handful. The u16 count field leaves room to raise it without a new format.
pub const MAX_INPUTS: usize = 256;

/// Most outputs one transaction may create; 256 covers batched payouts while bounding the encoding.
pub const MAX_OUTPUTS: usize = 256;

/// Bytes of one encoded input: prev.txid (32) + prev.index (4) + owner (32) + signature (64).
pub const INPUT_ENCODED_LEN: usize = 32 + 4 + 32 + 64;

/// Bytes of one encoded output: amount (8) + owner (32).
pub const OUTPUT_ENCODED_LEN: usize = 8 + 32;

/// Bytes of the fixed part: version (1) + input count (2) + output count (2).
const FIXED_ENCODED_LEN: usize = 1 + 2 + 2;

/// Length of the largest valid encoding (44,037 bytes); no valid transaction is longer.
pub const MAX_ENCODED_LEN: usize =
    FIXED_ENCODED_LEN + MAX_INPUTS * INPUT_ENCODED_LEN + MAX_OUTPUTS * OUTPUT_ENCODED_LEN;

const _: () = assert!(MAX_INPUTS <= u16::MAX as usize && MAX_OUTPUTS <= u16::MAX as usize);

/// Whether an encoding carries the input signatures (the wire form) or omits them (the txid preimage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signatures {
    Include,
    Omit,
}

/// Where encoded bytes go: a buffer, or straight into a hash without an intermediate buffer.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha512 {
    fn put(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

/// A count as written on the wire. Counts beyond `u16::MAX` (only possible for a transaction that
/// already fails `validate_structure`) are written as `u16::MAX`, which the decoder rejects.
fn wire_count(count: usize) -> [u8; 2] {
    u16::try_from(count).unwrap_or(u16::MAX).to_le_bytes()
}

pub(crate) fn write_transaction(tx: &Transaction, sink: &mut impl Sink, signatures: Signatures) {
    sink.put(&[TX_FORMAT_VERSION]);
    sink.put(&wire_count(tx.inputs.len()));
    for input in &tx.inputs {
        sink.put(&input.prev.txid.0);
        sink.put(&input.prev.index.to_le_bytes());
        sink.put(&input.owner);
        if signatures == Signatures::Include {
            sink.put(&input.signature);
        }
    }
    sink.put(&wire_count(tx.outputs.len()));
    for output in &tx.outputs {
        sink.put(&output.amount.to_le_bytes());
        sink.put(&output.owner);
    }
}

impl Transaction {
    /// Length of [`Transaction::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        self.inputs
            .len()
            .saturating_mul(INPUT_ENCODED_LEN)
            .saturating_add(self.outputs.len().saturating_mul(OUTPUT_ENCODED_LEN))
            .saturating_add(FIXED_ENCODED_LEN)
    }

    /// The canonical encoding. Defined for transactions that pass
    /// [`Transaction::validate_structure`]; for others the bytes are unspecified (but no panic) and
    /// [`Transaction::decode`] rejects them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out` (see [`Transaction::encode`]).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        write_transaction(self, out, Signatures::Include);
    }

    /// Decodes exactly one canonical transaction encoding, rejecting anything else.
    pub fn decode(bytes: &[u8]) -> Result<Transaction, TxDecodeError> {
        let tx = Transaction::decode_framing(bytes, true)?;
        tx.validate_structure()?;
        Ok(tx)
    }

    /// Decodes the framing only — version, counts, fields, no trailing bytes — without the
    /// structural rules of [`Transaction::validate_structure`]. For fraud proofs, which must be able
    /// to carry a structurally invalid transaction that a faulty proposer put in a block: every
    /// transaction with fewer than 65,535 inputs and outputs round-trips through
    /// `encode` and this. Counts are still bounded by the bytes present, so it allocates no more
    /// than the input's length justifies.
    pub fn decode_framed(bytes: &[u8]) -> Result<Transaction, TxDecodeError> {
        Transaction::decode_framing(bytes, false)
    }

    fn decode_framing(bytes: &[u8], check_counts: bool) -> Result<Transaction, TxDecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != TX_FORMAT_VERSION {
            return Err(TxDecodeError::UnknownVersion {
                found: version,
                expected: TX_FORMAT_VERSION,
            });
        }

        let input_count = usize::from(r.u16_le("input_count")?);
        if check_counts {
            check_input_count(input_count)?;
        }
        let mut inputs = Vec::with_capacity(input_count.min(r.remaining() / INPUT_ENCODED_LEN));
        for _ in 0..input_count {
            inputs.push(TxInput {
                prev: OutPoint {
                    txid: TxId(r.array("input.prev.txid")?),
                    index: r.u32_le("input.prev.index")?,
                },
                owner: r.array("input.owner")?,
                signature: r.array("input.signature")?,
            });
        }

        let output_count = usize::from(r.u16_le("output_count")?);
        if check_counts {
            check_output_count(output_count)?;
        }
        let mut outputs = Vec::with_capacity(output_count.min(r.remaining() / OUTPUT_ENCODED_LEN));
        for _ in 0..output_count {
            outputs.push(TxOutput {
                amount: r.u64_le("output.amount")?,
                owner: r.array("output.owner")?,
            });
        }

        r.finish()
            .map_err(|(consumed, extra)| TxDecodeError::TrailingBytes { consumed, extra })?;
        Ok(Transaction { inputs, outputs })
    }
}

/// A cursor over untrusted bytes. Invariant: `pos <= bytes.len()`.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, needed: usize, field: &'static str) -> Result<&'a [u8], Truncation> {
        let remaining = self.bytes.len() - self.pos;
        let truncation = Truncation {
            field,
            offset: self.pos,
            needed,
            remaining,
        };
        let end = self.pos.checked_add(needed).ok_or(truncation)?;
        let taken = self.bytes.get(self.pos..end).ok_or(truncation)?;
        self.pos = end;
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Truncation> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Truncation> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16_le(&mut self, field: &'static str) -> Result<u16, Truncation> {
        self.array(field).map(u16::from_le_bytes)
    }

    pub(crate) fn u32_le(&mut self, field: &'static str) -> Result<u32, Truncation> {
        self.array(field).map(u32::from_le_bytes)
    }

    pub(crate) fn u64_le(&mut self, field: &'static str) -> Result<u64, Truncation> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// Ends decoding: `Ok(consumed)` if every byte was read, else `Err((consumed, extra))`.
    pub(crate) fn finish(self) -> Result<usize, (usize, usize)> {
        match self.bytes.len() - self.pos {
            0 => Ok(self.pos),
            extra => Err((self.pos, extra)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::TxStructureError;

    /// Offset of the output count in the encoding of `sample()`.
    const OUTPUT_COUNT_OFFSET: usize = 1 + 2 + 2 * INPUT_ENCODED_LEN;

    fn sample() -> Transaction {
        Transaction {
            inputs: (0..2u8)
                .map(|i| TxInput {
                    prev: OutPoint {
                        txid: TxId([0x10 + i; 32]),
                        index: u32::from(i) + 7,
                    },
                    owner: [0x20 + i; 32],
                    signature: [0x30 + i; 64],
                })
                .collect(),
            outputs: vec![
                TxOutput {
                    amount: 1_000,
                    owner: [0x40; 32],
                },
                TxOutput {
                    amount: 2_000,
                    owner: [0x41; 32],
                },
            ],
        }
    }

    fn structure(e: TxStructureError) -> Result<Transaction, TxDecodeError> {
        Err(TxDecodeError::Structure(e))
    }

    fn amount_offset(output: usize) -> usize {
        OUTPUT_COUNT_OFFSET + 2 + output * OUTPUT_ENCODED_LEN
    }

    #[test]
    fn layout_matches_the_documented_format() {
        let tx = sample();
        let mut expected = vec![1u8, 2, 0];
        for i in 0..2u8 {
            expected.extend([0x10 + i; 32]);
            expected.extend((u32::from(i) + 7).to_le_bytes());
            expected.extend([0x20 + i; 32]);
            expected.extend([0x30 + i; 64]);
        }
        expected.extend([2, 0]);
        expected.extend(1_000u64.to_le_bytes());
        expected.extend([0x40; 32]);
        expected.extend(2_000u64.to_le_bytes());
        expected.extend([0x41; 32]);
        assert_eq!(tx.encode(), expected);
        assert_eq!(tx.encoded_len(), expected.len());
        assert_eq!(Transaction::decode(&expected), Ok(tx));
    }

    #[test]
    fn encode_into_appends() {
        let tx = sample();
        let mut out = vec![0xee];
        tx.encode_into(&mut out);
        assert_eq!(out[0], 0xee);
        assert_eq!(&out[1..], tx.encode().as_slice());
    }

    #[test]
    fn largest_transaction_round_trips_at_max_encoded_len() {
        let input = sample().inputs[0];
        let tx = Transaction {
            inputs: (0..MAX_INPUTS as u32)
                .map(|index| TxInput {
                    prev: OutPoint {
                        index,
                        ..input.prev
                    },
                    ..input
                })
                .collect(),
            outputs: vec![sample().outputs[0]; MAX_OUTPUTS],
        };
        let bytes = tx.encode();
        assert_eq!(bytes.len(), MAX_ENCODED_LEN);
        assert_eq!(Transaction::decode(&bytes), Ok(tx));
    }

    #[test]
    fn rejects_unknown_version() {
        for version in [0u8, 2, 255] {
            let mut bytes = sample().encode();
            bytes[0] = version;
            assert_eq!(
                Transaction::decode(&bytes),
                Err(TxDecodeError::UnknownVersion {
                    found: version,
                    expected: 1
                })
            );
        }
    }

    #[test]
    fn rejects_empty_input_as_truncated_version() {
        assert_eq!(
            Transaction::decode(&[]),
            Err(TxDecodeError::Truncated {
                field: "version",
                offset: 0,
                needed: 1,
                remaining: 0
            })
        );
    }

    #[test]
    fn truncation_names_the_field_and_offset() {
        let bytes = sample().encode();
        // Cut in the middle of the second input's signature.
        let sig_offset = 1 + 2 + INPUT_ENCODED_LEN + 32 + 4 + 32;
        assert_eq!(
            Transaction::decode(&bytes[..sig_offset + 10]),
            Err(TxDecodeError::Truncated {
                field: "input.signature",
                offset: sig_offset,
                needed: 64,
                remaining: 10
            })
        );
        assert_eq!(
            Transaction::decode(&bytes[..OUTPUT_COUNT_OFFSET + 1]),
            Err(TxDecodeError::Truncated {
                field: "output_count",
                offset: OUTPUT_COUNT_OFFSET,
                needed: 2,
                remaining: 1
            })
        );
        let last = bytes.len() - 1;
        assert!(matches!(
            Transaction::decode(&bytes[..last]),
            Err(TxDecodeError::Truncated {
                field: "output.owner",
                ..
            })
        ));
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = sample().encode();
        let consumed = bytes.len();
        bytes.extend([0, 0, 0]);
        assert_eq!(
            Transaction::decode(&bytes),
            Err(TxDecodeError::TrailingBytes { consumed, extra: 3 })
        );
    }

    #[test]
    fn rejects_zero_inputs() {
        assert_eq!(
            Transaction::decode(&[1, 0, 0]),
            structure(TxStructureError::NoInputs)
        );
    }

    #[test]
    fn rejects_zero_outputs() {
        let mut bytes = sample().encode();
        bytes.truncate(OUTPUT_COUNT_OFFSET);
        bytes.extend([0, 0]);
        assert_eq!(
            Transaction::decode(&bytes),
            structure(TxStructureError::NoOutputs)
        );
    }

    #[test]
    fn rejects_too_many_inputs_before_reading_them() {
        for count in [MAX_INPUTS as u16 + 1, u16::MAX] {
            let [lo, hi] = count.to_le_bytes();
            assert_eq!(
                Transaction::decode(&[1, lo, hi]),
                structure(TxStructureError::TooManyInputs {
                    count: usize::from(count),
                    max: MAX_INPUTS
                })
            );
        }
    }

    #[test]
    fn rejects_too_many_outputs_before_reading_them() {
        let mut bytes = sample().encode();
        bytes.truncate(OUTPUT_COUNT_OFFSET);
        bytes.extend((MAX_OUTPUTS as u16 + 1).to_le_bytes());
        assert_eq!(
            Transaction::decode(&bytes),
            structure(TxStructureError::TooManyOutputs {
                count: MAX_OUTPUTS + 1,
                max: MAX_OUTPUTS
            })
        );
    }

    #[test]
    fn rejects_zero_amount() {
        let mut bytes = sample().encode();
        let at = amount_offset(1);
        bytes[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(
            Transaction::decode(&bytes),
            structure(TxStructureError::ZeroAmount { output: 1 })
        );
    }

    #[test]
    fn rejects_amount_sum_overflow() {
        let mut bytes = sample().encode();
        let at = amount_offset(1);
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            Transaction::decode(&bytes),
            structure(TxStructureError::AmountOverflow { output: 1 })
        );
    }

    #[test]
    fn rejects_duplicate_inputs() {
        let mut tx = sample();
        tx.inputs[1].prev = tx.inputs[0].prev;
        assert_eq!(
            Transaction::decode(&tx.encode()),
            structure(TxStructureError::DuplicateInput {
                outpoint: tx.inputs[0].prev,
                first: 0,
                second: 1
            })
        );
    }

    #[test]
    fn oversized_constructed_transaction_encodes_to_rejected_bytes() {
        let input = sample().inputs[0];
        let tx = Transaction {
            inputs: (0..=u32::from(u16::MAX))
                .map(|index| TxInput {
                    prev: OutPoint {
                        index,
                        ..input.prev
                    },
                    ..input
                })
                .collect(),
            outputs: sample().outputs,
        };
        assert!(matches!(
            Transaction::decode(&tx.encode()),
            Err(TxDecodeError::Structure(
                TxStructureError::TooManyInputs { .. }
            ))
        ));
    }

    #[test]
    fn errors_have_readable_messages() {
        let e = Transaction::decode(&[1, 1]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "transaction truncated at byte 1: field `input_count` needs 2 bytes, 1 remain"
        );
    }
}
