//! The set itself: shards of entries, each with its partial state commitment, behind a set-wide
//! reader/writer gate that also guards the lock table.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::LockId;
use super::commitment::{Accumulator, leaf};
use super::error::UtxoError;
use super::lock::LockTable;
use crate::tx::{OutPoint, TxOutput, TxStructureError};

/// Shards of [`UtxoSet::new`]: several times the core count of the machines iosv targets (up to
/// ~32 cores), so a parallel apply spreads evenly; an empty shard costs a few hundred bytes.
pub const DEFAULT_SHARDS: usize = 64;

/// Most shards a set may have (a power of two).
pub const MAX_SHARDS: usize = 1 << 16;

/// Fewest leaf updates for which a block is applied on several threads. A leaf costs about 0.4 µs
/// (one SHA-512 block, measured on the 2-core development machine) and spawning plus joining a
/// scoped thread tens of µs, so below this the threads would cost more than they save. Rough, not
/// tuned.
const PARALLEL_APPLY_MIN: usize = 1024;

/// Fewest lookups for which a batch's entries are read on several threads. A lookup costs a few
/// hundred ns on a large set (cache misses); below this the scoped threads would cost more than
/// they save. Rough, not tuned.
const PARALLEL_LOOKUP_MIN: usize = 512;

/// Most threads a parallel apply or lookup uses, unless [`UtxoSet::with_threads`] says otherwise.
const MAX_APPLY_THREADS: usize = 16;

/// One unspent output and its lock state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub output: TxOutput,
    /// The cross-shard commit holding this output, if any; a locked output cannot be spent by an
    /// ordinary transaction.
    pub locked_by: Option<LockId>,
}

impl Entry {
    pub fn unlocked(output: TxOutput) -> Entry {
        Entry {
            output,
            locked_by: None,
        }
    }
}

/// A shard's entries and the accumulator of exactly those entries.
#[derive(Default)]
pub(crate) struct Shard {
    pub(crate) map: HashMap<OutPoint, Entry>,
    pub(crate) acc: Accumulator,
}

impl Shard {
    pub(crate) fn insert(&mut self, outpoint: OutPoint, entry: Entry) {
        self.acc.insert(&leaf(&outpoint, &entry));
        let old = self.map.insert(outpoint, entry);
        debug_assert!(old.is_none(), "insert over an existing entry {outpoint}");
    }

    pub(crate) fn remove(&mut self, outpoint: &OutPoint) -> Option<Entry> {
        let entry = self.map.remove(outpoint)?;
        self.acc.remove(&leaf(outpoint, &entry));
        Some(entry)
    }

    /// Sets the lock state of an existing entry; returns false if there is none.
    pub(crate) fn set_lock(&mut self, outpoint: &OutPoint, locked_by: Option<LockId>) -> bool {
        let Some(entry) = self.map.get_mut(outpoint) else {
            return false;
        };
        self.acc.remove(&leaf(outpoint, entry));
        entry.locked_by = locked_by;
        self.acc.insert(&leaf(outpoint, entry));
        true
    }
}

/// Removals and insertions for one shard; removals are applied first.
#[derive(Default)]
struct ShardChanges {
    remove: Vec<OutPoint>,
    insert: Vec<(OutPoint, Entry)>,
}

/// The UTXO set. See the [module documentation](super) for the rules and invariants.
///
/// Every method takes `&self`: share the set between threads with an `Arc`.
pub struct UtxoSet {
    shards: Box<[RwLock<Shard>]>,
    /// log2 of the shard count.
    shard_bits: u32,
    /// Held shared by readers (validation, root, snapshot) and exclusively by every mutation, so a
    /// reader never sees half a block; it also guards the lock table.
    gate: RwLock<LockTable>,
    apply_threads: usize,
}

impl Default for UtxoSet {
    fn default() -> Self {
        UtxoSet::new()
    }
}

impl fmt::Debug for UtxoSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UtxoSet")
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Locks that are poisoned mean a panic in the middle of a mutation, after which the set may be
/// inconsistent: refuse to go on rather than serve a wrong state or root.
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(|_| panic!("UTXO set lock poisoned by an earlier panic"))
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|_| panic!("UTXO set lock poisoned by an earlier panic"))
}

impl UtxoSet {
    /// An empty set with [`DEFAULT_SHARDS`] shards.
    pub fn new() -> UtxoSet {
        UtxoSet::with_shards(DEFAULT_SHARDS)
    }

