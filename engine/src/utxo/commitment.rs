//! The consistency digest ([`UtxoSet::consistency_digest`](super::UtxoSet::consistency_digest)): an additive
//! multiset hash of the set's entries. Not a commitment (see below); the Merkle state tree is.
//!
//! Each entry maps to a leaf, the first 32 bytes of
//! `SHA-512(LEAF_DOMAIN ‖ txid ‖ index u32 ‖ amount u64 ‖ owner ‖ lock_tag u8 [‖ lock_id])`
//! (integers little-endian, `lock_tag` 0 unlocked or 1 locked, `lock_id` present only when
//! locked), read as a little-endian integer mod 2^256. The accumulator is the sum of all leaves mod
//! 2^256 and the number of entries; the root is `SHA-512(ROOT_DOMAIN ‖ count u64 ‖ sum)[..32]`.
//!
//! Why this construction:
//! - Addition is commutative and invertible, so the root is independent of insertion order and of
//!   the shard count, and is maintained incrementally: adding or removing an entry costs one leaf
//!   hash (one SHA-512 block for an unlocked entry). Shards keep partial sums; the root adds them.
//!   XOR would not do: it is GF(2)-linear, so a colliding set is found by Gaussian elimination.
//! - The lock state is part of the leaf: a locked output is state that every replica must agree on
//!   (it decides whether a transaction is valid), so locking or unlocking changes the root.
//!
//! Security assumptions — read before relying on the root:
//! - The root is a *consistency check between honest replicas*: validators that applied the same
//!   blocks compare roots to detect divergence, bugs and corruption. For that, any change to an
//!   entry changes the root except with probability about 2^-256.
//! - It is NOT a cryptographic commitment against an adversary who chooses entries. An additive
//!   hash mod 2^256 falls to Wagner's generalized birthday (k-tree) attack: roughly 2^32 work with
//!   2^15 lists finds a different multiset with the same sum. So the root must not authenticate
//!   state received from an untrusted party (e.g. a snapshot fetched from a peer and checked
//!   against a root anchored in a Micro State Block). Before Micro State Blocks are used for that,
//!   replace this with a commitment secure against chosen entries: a Merkle structure (which also
//!   gives the membership proofs this root cannot), or a wide multiset hash (ECMH over Ristretto,
//!   or LtHash-style lattice sums of ≥ 16 kbit). The versioned domain tags allow the migration.
//! - Neither does the root support membership or non-membership proofs; light clients will need
//!   the Merkle structure.

use sha2::{Digest, Sha512};

use super::set::Entry;
use crate::tx::OutPoint;

/// Domain tag of a leaf preimage (no other iosv tag is a prefix of it, or it of them).
pub const LEAF_DOMAIN: &[u8] = crate::domain::UTXO_LEAF;

/// Domain tag of the root preimage.
pub const ROOT_DOMAIN: &[u8] = crate::domain::UTXO_ROOT;

/// A leaf as four little-endian 64-bit limbs of a 256-bit integer.
pub(crate) type Leaf = [u64; 4];

/// The leaf of one entry, as bytes (see the module documentation).
pub fn leaf_hash(outpoint: &OutPoint, entry: &Entry) -> [u8; 32] {
    let mut hasher = Sha512::new();
    hasher.update(LEAF_DOMAIN);
    hasher.update(outpoint.txid.0);
    hasher.update(outpoint.index.to_le_bytes());
    hasher.update(entry.output.amount.to_le_bytes());
    hasher.update(entry.output.owner);
    match entry.locked_by {
        None => hasher.update([0u8]),
        Some(lock_id) => {
            hasher.update([1u8]);
            hasher.update(lock_id.0);
        }
    }
    let digest = hasher.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest[..32]);
    out
}

pub(crate) fn leaf(outpoint: &OutPoint, entry: &Entry) -> Leaf {
    let bytes = leaf_hash(outpoint, entry);
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

/// A sum of leaves mod 2^256 and their number. Only ever changed by whole entries, so `count`
/// cannot underflow in correct use; it wraps rather than panics if it ever did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Accumulator {
    sum: [u64; 4],
    count: u64,
}

impl Accumulator {
    pub(crate) fn insert(&mut self, leaf: &Leaf) {
        add_assign(&mut self.sum, leaf);
        self.count = self.count.wrapping_add(1);
    }

    pub(crate) fn remove(&mut self, leaf: &Leaf) {
        sub_assign(&mut self.sum, leaf);
        debug_assert!(self.count > 0, "removed an entry from an empty accumulator");
        self.count = self.count.wrapping_sub(1);
    }

    /// Adds another accumulator's entries (a shard's partial sum) to this one.
    pub(crate) fn merge(&mut self, other: &Accumulator) {
        add_assign(&mut self.sum, &other.sum);
        self.count = self.count.wrapping_add(other.count);
    }

    pub(crate) fn root(&self) -> [u8; 32] {
        let mut hasher = Sha512::new();
        hasher.update(ROOT_DOMAIN);
        hasher.update(self.count.to_le_bytes());
        for limb in self.sum {
            hasher.update(limb.to_le_bytes());
        }
        let digest = hasher.finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest[..32]);
        out
    }
}

