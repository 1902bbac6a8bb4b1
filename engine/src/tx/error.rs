//! Errors of the transaction model.
//!
//! Framing errors (version, truncation, trailing bytes) can only come from bytes; structural errors
//! ([`TxStructureError`]) are the rules every transaction obeys however it was made, so the decoder
//! and [`Transaction::validate_structure`](super::Transaction::validate_structure) share them.

use thiserror::Error;

use super::types::OutPoint;

/// A rule broken by a transaction's contents, whether decoded or constructed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TxStructureError {
    #[error("transaction has no inputs")]
    NoInputs,
    #[error("transaction has no outputs")]
    NoOutputs,
    #[error("transaction has {count} inputs, more than the maximum of {max}")]
    TooManyInputs { count: usize, max: usize },
    #[error("transaction has {count} outputs, more than the maximum of {max}")]
    TooManyOutputs { count: usize, max: usize },
    #[error("output {output} has amount zero")]
    ZeroAmount { output: usize },
    #[error("sum of output amounts overflows u64 at output {output}")]
    AmountOverflow { output: usize },
    #[error("inputs {first} and {second} both spend {outpoint}")]
    DuplicateInput {
        outpoint: OutPoint,
        first: usize,
        second: usize,
    },
}

/// Why bytes are not the canonical encoding of a valid transaction.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TxDecodeError {
    #[error("unknown transaction format version {found} (expected {expected})")]
    UnknownVersion { found: u8, expected: u8 },
    #[error(
        "transaction truncated at byte {offset}: field `{field}` needs {needed} bytes, {remaining} remain"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        remaining: usize,
    },
    #[error("{extra} trailing bytes after the transaction's {consumed} bytes")]
    TrailingBytes { consumed: usize, extra: usize },
    #[error(transparent)]
    Structure(#[from] TxStructureError),
}

/// Why bytes are not the canonical encoding of a block header.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum HeaderDecodeError {
    #[error("unknown block header version {found} (expected {expected})")]
    UnknownVersion { found: u8, expected: u8 },
    #[error(
        "block header truncated at byte {offset}: field `{field}` needs {needed} bytes, {remaining} remain"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        remaining: usize,
    },
    #[error("{extra} trailing bytes after the block header's {consumed} bytes")]
    TrailingBytes { consumed: usize, extra: usize },
}

/// Why a transaction could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SignError {
    #[error("{keys} signing keys given for {inputs} inputs (one key per input required)")]
    KeyCountMismatch { inputs: usize, keys: usize },
}

/// A read past the end of the input, reported by the byte reader and turned into
/// [`TxDecodeError::Truncated`] or [`HeaderDecodeError::Truncated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Truncation {
    pub field: &'static str,
    pub offset: usize,
    pub needed: usize,
    pub remaining: usize,
}

impl From<Truncation> for TxDecodeError {
    fn from(t: Truncation) -> Self {
        TxDecodeError::Truncated {
            field: t.field,
            offset: t.offset,
            needed: t.needed,
            remaining: t.remaining,
        }
    }
}

impl From<Truncation> for HeaderDecodeError {
    fn from(t: Truncation) -> Self {
        HeaderDecodeError::Truncated {
            field: t.field,
            offset: t.offset,
            needed: t.needed,
            remaining: t.remaining,
        }
    }
}
