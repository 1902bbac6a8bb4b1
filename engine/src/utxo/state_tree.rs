//! The proof-capable state commitment: a fixed-depth Merkle tree over [`BUCKETS`] buckets of
//! entries, with membership and non-membership proofs ([`BucketProof`]).
//!
//! Construction:
//! - an outpoint's bucket is [`bucket_of`]: the txid's first two bytes offset by a multiple of the
//!   output index (txids are hash outputs, so buckets fill evenly);
//! - a bucket's leaf is `SHA-256(BUCKET_LEAF_DOMAIN ‖ count u32 LE ‖ leaf_1 ‖ … ‖ leaf_count)` over
//!   its entries in increasing outpoint order, where `leaf_i` is the entry hash of the additive
//!   commitment ([`leaf_hash`](super::leaf_hash): outpoint, amount, owner and lock state);
//! - inner nodes are [`node_hash`]: one SHA-256 *compression* of `left ‖ right` (exactly one
//!   64-byte block, no padding) from the initial state [`NODE_IV`] = the SHA-256 of
//!   [`NODE_IV_DOMAIN`] (as eight big-endian words); the root is the top node. The inputs have a
//!   fixed length, so the Merkle–Damgård padding adds nothing, and the IV separates node hashes
//!   from every full SHA-256 (bucket leaves, entries); finding two different children pairs with
//!   one parent is a collision of SHA-256's compression function, which SHA-256's own collision
//!   resistance already assumes. RFC 6962's prefixed node (65 bytes) costs two compressions, and
//!   inner nodes are most of the cost of keeping the root current (`perf-reports/demo.md`). An empty bucket has the leaf of zero entries, so the empty tree's
//!   nodes are a constant per level.
//!
//! Why buckets rather than a sparse Merkle tree with one leaf per entry: a proof is the bucket's
//! entries plus [`BUCKET_BITS`] siblings — a few KiB at tens of millions of entries — and it proves
//! absence as simply as presence (the outpoint is not among its bucket's entries), while an update
//! costs one sorted insert and, when the root is next asked for, one bucket hash plus the dirty
//! path, shared between updates. The verifier checks that the listed entries are sorted, distinct
//! and all in the bucket, so a prover can neither hide an entry nor add one.
//!
//! Unlike the additive consistency digest ([`UtxoSet::consistency_digest`]), this commitment is binding against an adversary who
//! chooses entries (it rests on SHA-256 collision resistance only), so it is what block headers,
//! fraud proofs and Micro State Blocks anchor. It is kept beside the set by whoever needs it
//! ([`StateTree::from_set`], then the same changes the set applies), so the pipeline's commit path
//! does not pay for it.

use std::time::Duration;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{Entry, LockId, UtxoSet, leaf_hash};
use crate::merkle::{Hash, hex_hashes};
use crate::platform::CpuStopwatch;
use crate::tx::{OutPoint, Transaction, TxId, TxOutput};

/// Depth of the tree: log2 of the bucket count. 2^16 buckets keep proofs near 1–2 KiB for a few
/// million entries and the whole node array at 4 MiB.
pub const BUCKET_BITS: u32 = 16;

/// Number of buckets (leaves of the tree).
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// Domain tag of a bucket's leaf.
pub const BUCKET_LEAF_DOMAIN: &[u8] = crate::domain::STATE_BUCKET;

/// The bucket that holds `outpoint`: the first two bytes of its txid, plus its output index times
/// an odd constant near 2^16/φ (so a transaction's outputs land in different buckets), mod 2^16.
///
/// Txids are SHA-512 outputs, so buckets fill evenly without another hash; hashing again would not
/// stop an adversary from grinding many outputs into one bucket either (16 bits take ~2^16 tries
/// whatever the hash). Such a bucket only makes its own proofs larger and its rehash slower.
pub fn bucket_of(outpoint: &OutPoint) -> usize {
    let prefix = u32::from(outpoint.txid.0[0]) << 8 | u32::from(outpoint.txid.0[1]);
    let mixed = prefix.wrapping_add(outpoint.index.wrapping_mul(BUCKET_INDEX_STRIDE));
    (mixed as usize) & (BUCKETS - 1)
}

const _: () = assert!(BUCKET_BITS <= 16, "bucket_of draws on 16 bits of the txid");

/// Domain string whose SHA-256 is the inner nodes' initial state.
pub const NODE_IV_DOMAIN: &[u8] = crate::domain::STATE_NODE_IV;

