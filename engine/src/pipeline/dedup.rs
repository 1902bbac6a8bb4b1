//! Remembers recently admitted transactions, to reject resubmissions before they cost a signature
//! check.
//!
//! The key is the txid *and* a keyed hash of the signatures. The txid alone excludes signatures, so
//! keying on it would let anyone who saw a transaction front-run it with a copy carrying a bad
//! signature: the copy would be admitted first, fail verification, and the honest transaction would
//! have been dropped as its duplicate. With signatures in the key both are admitted; the bad one
//! fails its signature check and the good one commits.
//!
//! Keys are computed by [`DedupKeyer`] on the decode workers, in parallel; [`Dedup`] only checks
//! them, in admission order (which copy of a transaction counts as the first decides which one can
//! win a double spend, so this part is sequential and kept to one hash-set operation per
//! transaction). The keyed hash covers the txid too, and the set hashes keys by it alone: a
//! secret-keyed value nobody can aim at one bucket.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use crate::tx::{Transaction, TxId};

/// What identifies a submission for deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupKey {
    txid: TxId,
    /// Secret-keyed hash of the txid and every signature.
    keyed: u64,
}

impl Hash for DedupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equality still compares the txid; the bucket comes from the keyed hash only.
        state.write_u64(self.keyed);
    }
}

/// Passes [`DedupKey`]'s keyed hash through as the bucket hash.
#[derive(Default)]
struct KeyedHashPassThrough(u64);

impl Hasher for KeyedHashPassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only write_u64 is used by DedupKey; fold anything else in rather than ignore it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Computes [`DedupKey`]s with one secret key; clones share it, so keys from any worker match.
#[derive(Clone)]
pub struct DedupKeyer {
    hasher: RandomState,
}

impl Default for DedupKeyer {
    fn default() -> Self {
        Self::new()
    }
}

impl DedupKeyer {
    /// A keyer with a fresh random key.
    pub fn new() -> Self {
        Self {
            hasher: RandomState::new(),
        }
    }

    pub fn key(&self, tx: &Transaction, txid: TxId) -> DedupKey {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(&txid.0);
        for input in &tx.inputs {
            hasher.write(&input.signature);
        }
        DedupKey {
            txid,
            keyed: hasher.finish(),
        }
    }
}

/// The window of recently admitted keys.
pub struct Dedup {
    window: usize,
    seen: HashSet<DedupKey, BuildHasherDefault<KeyedHashPassThrough>>,
    order: VecDeque<DedupKey>,
    keyer: DedupKeyer,
}

impl Dedup {
    /// Remembers the last `window` admitted transactions (at least one).
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            window,
            seen: HashSet::with_capacity_and_hasher(window.min(1 << 20), Default::default()),
            order: VecDeque::with_capacity(window.min(1 << 20)),
            keyer: DedupKeyer::new(),
        }
    }

    /// The keyer whose keys this window expects.
    pub fn keyer(&self) -> &DedupKeyer {
        &self.keyer
    }

    /// Records `tx`; false if it was seen within the window.
    pub fn admit(&mut self, tx: &Transaction, txid: TxId) -> bool {
        let key = self.keyer.key(tx, txid);
        self.admit_key(key)
    }

    /// Records a key made by [`Dedup::keyer`]; false if it was seen within the window.
    pub fn admit_key(&mut self, key: DedupKey) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.window
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{OutPoint, TxInput, TxOutput};

    fn tx(prev: u8, signature: u8) -> Transaction {
        Transaction {
            inputs: vec![TxInput {
                prev: OutPoint {
                    txid: TxId([prev; 32]),
                    index: 0,
                },
                owner: [1; 32],
                signature: [signature; 64],
            }],
            outputs: vec![TxOutput {
                amount: 1,
                owner: [2; 32],
            }],
        }
    }

    #[test]
    fn same_txid_with_other_signatures_is_not_a_duplicate() {
        let mut dedup = Dedup::new(8);
        let (a, forged) = (tx(1, 1), tx(1, 2));
        assert_eq!(a.txid(), forged.txid());
        assert!(dedup.admit(&forged, forged.txid()));
        assert!(dedup.admit(&a, a.txid()));
        assert!(!dedup.admit(&a, a.txid()));
        assert!(!dedup.admit(&forged, forged.txid()));
    }

    #[test]
    fn keys_from_a_clone_of_the_keyer_match_and_the_window_forgets() {
        let mut dedup = Dedup::new(2);
        let keyer = dedup.keyer().clone();
        let txs: Vec<Transaction> = (0..3).map(|n| tx(n, 0)).collect();
        for t in &txs {
            assert!(dedup.admit_key(keyer.key(t, t.txid())));
        }
        // The window holds the last two; the first was forgotten.
        assert!(!dedup.admit(&txs[2], txs[2].txid()));
        assert!(dedup.admit(&txs[0], txs[0].txid()));
    }
}
