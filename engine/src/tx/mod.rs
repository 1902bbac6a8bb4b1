//! The UTXO transaction model: transactions, their canonical encoding, identifiers and signing
//! messages, and block headers.
//!
//! Invariants:
//! - A [`Transaction`] spends 1..=[`MAX_INPUTS`] distinct outpoints and creates
//!   1..=[`MAX_OUTPUTS`] outputs of non-zero amount whose sum fits in a `u64`
//!   ([`Transaction::validate_structure`]).
//! - Each valid transaction has exactly one encoding ([`Transaction::encode`]), and
//!   [`Transaction::decode`] accepts only such encodings: decoding then re-encoding gives back the
//!   same bytes. The decoder never panics, and allocates only after checking counts against the
//!   maxima.
//! - The [`TxId`] hashes everything but the signatures, so it cannot be changed by re-encoding a
//!   signature; each input signs the txid, so each signature commits to the whole transaction.
//! - Signatures are checked here only as `(public key, message, signature)` triples
//!   ([`Transaction::signature_checks`]); whether `owner` matches the spent output is decided
//!   against the UTXO set, elsewhere.
//!
//! Files: `types` (values and structural rules), `encoding` (wire format), `id` (txid, signing),
//! `signatures` (verifying many transactions' signatures as one batch), `block` (headers), `tx_tree` (the Merkle tree over a block's transactions), `error`.

mod block;
mod encoding;
mod error;
mod id;
mod signatures;
mod tx_tree;
mod types;

pub use block::{Block, BlockHeader, HEADER_DOMAIN, HEADER_ENCODED_LEN, HEADER_VERSION};
pub use encoding::{
    INPUT_ENCODED_LEN, MAX_ENCODED_LEN, MAX_INPUTS, MAX_OUTPUTS, OUTPUT_ENCODED_LEN,
    TX_FORMAT_VERSION,
};
pub use error::{HeaderDecodeError, SignError, TxDecodeError, TxStructureError};
pub use id::TXID_DOMAIN;
pub use signatures::{TxSignatureVerdicts, verify_tx_signatures, verify_tx_signatures_where};
pub use tx_tree::{
    TxLeaf, WTXID_DOMAIN, tx_inclusion_proof, tx_leaves, tx_root, tx_root_of_leaves,
    tx_root_with_txids, wtxid,
};
pub use types::{OutPoint, Transaction, TxId, TxInput, TxOutput};
