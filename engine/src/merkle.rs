//! Binary Merkle trees over SHA-256 in the shape of RFC 6962 / RFC 9162 (Certificate Transparency),
//! with inclusion proofs.
//!
//! `leaf hash = SHA-256(0x00 ‖ data)`, `node = SHA-256(0x01 ‖ left ‖ right)`. A tree over `n > 1`
//! leaves splits at the largest power of two `k < n`: `MTH(D[0..n]) = node(MTH(D[0..k]),
//! MTH(D[k..n]))`. Built bottom-up this is the same as pairing each level left to right and carrying
//! an unpaired last node up unchanged, which is how [`root`] and [`prove`] compute it. The empty tree's
//! root is `SHA-256()` of nothing, as in RFC 9162.
//!
//! Invariants that make a proof binding: the leaf and node prefixes differ, so a leaf can never be
//! read as an inner node (no second-preimage trick); verification is RFC 9162 §2.1.3.2's algorithm,
//! which fixes the path length from `(index, tree_size)` and so refuses a proof for a different
//! position or tree size. Callers commit to the tree size next to the root (block headers carry
//! `tx_count`).
//!
//! Why our own: the structure is consensus-critical (the root sits in signed block headers and fraud
//! proofs), so its exact bytes are specified here and pinned by tests, rather than by a crate's
//! internals; it is a few dozen lines.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest: leaf hashes, inner nodes and roots.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The leaf hash of `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// The inner node over two children.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the tree whose leaf hashes are `leaves` (already hashed with [`leaf_hash`]).
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = parent_level(&level);
    }
    level[0]
}

fn parent_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => node_hash(l, r),
            [single] => *single,
            _ => unreachable!("chunks(2) yields one or two items"),
        })
        .collect()
}

/// A proof that a leaf sits at `index` of a tree of `tree_size` leaves: the sibling hashes from
/// the leaf up (RFC 9162's audit path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// The inclusion proof of leaf `index`, or `None` when `index` is out of range.
pub fn prove(leaves: &[Hash], index: usize) -> Option<InclusionProof> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            path.push(level[sibling]);
        }
        level = parent_level(&level);
        i /= 2;
    }
    Some(InclusionProof {
        index: index as u64,
        tree_size: leaves.len() as u64,
        path,
    })
}

impl InclusionProof {
    /// The root that `leaf` (a leaf hash) and this path lead to, or `None` when the path does not
    /// fit `(index, tree_size)` (RFC 9162 §2.1.3.2). Compare the result with the committed root.
    pub fn root_from(&self, leaf: &Hash) -> Option<Hash> {
        if self.index >= self.tree_size {
            return None;
        }
        let mut fnode = self.index;
        let mut snode = self.tree_size - 1;
        let mut r = *leaf;
        for p in &self.path {
            if snode == 0 {
                return None;
            }
            if fnode & 1 == 1 || fnode == snode {
                r = node_hash(p, &r);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        (snode == 0).then_some(r)
    }

    /// Whether `leaf` sits at this proof's position in the tree with root `root`.
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> bool {
        self.root_from(leaf).is_some_and(|r| &r == root)
    }
}

pub(crate) use crate::hex_serde::bytes32_list as hex_hashes;

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u32).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    /// RFC 6962's recursive definition, to check the bottom-up construction against.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn root_matches_the_recursive_definition() {
        for n in 0..70 {
            assert_eq!(root(&leaves(n)), reference_root(&leaves(n)), "n = {n}");
        }
    }

    #[test]
    fn every_proof_verifies_and_only_at_its_own_position() {
        for n in 1..40 {
            let ls = leaves(n);
            let r = root(&ls);
            for i in 0..n {
                let p = prove(&ls, i).unwrap();
                assert!(p.verify(&ls[i], &r), "n = {n}, i = {i}");
                let other = (i + 1) % n;
                if other != i {
                    assert!(!p.verify(&ls[other], &r), "wrong leaf accepted");
                    let moved = InclusionProof {
                        index: other as u64,
                        ..p.clone()
                    };
                    assert!(
                        !moved.verify(&ls[i], &r),
                        "wrong index accepted n={n} i={i}"
                    );
                }
                // The tree size is not authenticated by the path (leaf 0 of 5 and of 6 leaves have
                // paths of equal length): it must come from a signed source, as `tx_count` does.
                let mut short = p.clone();
                if short.path.pop().is_some() {
                    assert!(!short.verify(&ls[i], &r), "truncated path accepted");
                }
            }
            assert!(prove(&ls, n).is_none());
        }
    }

    #[test]
    fn a_leaf_cannot_pose_as_an_inner_node() {
        let ls = leaves(4);
        let inner = node_hash(&ls[0], &ls[1]);
        let r = root(&ls);
        let fake = InclusionProof {
            index: 0,
            tree_size: 2,
            path: vec![node_hash(&ls[2], &ls[3])],
        };
        assert!(
            fake.verify(&inner, &r),
            "the raw node does lead to the root..."
        );
        assert_ne!(
            leaf_hash(&inner),
            inner,
            "...but no data hashes to it as a leaf"
        );
    }

    #[test]
    fn proofs_round_trip_through_json() {
        let ls = leaves(9);
        let p = prove(&ls, 5).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), p);
    }
}