/// The initial SHA-256 state of inner-node hashing: SHA-256([`NODE_IV_DOMAIN`]) as eight
/// big-endian words.
pub static NODE_IV: std::sync::LazyLock<[u32; 8]> = std::sync::LazyLock::new(|| {
    let digest: [u8; 32] = Sha256::digest(NODE_IV_DOMAIN).into();
    std::array::from_fn(|i| {
        u32::from_be_bytes(digest[4 * i..4 * i + 4].try_into().expect("4 bytes"))
    })
});

/// An inner node over its two children: one SHA-256 compression of `left ‖ right` from
/// [`NODE_IV`] (see the module documentation), the state written big-endian.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(left);
    block[32..].copy_from_slice(right);
    compress(*NODE_IV, &block)
}

/// One SHA-256 compression of `block` from `state`, the result written big-endian.
fn compress(mut state: [u32; 8], block: &[u8; 64]) -> Hash {
    sha2::block_api::compress256(&mut state, &[*block]);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Odd multiplier of the output index in [`bucket_of`] (⌊2^16 / φ⌋ rounded to odd).
const BUCKET_INDEX_STRIDE: u32 = 40_503;

/// The leaf of a bucket holding `entries` (sorted by outpoint).
pub fn bucket_hash(entries: &[(OutPoint, Entry)]) -> Hash {
    bucket_hash_of_leaves(entries.iter().map(|(o, e)| leaf_hash(o, e)), entries.len())
}

fn bucket_hash_of_leaves(leaves: impl Iterator<Item = Hash>, count: usize) -> Hash {
    let mut h = Sha256::new();
    h.update(BUCKET_LEAF_DOMAIN);
    h.update(u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
    for leaf in leaves {
        h.update(leaf);
    }
    h.finalize().into()
}

/// Levels of subtrees [`StateTree::refresh`] rehashes in parallel: 2^6 = 64 subtrees of 1,024
/// buckets each, enough tasks to spread over 64 cores, few enough that the top levels left to one
/// thread are 63 nodes.
const SUBTREE_BITS: u32 = 6;

/// Fewer changed buckets than this are rehashed on the calling thread: below it, splitting the
/// node array and handing out tasks costs about what it spreads (a few microseconds).
const PARALLEL_REFRESH_MIN_BUCKETS: usize = 256;

/// Rehashes the nodes above `level` (heap indices at one depth, sorted and distinct) up to and
/// including node `top`'s depth, from their (current) children.
fn rehash_upwards(nodes: &mut [Hash], mut level: Vec<usize>, top: usize) {
    while level.first().is_some_and(|&i| i > top) {
        for i in &mut level {
            *i /= 2;
        }
        level.dedup();
        for &i in &level {
            nodes[i] = node_hash(&nodes[2 * i], &nodes[2 * i + 1]);
        }
    }
}

/// An entry of a bucket with its entry hash, computed once when the entry is stored (it is the
/// costly part of rehashing a bucket: one SHA-512 per entry against a few SHA-256 blocks).
#[derive(Clone, Copy)]
struct Slot {
    outpoint: OutPoint,
    entry: Entry,
    leaf: Hash,
}

impl Slot {
    fn new(outpoint: OutPoint, entry: Entry) -> Slot {
        Slot {
            outpoint,
            entry,
            leaf: leaf_hash(&outpoint, &entry),
        }
    }
}

/// The leaf of a stored bucket, from the entry hashes kept in its slots.
fn stored_bucket_hash(bucket: &[Slot]) -> Hash {
    bucket_hash_of_leaves(bucket.iter().map(|s| s.leaf), bucket.len())
}

/// Why a change to the tree was refused (nothing was changed).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StateTreeError {
    #[error("outpoint {0} is already in the state tree")]
    Exists(OutPoint),
    #[error("outpoint {0} is not in the state tree")]
    Missing(OutPoint),
}

/// Why a [`BucketProof`] does not prove anything about an outpoint under a root.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StateProofError {
    #[error("the proof is for bucket {found}, but the outpoint lives in bucket {expected}")]
    WrongBucket { expected: usize, found: u32 },
    #[error("the proof has {found} siblings; the tree has depth {BUCKET_BITS}")]
    PathLength { found: usize },
    #[error("entry {index} of the proof is not after the previous one (unsorted or duplicate)")]
    Unsorted { index: usize },
    #[error("entry {index} of the proof does not belong to the proof's bucket")]
    ForeignEntry { index: usize },
    #[error("the proof does not lead to the committed state root")]
    RootMismatch,
}

/// All entries of one bucket and the sibling hashes from that bucket's leaf to the root: proves
/// the presence (with its entry) or the absence of any outpoint of the bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketProof {
    pub bucket: u32,
    pub entries: Vec<(OutPoint, Entry)>,
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