    /// An empty set with `shards` shards. The shard count changes neither verdicts nor the root.
    ///
    /// # Panics
    /// If `shards` is not a power of two in `1..=MAX_SHARDS` (a configuration error).
    pub fn with_shards(shards: usize) -> UtxoSet {
        assert!(
            shards.is_power_of_two() && shards <= MAX_SHARDS,
            "shard count {shards} is not a power of two in 1..={MAX_SHARDS}"
        );
        let apply_threads = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_APPLY_THREADS);
        UtxoSet {
            shards: (0..shards).map(|_| RwLock::default()).collect(),
            shard_bits: shards.trailing_zeros(),
            gate: RwLock::new(LockTable::default()),
            apply_threads,
        }
    }

    /// The same set using at most `threads` threads (at least one) for the parallel parts of
    /// validation and apply: looking a batch's outpoints up and writing its changes. Neither the
    /// verdicts nor the root depend on it. The default is the machine's parallelism, up to 16.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> UtxoSet {
        self.apply_threads = threads.max(1);
        self
    }

    /// Threads used by the parallel parts of validation and apply.
    pub fn threads(&self) -> usize {
        self.apply_threads
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard holding `outpoint`: the top bits of a mix of the txid's first 8 bytes and the
    /// index. Txids are hashes, so they spread evenly; the mix (splitmix64's finalizer) also
    /// spreads hand-made genesis txids. Being unkeyed, an attacker grinding txids could load one
    /// shard, which costs parallelism only: each shard's `HashMap` uses keyed SipHash.
    pub(crate) fn shard_of(&self, outpoint: &OutPoint) -> usize {
        if self.shard_bits == 0 {
            return 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&outpoint.txid.0[..8]);
        let mut x = u64::from_le_bytes(word)
            ^ u64::from(outpoint.index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        // shard_bits <= 16, so the shift is in 48..64 and the result fits the shard count.
        (x >> (64 - self.shard_bits)) as usize
    }

    pub(crate) fn shard(&self, outpoint: &OutPoint) -> &RwLock<Shard> {
        &self.shards[self.shard_of(outpoint)]
    }

    pub(crate) fn read_gate(&self) -> RwLockReadGuard<'_, LockTable> {
        read(&self.gate)
    }

    pub(crate) fn write_gate(&self) -> RwLockWriteGuard<'_, LockTable> {
        write(&self.gate)
    }

    /// Looks up an entry without taking the gate (callers hold it).
    pub(crate) fn lookup(&self, outpoint: &OutPoint) -> Option<Entry> {
        read(self.shard(outpoint)).map.get(outpoint).copied()
    }

    /// The entry at each of `outpoints`, as [`UtxoSet::lookup`] would give them one by one; the
    /// caller holds the gate, so nothing changes meanwhile. Sharded by outpoint: each shard's lock
    /// is taken once, and a large request is split by shard over scoped threads (not rayon: the
    /// gate is held, see the module documentation).
    pub(crate) fn lookup_many(&self, outpoints: &[OutPoint]) -> Vec<Option<Entry>> {
        let mut by_shard: Vec<Vec<u32>> = vec![Vec::new(); self.shards.len()];
        for (i, outpoint) in outpoints.iter().enumerate() {
            // Batches are far below 2^32 outpoints (MAX_INPUTS and MAX_OUTPUTS per transaction).
            by_shard[self.shard_of(outpoint)].push(i as u32);
        }
        let read_shards = |first: usize, group: &[Vec<u32>]| -> Vec<(u32, Entry)> {
            let mut found = Vec::new();
            for (offset, indices) in group.iter().enumerate() {
                if indices.is_empty() {
                    continue;
                }
                let shard = read(&self.shards[first + offset]);
                found.extend(
                    indices
                        .iter()
                        .filter_map(|&i| shard.map.get(&outpoints[i as usize]).map(|e| (i, *e))),
                );
            }
            found
        };
        let threads = self
            .apply_threads
            .min(outpoints.len() / PARALLEL_LOOKUP_MIN)
            .max(1);
        let found: Vec<Vec<(u32, Entry)>> = if threads == 1 {
            vec![read_shards(0, &by_shard)]
        } else {
            let per_thread = by_shard.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = by_shard
                    .chunks(per_thread)
                    .enumerate()
                    .map(|(k, group)| {
                        let read_shards = &read_shards;
                        scope.spawn(move || read_shards(k * per_thread, group))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("UTXO lookup thread panicked"))
                    .collect()
            })
        };
        let mut entries = vec![None; outpoints.len()];
        for (i, entry) in found.into_iter().flatten() {
            entries[i as usize] = Some(entry);
        }
        entries
    }

    /// The entry at `outpoint`, if unspent.
    pub fn get(&self, outpoint: &OutPoint) -> Option<Entry> {
        let _gate = self.read_gate();
        self.lookup(outpoint)
    }

    pub fn contains(&self, outpoint: &OutPoint) -> bool {
        self.get(outpoint).is_some()
    }

    /// Number of unspent outputs.
    pub fn len(&self) -> usize {
        let _gate = self.read_gate();
        self.shards.iter().map(|s| read(s).map.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, sorted by outpoint (a consistent copy).
    pub fn entries(&self) -> Vec<(OutPoint, Entry)> {
        let _gate = self.read_gate();
        self.entries_locked()
    }

    /// [`UtxoSet::entries`] for a caller that holds the gate.
    pub(crate) fn entries_locked(&self) -> Vec<(OutPoint, Entry)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(read(shard).map.iter().map(|(o, e)| (*o, *e)));
        }
        all.sort_unstable_by_key(|(outpoint, _)| *outpoint);
        all
    }

    /// Adds an unlocked output that no transaction created: the genesis allocation, or minting in
    /// tests and workloads. Refuses an outpoint already present and a zero amount.
    pub fn insert_genesis(&self, outpoint: OutPoint, output: TxOutput) -> Result<(), UtxoError> {
        if output.amount == 0 {
            return Err(UtxoError::Malformed(TxStructureError::ZeroAmount {
                output: 0,
            }));
        }
        let _gate = self.write_gate();
        let mut shard = write(self.shard(&outpoint));
        if shard.map.contains_key(&outpoint) {
            return Err(UtxoError::OutputExists { outpoint });
        }
        shard.insert(outpoint, Entry::unlocked(output));
        Ok(())
    }

    /// The consistency digest (see the `commitment` module): equal for equal sets, whatever their
    /// history. A cheap check that honest replicas agree, **not a commitment**: it is additive, so
    /// entries can be chosen to reach a given digest; headers, fraud proofs and MSBs anchor the
    /// Merkle [`StateTree`](super::StateTree) root instead.
    pub fn consistency_digest(&self) -> [u8; 32] {
        let _gate = self.read_gate();
        self.digest_locked()
    }

    /// [`UtxoSet::consistency_digest`] for a caller that holds the gate.
    pub(crate) fn digest_locked(&self) -> [u8; 32] {
        let mut total = Accumulator::default();
        for shard in self.shards.iter() {
            total.merge(&read(shard).acc);
        }
        total.root()
    }

    /// The digest recomputed from every entry, ignoring the incremental sums: an audit that must
    /// always equal [`UtxoSet::consistency_digest`]. Costs one hash per entry.
    pub fn recompute_consistency_digest(&self) -> [u8; 32] {
        let _gate = self.read_gate();
        let mut total = Accumulator::default();
        for shard in self.shards.iter() {
            for (outpoint, entry) in read(shard).map.iter() {
                total.insert(&leaf(outpoint, entry));
            }
        }
        total.root()
    }

    /// Applies removals then insertions, grouped by shard; on several threads when the change is
    /// large. The caller holds the gate exclusively and has checked that every removed outpoint
    /// exists and no inserted one does. Returns nothing: callers know what they removed.
    pub(crate) fn apply_changes(&self, remove: &[OutPoint], insert: &[(OutPoint, Entry)]) {
        let mut per_shard: Vec<ShardChanges> = (0..self.shards.len())
            .map(|_| ShardChanges::default())
            .collect();
        for outpoint in remove {
            per_shard[self.shard_of(outpoint)].remove.push(*outpoint);
        }
        for (outpoint, entry) in insert {
            per_shard[self.shard_of(outpoint)]
                .insert
                .push((*outpoint, *entry));
        }
        let apply = |index: usize, changes: &ShardChanges| {
            if changes.remove.is_empty() && changes.insert.is_empty() {
                return;
            }
            let mut shard = write(&self.shards[index]);
            for outpoint in &changes.remove {
                let removed = shard.remove(outpoint);
                debug_assert!(removed.is_some(), "removed a missing entry {outpoint}");
            }
            for (outpoint, entry) in &changes.insert {
                shard.insert(*outpoint, *entry);
            }
        };
        let updates = remove.len() + insert.len();
        let threads = self.apply_threads.min(updates / PARALLEL_APPLY_MIN);
        if threads <= 1 {
            per_shard.iter().enumerate().for_each(|(i, c)| apply(i, c));
            return;
        }
        // Scoped threads, not rayon: the gate is held here, and a rayon worker waiting on this
        // section could steal a task that blocks on the gate (see the module documentation).
        let per_thread = per_shard.len().div_ceil(threads);
        std::thread::scope(|scope| {
            for (chunk_index, chunk) in per_shard.chunks(per_thread).enumerate() {
                let apply = &apply;
                scope.spawn(move || {
                    for (offset, changes) in chunk.iter().enumerate() {
                        apply(chunk_index * per_thread + offset, changes);
                    }
                });
            }
        });
    }

    /// Inserts into a set that nobody else can see yet (restore); no gate needed.
    pub(crate) fn insert_unshared(&mut self, outpoint: OutPoint, entry: Entry) {
        let index = self.shard_of(&outpoint);
        let shard = self.shards[index]
            .get_mut()
            .unwrap_or_else(|_| panic!("UTXO set lock poisoned by an earlier panic"));
        shard.insert(outpoint, entry);
    }

    pub(crate) fn lock_table_mut(&mut self) -> &mut LockTable {
        self.gate
            .get_mut()
            .unwrap_or_else(|_| panic!("UTXO set lock poisoned by an earlier panic"))
    }

    pub(crate) fn reserve_unshared(&mut self, total: usize) {
        let per_shard = total / self.shards.len() + total / self.shards.len() / 8 + 1;
        for shard in self.shards.iter_mut() {
            if let Ok(shard) = shard.get_mut() {
                shard.map.reserve(per_shard);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::TxId;

    pub(crate) fn op(n: u8, index: u32) -> OutPoint {
        OutPoint {
            txid: TxId([n; 32]),
            index,
        }
    }

    fn out(amount: u64, owner: u8) -> TxOutput {
        TxOutput {
            amount,
            owner: [owner; 32],
        }
    }

    #[test]
    fn shard_index_is_in_range_and_spreads() {
        for shards in [1, 2, 64, MAX_SHARDS] {
            let set = UtxoSet::with_shards(shards);
            let mut hits = vec![0usize; shards];
            for n in 0..=255u8 {
                for index in 0..16 {
                    hits[set.shard_of(&op(n, index))] += 1;
                }
            }
            if shards == 64 {
                // 4096 keys over 64 shards: 64 expected per shard.
                assert!(hits.iter().all(|&h| (24..=110).contains(&h)), "{hits:?}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "not a power of two")]
    fn shard_count_must_be_a_power_of_two() {
        let _ = UtxoSet::with_shards(3);
    }

    #[test]
    fn genesis_inserts_once_and_refuses_zero() {
        let set = UtxoSet::new();
        assert!(set.is_empty());
        set.insert_genesis(op(1, 0), out(10, 1)).unwrap();
        assert_eq!(set.get(&op(1, 0)), Some(Entry::unlocked(out(10, 1))));
        assert_eq!(
            set.insert_genesis(op(1, 0), out(11, 1)),
            Err(UtxoError::OutputExists { outpoint: op(1, 0) })
        );
        assert!(matches!(
            set.insert_genesis(op(2, 0), out(0, 1)),
            Err(UtxoError::Malformed(TxStructureError::ZeroAmount { .. }))
        ));
        assert_eq!(set.len(), 1);
        assert!(set.contains(&op(1, 0)) && !set.contains(&op(2, 0)));
    }

    #[test]
    fn root_ignores_shard_count_and_order_and_matches_recomputation() {
        let a = UtxoSet::with_shards(1);
        let b = UtxoSet::with_shards(256);
        for n in 0..50u8 {
            a.insert_genesis(op(n, 0), out(u64::from(n) + 1, n))
                .unwrap();
            let m = 49 - n;
            b.insert_genesis(op(m, 0), out(u64::from(m) + 1, m))
                .unwrap();
        }
        assert_eq!(a.consistency_digest(), b.consistency_digest());
        assert_eq!(a.consistency_digest(), a.recompute_consistency_digest());
        assert_eq!(a.entries(), b.entries());
        assert_ne!(a.consistency_digest(), UtxoSet::new().consistency_digest());
    }

    #[test]
    fn parallel_apply_matches_sequential() {
        let inserts: Vec<(OutPoint, Entry)> = (0..3 * PARALLEL_APPLY_MIN as u32)
            .map(|i| {
                (
                    op((i % 251) as u8, i),
                    Entry::unlocked(out(u64::from(i) + 1, 1)),
                )
            })
            .collect();
        let wide = UtxoSet::with_shards(64);
        let narrow = UtxoSet::with_shards(1);
        for set in [&wide, &narrow] {
            let _gate = set.write_gate();
            set.apply_changes(&[], &inserts);
            let removed: Vec<OutPoint> = inserts.iter().step_by(2).map(|(o, _)| *o).collect();
            set.apply_changes(&removed, &[]);
        }
        assert_eq!(wide.entries(), narrow.entries());
        assert_eq!(wide.consistency_digest(), narrow.consistency_digest());
        assert_eq!(
            wide.consistency_digest(),
            wide.recompute_consistency_digest()
        );
        assert_eq!(wide.len(), inserts.len() / 2);
    }
}
