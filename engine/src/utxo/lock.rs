//! Locks for cross-shard commits (Atomix): an input shard locks the outpoints a cross-shard
//! transaction spends, then either commits (spends them) or unlocks (aborts).
//!
//! Invariants (all changes happen under the set's exclusive gate):
//! - `lock` is all-or-nothing: it checks every outpoint before changing any.
//! - An entry has `locked_by == Some(id)` exactly when the lock table lists it under `id`, and no
//!   lock is empty: the table is a function of the entries, hence of the root and of a snapshot.
//! - A locked entry cannot be spent by an ordinary transaction nor locked again; it leaves the
//!   locked state only through `unlock` or `commit_lock` of its lock.
//! - Lock state is part of the state root, so lock, unlock and commit change the root; unlock
//!   restores the previous root exactly.

use std::collections::HashMap;

use super::LockId;
use super::error::UtxoError;
use super::set::{UtxoSet, write};
use crate::tx::{OutPoint, TxOutput};

/// The outpoints each held lock holds, sorted by outpoint.
#[derive(Debug, Default)]
pub(crate) struct LockTable {
    pub(crate) locks: HashMap<LockId, Vec<OutPoint>>,
}

impl UtxoSet {
    /// Locks `outpoints` under `lock_id`, all or none. Fails, changing nothing, if the list is
    /// empty ([`UtxoError::EmptyLock`]), if `lock_id` is already held ([`UtxoError::LockInUse`]),
    /// or if any outpoint is not in the set ([`UtxoError::UnknownOutpoint`]: missing or spent) or
    /// already locked ([`UtxoError::Locked`], which is also the error for an outpoint listed
    /// twice).
    /// Outpoints are checked in the order given; the first failure is reported.
    ///
    /// Empty locks are refused so that the lock table is exactly the grouping of locked entries:
    /// it is then covered by the root and rebuilt from a snapshot.
    pub fn lock(&self, lock_id: LockId, outpoints: &[OutPoint]) -> Result<(), UtxoError> {
        if outpoints.is_empty() {
            return Err(UtxoError::EmptyLock { lock_id });
        }
        let mut table = self.write_gate();
        if table.locks.contains_key(&lock_id) {
            return Err(UtxoError::LockInUse { lock_id });
        }
        for (i, outpoint) in outpoints.iter().enumerate() {
            if outpoints[..i].contains(outpoint) {
                return Err(UtxoError::Locked {
                    outpoint: *outpoint,
                    lock_id,
                });
            }
            match self.lookup(outpoint) {
                None => {
                    return Err(UtxoError::UnknownOutpoint {
                        outpoint: *outpoint,
                    });
                }
                Some(entry) => {
                    if let Some(holder) = entry.locked_by {
                        return Err(UtxoError::Locked {
                            outpoint: *outpoint,
                            lock_id: holder,
                        });
                    }
                }
            }
        }
        for outpoint in outpoints {
            let changed = write(self.shard(outpoint)).set_lock(outpoint, Some(lock_id));
            debug_assert!(changed);
        }
        let mut held = outpoints.to_vec();
        held.sort_unstable();
        table.locks.insert(lock_id, held);
        Ok(())
    }

    /// Releases every outpoint held by `lock_id` (aborts the cross-shard commit), restoring the
    /// previous state and root. Fails with [`UtxoError::UnknownLock`] if the lock is not held.
    pub fn unlock(&self, lock_id: LockId) -> Result<(), UtxoError> {
        let mut table = self.write_gate();
        let held = table
            .locks
            .remove(&lock_id)
            .ok_or(UtxoError::UnknownLock { lock_id })?;
        for outpoint in &held {
            let changed = write(self.shard(outpoint)).set_lock(outpoint, None);
            debug_assert!(changed);
        }
        Ok(())
    }

    /// Spends every outpoint held by `lock_id` (commits the cross-shard transaction's inputs) and
    /// returns the spent outputs, sorted by outpoint. Fails with [`UtxoError::UnknownLock`] if the
    /// lock is not held.
    pub fn commit_lock(&self, lock_id: LockId) -> Result<Vec<(OutPoint, TxOutput)>, UtxoError> {
        let mut table = self.write_gate();
        let held = table
            .locks
            .remove(&lock_id)
            .ok_or(UtxoError::UnknownLock { lock_id })?;
        let mut spent = Vec::with_capacity(held.len());
        for outpoint in held {
            let removed = write(self.shard(&outpoint)).remove(&outpoint);
            debug_assert_eq!(removed.and_then(|e| e.locked_by), Some(lock_id));
            if let Some(entry) = removed {
                spent.push((outpoint, entry.output));
            }
        }
        Ok(spent)
    }

    /// The outpoints `lock_id` holds, sorted, or `None` if it is not held.
    pub fn locked_by(&self, lock_id: LockId) -> Option<Vec<OutPoint>> {
        self.read_gate().locks.get(&lock_id).cloned()
    }