impl BucketProof {
    /// Checks the proof against `root` and returns `outpoint`'s entry in the committed state, or
    /// `None` if the committed state does not hold it.
    pub fn verify(
        &self,
        root: &Hash,
        outpoint: &OutPoint,
    ) -> Result<Option<Entry>, StateProofError> {
        let expected = bucket_of(outpoint);
        if self.bucket as usize != expected {
            return Err(StateProofError::WrongBucket {
                expected,
                found: self.bucket,
            });
        }
        if self.path.len() != BUCKET_BITS as usize {
            return Err(StateProofError::PathLength {
                found: self.path.len(),
            });
        }
        for (index, (o, _)) in self.entries.iter().enumerate() {
            if index > 0 && self.entries[index - 1].0 >= *o {
                return Err(StateProofError::Unsorted { index });
            }
            if bucket_of(o) != expected {
                return Err(StateProofError::ForeignEntry { index });
            }
        }
        let mut node = bucket_hash(&self.entries);
        let mut position = BUCKETS + expected;
        for sibling in &self.path {
            node = if position & 1 == 0 {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
            position >>= 1;
        }
        if &node != root {
            return Err(StateProofError::RootMismatch);
        }
        Ok(self
            .entries
            .binary_search_by(|(o, _)| o.cmp(outpoint))
            .ok()
            .map(|i| self.entries[i].1))
    }
}

/// The bucketed Merkle tree over a UTXO state. See the module documentation.
#[derive(Clone)]
pub struct StateTree {
    /// Entries of each bucket, sorted by outpoint.
    buckets: Vec<Vec<Slot>>,
    /// Heap layout: node 1 is the root, node `i` has children `2i` and `2i + 1`, bucket `b`'s leaf
    /// is node `BUCKETS + b`. Exact for every bucket not in `dirty`.
    nodes: Vec<Hash>,
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
    len: usize,
    /// CPU time the parallel rehash's tasks spent since [`StateTree::take_task_cpu`] was last
    /// called (thread CPU of each task, on whichever pool thread ran it).
    task_cpu: Duration,
}

impl Default for StateTree {
    fn default() -> Self {
        StateTree::new()
    }
}

impl std::fmt::Debug for StateTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateTree")
            .field("len", &self.len)
            .field("dirty_buckets", &self.dirty.len())
            .finish_non_exhaustive()
    }
}

impl StateTree {
    /// The tree of the empty state.
    pub fn new() -> StateTree {
        let mut nodes = vec![[0u8; 32]; 2 * BUCKETS];
        let mut level_hash = bucket_hash(&[]);
        let mut width = BUCKETS;
        while width >= 1 {
            nodes[width..2 * width].fill(level_hash);
            level_hash = node_hash(&level_hash, &level_hash);
            width /= 2;
        }
        StateTree {
            buckets: vec![Vec::new(); BUCKETS],
            nodes,
            dirty: Vec::new(),
            is_dirty: vec![false; BUCKETS],
            len: 0,
            task_cpu: Duration::ZERO,
        }
    }

    /// The tree of `entries` (in any order; a repeated outpoint is refused).
    pub fn from_entries(
        entries: impl IntoIterator<Item = (OutPoint, Entry)>,
    ) -> Result<StateTree, StateTreeError> {
        // Entry hashes in parallel, then one sort by (bucket, outpoint) places every entry.
        let entries: Vec<(OutPoint, Entry)> = entries.into_iter().collect();
        let mut slots: Vec<(usize, Slot)> = entries
            .par_iter()
            .map(|&(o, e)| (bucket_of(&o), Slot::new(o, e)))
            .collect();
        slots.par_sort_unstable_by(|a, b| (a.0, a.1.outpoint).cmp(&(b.0, b.1.outpoint)));
        if let Some(w) = slots
            .windows(2)
            .find(|w| w[0].1.outpoint == w[1].1.outpoint)
        {
            return Err(StateTreeError::Exists(w[0].1.outpoint));
        }
        let mut tree = StateTree::new();
        tree.len = slots.len();
        for (b, slot) in slots {
            tree.buckets[b].push(slot);
            tree.touch(b);
        }
        Ok(tree)
    }

    /// The tree of `set`'s current entries.
    pub fn from_set(set: &UtxoSet) -> StateTree {
        StateTree::from_entries(set.entries()).expect("a UTXO set holds each outpoint once")
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, outpoint: &OutPoint) -> Option<Entry> {
        let bucket = &self.buckets[bucket_of(outpoint)];
        let i = bucket.binary_search_by(|s| s.outpoint.cmp(outpoint)).ok()?;
        Some(bucket[i].entry)
    }

