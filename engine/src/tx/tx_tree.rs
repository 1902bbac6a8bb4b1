//! The Merkle tree over a block's transactions, whose root is the header's `tx_root`.
//!
//! Leaf `i` is [`merkle::leaf_hash`] of `txid ‖ wtxid` of transaction `i`, where the txid covers
//! everything but the signatures and `wtxid = SHA-256(WTXID_DOMAIN ‖ full encoding)` covers the
//! signatures too. Both are in the leaf so that a proof can name a transaction by its txid (which
//! outpoints refer to) and still pin the exact signatures the block carried. The tree is
//! [`merkle`]'s RFC 6962 shape; the header's `tx_count` is the tree size.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::types::{Transaction, TxId};
use crate::merkle::{self, Hash};

/// Domain tag of the hash over a transaction's full encoding (signatures included).
pub const WTXID_DOMAIN: &[u8] = crate::domain::WTXID;

/// The hash of a transaction's full encoding, signatures included.
pub fn wtxid(encoding: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(WTXID_DOMAIN);
    h.update(encoding);
    h.finalize().into()
}

/// What a block commits to for one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLeaf {
    pub txid: TxId,
    #[serde(with = "hex::serde")]
    pub wtxid: Hash,
}

impl TxLeaf {
    pub fn of(tx: &Transaction) -> TxLeaf {
        TxLeaf::with_txid(tx, tx.txid())
    }

    /// The leaf of `tx` whose txid the caller already has (checked in debug builds).
    pub fn with_txid(tx: &Transaction, txid: TxId) -> TxLeaf {
        debug_assert_eq!(tx.txid(), txid, "the txid must be the transaction's own");
        TxLeaf {
            txid,
            wtxid: wtxid(&tx.encode()),
        }
    }

    /// The Merkle leaf hash.
    pub fn hash(&self) -> Hash {
        let mut data = [0u8; 64];
        data[..32].copy_from_slice(&self.txid.0);
        data[32..].copy_from_slice(&self.wtxid);
        merkle::leaf_hash(&data)
    }
}

/// The leaves of a block's transactions, in block order.
pub fn tx_leaves(txs: &[Transaction]) -> Vec<TxLeaf> {
    txs.iter().map(TxLeaf::of).collect()
}

/// The header's `tx_root` for `txs`.
pub fn tx_root(txs: &[Transaction]) -> Hash {
    tx_root_of_leaves(&tx_leaves(txs))
}

/// [`tx_root`] for a caller that already has every txid (`txids[i]` is `txs[i].txid()`).
///
/// # Panics
/// If the slices differ in length.
pub fn tx_root_with_txids(txs: &[Transaction], txids: &[TxId]) -> Hash {
    assert_eq!(txs.len(), txids.len(), "one txid per transaction");
    let leaves: Vec<TxLeaf> = txs
        .iter()
        .zip(txids)
        .map(|(tx, id)| TxLeaf::with_txid(tx, *id))
        .collect();
    tx_root_of_leaves(&leaves)
}

/// The `tx_root` over already computed leaves.
pub fn tx_root_of_leaves(leaves: &[TxLeaf]) -> Hash {
    let hashes: Vec<Hash> = leaves.iter().map(TxLeaf::hash).collect();
    merkle::root(&hashes)
}

/// The inclusion proof of transaction `index` of `leaves`, or `None` when out of range.
pub fn tx_inclusion_proof(leaves: &[TxLeaf], index: usize) -> Option<merkle::InclusionProof> {
    let hashes: Vec<Hash> = leaves.iter().map(TxLeaf::hash).collect();
    merkle::prove(&hashes, index)
}