    /// Number of locks held.
    pub fn lock_count(&self) -> usize {
        self.read_gate().locks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Transaction, TxId, TxInput};
    use crate::utxo::Entry;

    fn op(n: u8) -> OutPoint {
        OutPoint {
            txid: TxId([n; 32]),
            index: 0,
        }
    }

    fn set_with(n: u8) -> UtxoSet {
        let set = UtxoSet::with_shards(4);
        for i in 0..n {
            set.insert_genesis(
                op(i),
                TxOutput {
                    amount: 10,
                    owner: [i; 32],
                },
            )
            .unwrap();
        }
        set
    }

    const L1: LockId = LockId([1; 32]);
    const L2: LockId = LockId([2; 32]);

    #[test]
    fn lock_then_commit_spends() {
        let set = set_with(4);
        set.lock(L1, &[op(2), op(0)]).unwrap();
        assert_eq!(set.locked_by(L1), Some(vec![op(0), op(2)]));
        assert_eq!(set.get(&op(0)).unwrap().locked_by, Some(L1));
        let spent = set.commit_lock(L1).unwrap();
        assert_eq!(
            spent.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
            [op(0), op(2)]
        );
        assert_eq!(spent[1].1.owner, [2; 32]);
        assert!(!set.contains(&op(0)) && !set.contains(&op(2)));
        assert_eq!(set.len(), 2);
        assert_eq!(set.lock_count(), 0);
        assert_eq!(
            set.commit_lock(L1),
            Err(UtxoError::UnknownLock { lock_id: L1 })
        );
        assert_eq!(set.consistency_digest(), set.recompute_consistency_digest());
    }

    #[test]
    fn lock_then_unlock_restores_state_and_root() {
        let set = set_with(3);
        let before = (set.consistency_digest(), set.entries());
        set.lock(L1, &[op(1)]).unwrap();
        assert_ne!(
            set.consistency_digest(),
            before.0,
            "lock state is part of the root"
        );
        assert_eq!(set.consistency_digest(), set.recompute_consistency_digest());
        set.unlock(L1).unwrap();
        assert_eq!((set.consistency_digest(), set.entries()), before);
        assert_eq!(set.unlock(L1), Err(UtxoError::UnknownLock { lock_id: L1 }));
    }

    #[test]
    fn lock_is_all_or_nothing() {
        let set = set_with(3);
        set.lock(L1, &[op(1)]).unwrap();
        let before = (set.consistency_digest(), set.entries());
        assert_eq!(
            set.lock(L2, &[op(0), op(1)]),
            Err(UtxoError::Locked {
                outpoint: op(1),
                lock_id: L1
            })
        );
        assert_eq!(
            set.lock(L2, &[op(0), op(9)]),
            Err(UtxoError::UnknownOutpoint { outpoint: op(9) })
        );
        assert_eq!(
            set.lock(L2, &[op(0), op(2), op(0)]),
            Err(UtxoError::Locked {
                outpoint: op(0),
                lock_id: L2
            })
        );
        assert_eq!(
            set.lock(L1, &[op(2)]),
            Err(UtxoError::LockInUse { lock_id: L1 })
        );
        assert_eq!(set.lock(L2, &[]), Err(UtxoError::EmptyLock { lock_id: L2 }));
        assert_eq!((set.consistency_digest(), set.entries()), before);
        assert_eq!(set.locked_by(L2), None);
    }

    #[test]
    fn locked_outpoint_cannot_be_spent_until_unlocked() {
        let set = set_with(2);
        set.lock(L1, &[op(1)]).unwrap();
        let tx = Transaction {
            inputs: vec![TxInput {
                prev: op(1),
                owner: [1; 32],
                signature: [0; 64],
            }],
            outputs: vec![TxOutput {
                amount: 10,
                owner: [7; 32],
            }],
        };
        let locked = Err(UtxoError::Locked {
            outpoint: op(1),
            lock_id: L1,
        });
        assert_eq!(
            set.validate_batch(std::slice::from_ref(&tx)),
            vec![locked.clone()]
        );
        assert!(set.apply_block(std::slice::from_ref(&tx)).is_err());
        set.unlock(L1).unwrap();
        assert_eq!(set.validate_batch(std::slice::from_ref(&tx)), vec![Ok(())]);
        set.apply_block(&[tx]).unwrap();
        assert_eq!(
            set.get(&op(0)),
            Some(Entry::unlocked(TxOutput {
                amount: 10,
                owner: [0; 32]
            }))
        );
    }

    #[test]
    fn spent_outpoint_cannot_be_locked() {
        let set = set_with(1);
        set.lock(L1, &[op(0)]).unwrap();
        set.commit_lock(L1).unwrap();
        assert_eq!(
            set.lock(L2, &[op(0)]),
            Err(UtxoError::UnknownOutpoint { outpoint: op(0) })
        );
    }
}
