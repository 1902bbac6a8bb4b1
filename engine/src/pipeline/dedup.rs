//! Remembers recently admitted transactions, to reject resubmissions before they cost a signature
//! check.
//!
//! The key is the txid *and* a keyed hash of the signatures. The txid alone excludes signatures, so
//! keying on it would let anyone who saw a transaction front-run it with a copy carrying a bad
//! signature: the copy would be admitted first, fail verification, and the honest transaction would
//! have been dropped as its duplicate. With signatures in the key both are admitted; the bad one
//! fails its signature check and the good one commits.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};

use crate::tx::{Transaction, TxId};

pub struct Dedup {
    window: usize,
    seen: HashSet<(TxId, u64)>,
    order: VecDeque<(TxId, u64)>,
    hasher: RandomState,
}

impl Dedup {
    /// Remembers the last `window` admitted transactions (at least one).
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            window,
            seen: HashSet::with_capacity(window.min(1 << 20)),
            order: VecDeque::with_capacity(window.min(1 << 20)),
            hasher: RandomState::new(),
        }
    }

    /// Records `tx`; false if it was seen within the window.
    pub fn admit(&mut self, tx: &Transaction, txid: TxId) -> bool {
        let mut hasher = self.hasher.build_hasher();
        for input in &tx.inputs {
            hasher.write(&input.signature);
        }
        let signatures = hasher.finish();
        let key = (txid, signatures);
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
