//! Unit tests of the batch rules, apply and undo: one test per rule, then the batch semantics.

use ed25519_dalek::SigningKey;

use super::*;
use crate::tx::TxInput;
use crate::utxo::LockId;

fn op(n: u8, index: u32) -> OutPoint {
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

/// A transaction spending `inputs` (outpoint, claimed owner) into `outputs`; unsigned.
fn tx(inputs: &[(OutPoint, u8)], outputs: &[(u64, u8)]) -> Transaction {
    Transaction {
        inputs: inputs
            .iter()
            .map(|&(prev, owner)| TxInput {
                prev,
                owner: [owner; 32],
                signature: [0; 64],
            })
            .collect(),
        outputs: outputs.iter().map(|&(a, o)| out(a, o)).collect(),
    }
}

/// A set with outputs `op(n, 0)` of amount 100 owned by `n`, for `n` in `0..count`.
fn funded(count: u8) -> UtxoSet {
    let set = UtxoSet::with_shards(8);
    for n in 0..count {
        set.insert_genesis(op(n, 0), out(100, n)).unwrap();
    }
    set
}

fn spend_of(t: &Transaction, index: u32) -> OutPoint {
    OutPoint {
        txid: t.txid(),
        index,
    }
}

#[test]
fn valid_spend_with_fee_passes() {
    let set = funded(2);
    let t = tx(&[(op(0, 0), 0), (op(1, 0), 1)], &[(150, 9), (40, 8)]);
    assert_eq!(set.validate_batch(std::slice::from_ref(&t)), vec![Ok(())]);
    assert_eq!(set.len(), 2, "validation does not change the set");
}

#[test]
fn each_rule_has_its_verdict() {
    let set = funded(3);
    set.lock(LockId([7; 32]), &[op(2, 0)]).unwrap();
    set.insert_genesis(op(3, 0), out(u64::MAX, 3)).unwrap();
    set.insert_genesis(op(4, 0), out(2, 4)).unwrap();
    let cases = [
        (
            tx(&[(op(9, 0), 9)], &[(1, 1)]),
            UtxoError::UnknownOutpoint { outpoint: op(9, 0) },
        ),
        (
            tx(&[(op(2, 0), 2)], &[(1, 1)]),
            UtxoError::Locked {
                outpoint: op(2, 0),
                lock_id: LockId([7; 32]),
            },
        ),
        (
            tx(&[(op(0, 0), 1)], &[(1, 1)]),
            UtxoError::WrongOwner {
                outpoint: op(0, 0),
                expected: [0; 32],
                found: [1; 32],
            },
        ),
        (
            tx(&[(op(0, 0), 0)], &[(60, 1), (41, 1)]),
            UtxoError::InsufficientFunds {
                inputs: 100,
                outputs: 101,
            },
        ),
        (
            tx(&[(op(3, 0), 3), (op(4, 0), 4)], &[(1, 1)]),
            UtxoError::AmountOverflow {
                side: AmountSide::Inputs,
            },
        ),
        (
            tx(&[(op(0, 0), 0)], &[(u64::MAX, 1), (1, 1)]),
            UtxoError::AmountOverflow {
                side: AmountSide::Outputs,
            },
        ),
        (
            tx(&[(op(0, 0), 0), (op(1, 0), 1), (op(0, 0), 0)], &[(1, 1)]),
            UtxoError::DoubleSpend {
                outpoint: op(0, 0),
                first_tx_index: 0,
            },
        ),
        (
            tx(&[], &[(1, 1)]),
            UtxoError::Malformed(TxStructureError::NoInputs),
        ),
        (
            tx(&[(op(0, 0), 0)], &[]),
            UtxoError::Malformed(TxStructureError::NoOutputs),
        ),
        (
            tx(&[(op(0, 0), 0)], &[(5, 1), (0, 1)]),
            UtxoError::Malformed(TxStructureError::ZeroAmount { output: 1 }),
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(
            set.validate_batch(std::slice::from_ref(&t)),
            vec![Err(expected.clone())],
            "{expected}"
        );
    }
}

#[test]
fn output_colliding_with_an_existing_entry_is_refused() {
    let set = funded(1);
    let t = tx(&[(op(0, 0), 0)], &[(10, 1)]);
    set.insert_genesis(spend_of(&t, 0), out(5, 5)).unwrap();
    assert_eq!(
        set.validate_batch(std::slice::from_ref(&t)),
        vec![Err(UtxoError::OutputExists {
            outpoint: spend_of(&t, 0)
        })]
    );
}

#[test]
fn earlier_transaction_wins_a_conflict() {
    let set = funded(2);
    let a = tx(&[(op(0, 0), 0)], &[(100, 5)]);
    let b = tx(&[(op(1, 0), 1)], &[(100, 6)]);
    let c = tx(&[(op(1, 0), 1), (op(0, 0), 0)], &[(200, 7)]);
    let d = tx(&[(op(0, 0), 0)], &[(1, 8)]);
    let verdicts = set.validate_batch(&[a, b, c, d]);
    assert_eq!(
        verdicts,
        vec![
            Ok(()),
            Ok(()),
            Err(UtxoError::DoubleSpend {
                outpoint: op(1, 0),
                first_tx_index: 1
            }),
            Err(UtxoError::DoubleSpend {
                outpoint: op(0, 0),
                first_tx_index: 0
            }),
        ]
    );
}

#[test]
fn invalid_transaction_claims_nothing() {
    let set = funded(1);
    let greedy = tx(&[(op(0, 0), 0)], &[(101, 5)]);
    let honest = tx(&[(op(0, 0), 0)], &[(100, 6)]);
    let verdicts = set.validate_batch(&[greedy, honest]);
    assert!(matches!(
        verdicts[0],
        Err(UtxoError::InsufficientFunds { .. })
    ));
    assert_eq!(verdicts[1], Ok(()));
}

#[test]
fn chained_spends_within_a_batch() {
    let set = funded(1);
    let a = tx(&[(op(0, 0), 0)], &[(60, 1), (40, 2)]);
    let b = tx(&[(spend_of(&a, 0), 1)], &[(60, 3)]);
    let c = tx(&[(spend_of(&b, 0), 3), (spend_of(&a, 1), 2)], &[(99, 4)]);
    let again = tx(&[(spend_of(&a, 0), 1)], &[(1, 9)]);
    let batch = [a.clone(), b.clone(), c.clone(), again];
    let verdicts = set.validate_batch(&batch);
    assert_eq!(verdicts[..3], [Ok(()), Ok(()), Ok(())]);
    assert_eq!(
        verdicts[3],
        Err(UtxoError::DoubleSpend {
            outpoint: spend_of(&a, 0),
            first_tx_index: 1
        })
    );

    let undo = set.apply_block(&batch[..3]).unwrap();
    assert_eq!(
        set.entries(),
        vec![(spend_of(&c, 0), Entry::unlocked(out(99, 4)))]
    );
    assert_eq!(undo.spent(), &[(op(0, 0), out(100, 0))]);
    assert_eq!(undo.created(), &[spend_of(&c, 0)]);
    set.undo_block(&undo).unwrap();
    assert_eq!(
        set.entries(),
        vec![(op(0, 0), Entry::unlocked(out(100, 0)))]
    );
}

#[test]
fn spending_an_output_of_a_later_transaction_is_unknown() {
    let set = funded(1);
    let a = tx(&[(op(0, 0), 0)], &[(100, 1)]);
    let b = tx(&[(spend_of(&a, 0), 1)], &[(100, 2)]);
    assert_eq!(
        set.validate_batch(&[b, a.clone()]),
        vec![
            Err(UtxoError::UnknownOutpoint {
                outpoint: spend_of(&a, 0)
            }),
            Ok(())
        ]
    );
}

#[test]
fn double_spend_across_blocks_is_unknown() {
    let set = funded(1);
    set.apply_block(&[tx(&[(op(0, 0), 0)], &[(100, 1)])])
        .unwrap();
    assert_eq!(
        set.validate_batch(&[tx(&[(op(0, 0), 0)], &[(100, 2)])]),
        vec![Err(UtxoError::UnknownOutpoint { outpoint: op(0, 0) })]
    );
}

#[test]
fn apply_block_is_all_or_nothing() {
    let set = funded(2);
    let before = (set.consistency_digest(), set.entries());
    let good = tx(&[(op(0, 0), 0)], &[(100, 5)]);
    let bad = tx(&[(op(1, 0), 0)], &[(100, 5)]);
    assert_eq!(
        set.apply_block(&[good, bad]),
        Err(UtxoError::InvalidBlock {
            tx_index: 1,
            reason: Box::new(UtxoError::WrongOwner {
                outpoint: op(1, 0),
                expected: [1; 32],
                found: [0; 32]
            })
        })
    );
    assert_eq!((set.consistency_digest(), set.entries()), before);
}

#[test]
fn apply_valid_applies_the_valid_subset_and_undo_restores() {
    let set = funded(3);
    let before = (set.consistency_digest(), set.entries());
    let batch = [
        tx(&[(op(0, 0), 0)], &[(90, 5)]),
        tx(&[(op(0, 0), 0)], &[(80, 6)]),
        tx(&[(op(1, 0), 1)], &[(101, 7)]),
        tx(&[(op(2, 0), 2)], &[(100, 8)]),
    ];
    let expected = set.validate_batch(&batch);
    let (verdicts, undo) = set.apply_valid(&batch);
    assert_eq!(verdicts, expected);
    assert_eq!(verdicts.iter().filter(|v| v.is_ok()).count(), 2);
    assert_eq!(set.len(), 3);
    assert!(set.contains(&op(1, 0)) && !set.contains(&op(0, 0)));
    assert_eq!(undo.digest_before(), before.0);
    assert_eq!(undo.digest_after(), set.consistency_digest());
    assert_eq!(set.consistency_digest(), set.recompute_consistency_digest());
    set.undo_block(&undo).unwrap();
    assert_eq!((set.consistency_digest(), set.entries()), before);
}

#[test]
fn undo_must_be_newest_first_and_without_interference() {
    let set = funded(2);
    let first = set
        .apply_block(&[tx(&[(op(0, 0), 0)], &[(100, 5)])])
        .unwrap();
    let second = set
        .apply_block(&[tx(&[(op(1, 0), 1)], &[(100, 6)])])
        .unwrap();
    assert!(matches!(
        set.undo_block(&first),
        Err(UtxoError::UndoMismatch { .. })
    ));
    let created = second.created()[0];
    set.lock(LockId([1; 32]), &[created]).unwrap();
    assert!(matches!(
        set.undo_block(&second),
        Err(UtxoError::UndoMismatch { .. })
    ));
    set.unlock(LockId([1; 32])).unwrap();
    set.undo_block(&second).unwrap();
    set.undo_block(&first).unwrap();
    assert_eq!(set.entries(), funded(2).entries());
    assert_eq!(set.consistency_digest(), funded(2).consistency_digest());
}

#[test]
fn empty_block_applies_and_undoes() {
    let set = funded(1);
    let undo = set.apply_block(&[]).unwrap();
    assert_eq!(undo.digest_before(), undo.digest_after());
    set.undo_block(&undo).unwrap();
    assert_eq!(set.validate_batch(&[]), vec![]);
}

#[test]
fn signed_transactions_pass_the_owner_rule() {
    let keys: Vec<SigningKey> = (1..=2u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let set = UtxoSet::new();
    for (i, key) in keys.iter().enumerate() {
        let owned = TxOutput {
            amount: 50,
            owner: key.verifying_key().to_bytes(),
        };
        set.insert_genesis(op(i as u8, 0), owned).unwrap();
    }
    let mut t = tx(&[(op(0, 0), 0), (op(1, 0), 0)], &[(100, 3)]);
    t.sign(&keys).unwrap();
    assert_eq!(set.validate_batch(std::slice::from_ref(&t)), vec![Ok(())]);
    let mut swapped = t.clone();
    swapped.sign(&[keys[1].clone(), keys[0].clone()]).unwrap();
    assert!(matches!(
        set.validate_batch(&[swapped])[0],
        Err(UtxoError::WrongOwner { .. })
    ));
}

#[test]
fn large_batches_give_the_same_verdicts_on_any_shard_count() {
    // Well above PARALLEL_TXID_MIN, with conflicts and chains spread over the batch.
    let n: u8 = 200;
    assert!(3 * usize::from(n) > 4 * PARALLEL_TXID_MIN);
    let sets = [UtxoSet::with_shards(1), UtxoSet::with_shards(64)];
    for set in &sets {
        for i in 0..n {
            set.insert_genesis(op(i, 0), out(100, i)).unwrap();
        }
    }
    let mut batch = Vec::new();
    for i in 0..n {
        let t = tx(&[(op(i, 0), i)], &[(50, i), (50, i)]);
        let conflicting = tx(&[(op(i / 2, 0), i / 2)], &[(10, 1)]);
        let chained = tx(&[(spend_of(&t, 1), i)], &[(50, 2)]);
        batch.extend([t, conflicting, chained]);
    }
    let verdicts: Vec<_> = sets.iter().map(|s| s.validate_batch(&batch)).collect();
    assert_eq!(verdicts[0], verdicts[1]);
    let valid = verdicts[0].iter().filter(|v| v.is_ok()).count();
    assert_eq!(valid, 2 * usize::from(n), "every conflicting spend loses");
    // Below the threshold the same batch is judged by the sequential path: same verdicts.
    let small: Vec<_> = batch
        .chunks(PARALLEL_TXID_MIN / 2)
        .map(|chunk| chunk.iter().map(Transaction::txid).collect::<Vec<_>>())
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(small, txids_of(&batch));
    let applied: Vec<_> = sets.iter().map(|s| s.apply_valid(&batch)).collect();
    assert_eq!(applied[0].0, verdicts[0]);
    assert_eq!(applied[1].0, verdicts[0]);
    assert_eq!(sets[0].consistency_digest(), sets[1].consistency_digest());
    assert_eq!(sets[0].entries(), sets[1].entries());
}

/// `count` outputs `[n; 32]:i` owned by 1, and a block spending each of them.
fn wide_block(count: u32, n: u8) -> (Vec<(OutPoint, TxOutput)>, Vec<Transaction>) {
    let outputs: Vec<_> = (0..count).map(|i| (op(n, i), out(10, 1))).collect();
    let block = outputs
        .iter()
        .map(|(o, _)| tx(&[(*o, 1)], &[(10, 2)]))
        .collect();
    (outputs, block)
}

#[test]
fn readers_see_whole_blocks_or_none() {
    // Large enough for the parallel apply path (several threads under the write gate).
    let (outputs, block) = wide_block(2000, 1);
    let set = UtxoSet::new();
    for (o, output) in &outputs {
        set.insert_genesis(*o, *output).unwrap();
    }
    let digest_before = set.consistency_digest();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = [false; 2];
            loop {
                let done = stop.load(std::sync::atomic::Ordering::Relaxed);
                let verdicts = set.validate_batch(&block);
                let valid = verdicts.iter().filter(|v| v.is_ok()).count();
                assert!(
                    valid == 0 || valid == block.len(),
                    "saw {valid} valid: half a block"
                );
                seen[usize::from(valid == 0)] = true;
                if done {
                    return seen;
                }
            }
        });
        let mut digest_after = None;
        for _ in 0..20 {
            let undo = set.apply_block(&block).unwrap();
            digest_after = Some(undo.digest_after());
            set.undo_block(&undo).unwrap();
            assert_eq!(set.consistency_digest(), digest_before);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = reader.join().unwrap();
        assert!(seen[0], "the last read came after the last undo");
        assert_ne!(digest_after, Some(digest_before));
    });
}

#[test]
fn calls_from_rayon_tasks_do_not_deadlock() {
    let set = UtxoSet::new();
    let blocks: Vec<_> = (0..8u8)
        .map(|n| {
            let (outputs, block) = wide_block(1100, n);
            for (o, output) in &outputs {
                set.insert_genesis(*o, *output).unwrap();
            }
            block
        })
        .collect();
    (0..64usize).into_par_iter().for_each(|k| {
        let block = &blocks[k % blocks.len()];
        match k % 4 {
            0 => {
                set.validate_batch(block);
            }
            1 => {
                let lock_id = LockId([k as u8; 32]);
                if set.lock(lock_id, &[block[0].inputs[0].prev]).is_ok() {
                    set.unlock(lock_id).unwrap();
                }
            }
            2 => {
                set.apply_valid(block);
            }
            _ => {
                set.consistency_digest();
            }
        }
    });
    assert_eq!(set.consistency_digest(), set.recompute_consistency_digest());
    assert_eq!(set.lock_count(), 0);
}