    fn touch(&mut self, b: usize) {
        if !self.is_dirty[b] {
            self.is_dirty[b] = true;
            self.dirty.push(b);
        }
    }

    pub fn insert(&mut self, outpoint: OutPoint, entry: Entry) -> Result<(), StateTreeError> {
        let b = bucket_of(&outpoint);
        let bucket = &mut self.buckets[b];
        match bucket.binary_search_by(|s| s.outpoint.cmp(&outpoint)) {
            Ok(_) => return Err(StateTreeError::Exists(outpoint)),
            Err(i) => bucket.insert(i, Slot::new(outpoint, entry)),
        }
        self.len += 1;
        self.touch(b);
        Ok(())
    }

    pub fn remove(&mut self, outpoint: &OutPoint) -> Option<Entry> {
        let b = bucket_of(outpoint);
        let bucket = &mut self.buckets[b];
        let i = bucket.binary_search_by(|s| s.outpoint.cmp(outpoint)).ok()?;
        let slot = bucket.remove(i);
        self.len -= 1;
        self.touch(b);
        Some(slot.entry)
    }

    /// Sets the lock state of an existing entry.
    pub fn set_lock(
        &mut self,
        outpoint: &OutPoint,
        locked_by: Option<LockId>,
    ) -> Result<(), StateTreeError> {
        let b = bucket_of(outpoint);
        let bucket = &mut self.buckets[b];
        let i = bucket
            .binary_search_by(|s| s.outpoint.cmp(outpoint))
            .map_err(|_| StateTreeError::Missing(*outpoint))?;
        let mut entry = bucket[i].entry;
        entry.locked_by = locked_by;
        bucket[i] = Slot::new(*outpoint, entry);
        self.touch(b);
        Ok(())
    }

    /// Applies a transaction already judged valid: removes the outputs it spends and adds the ones
    /// it creates (unlocked). All or nothing: a missing input or an existing output changes nothing.
    pub fn apply_transaction(&mut self, tx: &Transaction) -> Result<(), StateTreeError> {
        self.apply_transaction_with_txid(tx, tx.txid())
    }

    /// [`StateTree::apply_transaction`] for a caller that already has the txid (`tx.txid()`,
    /// checked in debug builds).
    pub fn apply_transaction_with_txid(
        &mut self,
        tx: &Transaction,
        txid: TxId,
    ) -> Result<(), StateTreeError> {
        debug_assert_eq!(tx.txid(), txid, "the txid must be the transaction's own");
        if let Some(missing) = tx.inputs.iter().find(|i| self.get(&i.prev).is_none()) {
            return Err(StateTreeError::Missing(missing.prev));
        }
        let created = |(index, output): (usize, &TxOutput)| {
            let index = u32::try_from(index).expect("output counts fit in u32");
            (OutPoint { txid, index }, Entry::unlocked(*output))
        };
        if let Some((o, _)) = tx
            .outputs
            .iter()
            .enumerate()
            .map(created)
            .find(|(o, _)| self.get(o).is_some() && !tx.inputs.iter().any(|i| i.prev == *o))
        {
            return Err(StateTreeError::Exists(o));
        }
        for input in &tx.inputs {
            self.remove(&input.prev);
        }
        for (outpoint, entry) in tx.outputs.iter().enumerate().map(created) {
            self.insert(outpoint, entry)?;
        }
        Ok(())
    }

    /// Rehashes the buckets changed since the last call and the paths above them: per subtree in
    /// parallel when enough buckets changed ([`StateTree::refresh_by_subtree`]), else on this
    /// thread. Both give the same nodes (tested against a root computed from scratch).
    fn refresh(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let mut changed = std::mem::take(&mut self.dirty);
        changed.sort_unstable();
        for &b in &changed {
            self.is_dirty[b] = false;
        }
        if changed.len() >= PARALLEL_REFRESH_MIN_BUCKETS {
            self.refresh_by_subtree(&changed);
        } else {
            self.refresh_serially(&changed);
        }
    }

    /// Each changed bucket's leaf, then every node above the changed leaves, level by level.
    fn refresh_serially(&mut self, changed: &[usize]) {
        let mut level: Vec<usize> = Vec::with_capacity(changed.len());
        for &b in changed {
            self.nodes[BUCKETS + b] = stored_bucket_hash(&self.buckets[b]);
            level.push(BUCKETS + b);
        }
        rehash_upwards(&mut self.nodes, level, 1);
    }