fn add_assign(a: &mut [u64; 4], b: &[u64; 4]) {
    let mut carry = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (s1, c1) = x.overflowing_add(*y);
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *x = s2;
        carry = c1 | c2;
    }
}

fn sub_assign(a: &mut [u64; 4], b: &[u64; 4]) {
    let mut borrow = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 | b2;
    }
}

/// The root of a set given as its entries, computed from scratch: the reference the incremental
/// [`UtxoSet::consistency_digest`](super::UtxoSet::consistency_digest) must always equal. Entries must be distinct outpoints.
pub fn state_root_of<'a>(entries: impl IntoIterator<Item = (&'a OutPoint, &'a Entry)>) -> [u8; 32] {
    let mut acc = Accumulator::default();
    for (outpoint, entry) in entries {
        acc.insert(&leaf(outpoint, entry));
    }
    acc.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{TxId, TxOutput};
    use crate::utxo::LockId;

    fn entry(amount: u64, owner: u8, lock: Option<u8>) -> Entry {
        Entry {
            output: TxOutput {
                amount,
                owner: [owner; 32],
            },
            locked_by: lock.map(|l| LockId([l; 32])),
        }
    }

    fn op(n: u8, index: u32) -> OutPoint {
        OutPoint {
            txid: TxId([n; 32]),
            index,
        }
    }

    #[test]
    fn carries_and_borrows_propagate_across_limbs() {
        let mut a = [u64::MAX, u64::MAX, u64::MAX, 5];
        add_assign(&mut a, &[1, 0, 0, 0]);
        assert_eq!(a, [0, 0, 0, 6]);
        sub_assign(&mut a, &[1, 0, 0, 0]);
        assert_eq!(a, [u64::MAX, u64::MAX, u64::MAX, 5]);
        let mut top = [0, 0, 0, u64::MAX];
        add_assign(&mut top, &[0, 0, 0, 1]);
        assert_eq!(top, [0; 4], "the sum is mod 2^256");
        sub_assign(&mut top, &[1, 0, 0, 0]);
        assert_eq!(top, [u64::MAX; 4]);
    }

    #[test]
    fn remove_undoes_insert_in_any_order() {
        let leaves: Vec<Leaf> = (0..20)
            .map(|i| leaf(&op(i, 0), &entry(1, i, None)))
            .collect();
        let mut forward = Accumulator::default();
        leaves.iter().for_each(|l| forward.insert(l));
        let mut backward = Accumulator::default();
        leaves.iter().rev().for_each(|l| backward.insert(l));
        assert_eq!(forward, backward);
        for l in leaves.iter().step_by(2) {
            forward.remove(l);
        }
        let mut odd = Accumulator::default();
        leaves.iter().skip(1).step_by(2).for_each(|l| odd.insert(l));
        assert_eq!(forward, odd);
    }

    #[test]
    fn leaf_matches_its_documented_preimage() {
        let o = op(3, 7);
        let e = entry(1000, 9, Some(4));
        let mut preimage = LEAF_DOMAIN.to_vec();
        preimage.extend([3u8; 32]);
        preimage.extend(7u32.to_le_bytes());
        preimage.extend(1000u64.to_le_bytes());
        preimage.extend([9u8; 32]);
        preimage.push(1);
        preimage.extend([4u8; 32]);
        assert_eq!(leaf_hash(&o, &e)[..], Sha512::digest(&preimage)[..32]);
    }

    #[test]
    fn every_field_and_the_lock_state_change_the_leaf() {
        let base = leaf_hash(&op(1, 1), &entry(5, 2, None));
        assert_ne!(base, leaf_hash(&op(2, 1), &entry(5, 2, None)));
        assert_ne!(base, leaf_hash(&op(1, 2), &entry(5, 2, None)));
        assert_ne!(base, leaf_hash(&op(1, 1), &entry(6, 2, None)));
        assert_ne!(base, leaf_hash(&op(1, 1), &entry(5, 3, None)));
        let locked = leaf_hash(&op(1, 1), &entry(5, 2, Some(0)));
        assert_ne!(base, locked, "locking with an all-zero id still differs");
        assert_ne!(locked, leaf_hash(&op(1, 1), &entry(5, 2, Some(1))));
    }

    #[test]
    fn root_commits_to_count_and_sum() {
        let empty = Accumulator::default().root();
        let mut preimage = ROOT_DOMAIN.to_vec();
        preimage.extend([0u8; 40]);
        assert_eq!(empty[..], Sha512::digest(&preimage)[..32]);

        let o = op(1, 0);
        let e = entry(1, 1, None);
        assert_eq!(state_root_of([(&o, &e)]), {
            let mut acc = Accumulator::default();
            acc.insert(&leaf(&o, &e));
            acc.root()
        });
        assert_ne!(state_root_of([(&o, &e)]), empty);
    }
}