    /// The tree below its top [`SUBTREE_BITS`] levels is 2^SUBTREE_BITS subtrees with disjoint
    /// nodes: each subtree with a changed bucket rehashes its buckets and its dirty paths on a
    /// rayon task (each task gets mutable slices of its own nodes only, level by level, so the
    /// tasks cannot touch each other's nodes); then the top levels above the changed subtrees'
    /// roots (at most 2^SUBTREE_BITS - 1 nodes) on this thread. Until this, the whole path part
    /// was serial: ~16,000 compressions for a block of a thousand transactions.
    fn refresh_by_subtree(&mut self, changed: &[usize]) {
        const LEAF_DEPTH: usize = (BUCKET_BITS - SUBTREE_BITS) as usize;
        let subtrees = 1usize << SUBTREE_BITS;
        let StateTree {
            buckets,
            nodes,
            task_cpu,
            ..
        } = self;
        // levels[t][d]: subtree t's nodes at depth d below its root (2^d of them).
        let mut levels: Vec<Vec<&mut [Hash]>> = (0..subtrees)
            .map(|_| Vec::with_capacity(LEAF_DEPTH + 1))
            .collect();
        let (_top, mut rest) = nodes.split_at_mut(subtrees);
        for depth in 0..=LEAF_DEPTH {
            let (this_level, below) = std::mem::take(&mut rest).split_at_mut(subtrees << depth);
            for (t, chunk) in this_level.chunks_mut(1 << depth).enumerate() {
                levels[t].push(chunk);
            }
            rest = below;
        }
        let mut work: Vec<(Vec<&mut [Hash]>, &[usize])> = Vec::new();
        let mut from = 0;
        for (t, subtree) in levels.into_iter().enumerate() {
            let end = from + changed[from..].partition_point(|&b| b >> LEAF_DEPTH == t);
            if end > from {
                work.push((subtree, &changed[from..end]));
            }
            from = end;
        }
        let buckets: &[Vec<Slot>] = buckets;
        let spent: Duration = work
            .into_par_iter()
            .map(|(mut subtree, changed)| {
                let cpu = CpuStopwatch::start();
                let first = changed[0] >> LEAF_DEPTH << LEAF_DEPTH;
                let mut level: Vec<usize> = Vec::with_capacity(changed.len());
                for &b in changed {
                    subtree[LEAF_DEPTH][b - first] = stored_bucket_hash(&buckets[b]);
                    level.push(b - first);
                }
                for depth in (0..LEAF_DEPTH).rev() {
                    for i in &mut level {
                        *i /= 2;
                    }
                    level.dedup();
                    let (upper, lower) = subtree.split_at_mut(depth + 1);
                    let (parents, children) = (&mut upper[depth], &lower[0]);
                    for &i in &level {
                        parents[i] = node_hash(&children[2 * i], &children[2 * i + 1]);
                    }
                }
                cpu.elapsed()
            })
            .sum();
        *task_cpu += spent;
        let mut roots: Vec<usize> = changed
            .iter()
            .map(|&b| subtrees + (b >> LEAF_DEPTH))
            .collect();
        roots.dedup();
        rehash_upwards(nodes, roots, 1);
    }

    /// CPU time the rehash's parallel tasks spent since the last call, and a fresh count: a
    /// caller that times its own thread adds this for the work its calls handed to the pool
    /// (when the caller is itself a pool thread, a task it ran is in both).
    pub fn take_task_cpu(&mut self) -> Duration {
        std::mem::take(&mut self.task_cpu)
    }

    /// The root: equal for equal sets of `(outpoint, entry)`, whatever the order of changes.
    pub fn root(&mut self) -> Hash {
        self.refresh();
        self.nodes[1]
    }

    /// A proof of `outpoint`'s entry, or of its absence, against [`StateTree::root`].
    pub fn prove(&mut self, outpoint: &OutPoint) -> BucketProof {
        self.refresh();
        let b = bucket_of(outpoint);
        let mut path = Vec::with_capacity(BUCKET_BITS as usize);
        let mut position = BUCKETS + b;
        while position > 1 {
            path.push(self.nodes[position ^ 1]);
            position /= 2;
        }
        BucketProof {
            bucket: u32::try_from(b).expect("bucket indices fit in u32"),
            entries: self.buckets[b]
                .iter()
                .map(|s| (s.outpoint, s.entry))
                .collect(),
            path,
        }
    }
}

#[cfg(test)]
#[path = "state_tree_tests.rs"]
mod tests;
