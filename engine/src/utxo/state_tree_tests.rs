//! Unit tests of the state tree: the compression wrapper and node hashing, the root's independence
//! of insertion order and history, incremental updates against rebuilds, bucket proofs, and
//! all-or-nothing application of a transaction.

use super::*;
use crate::tx::TxId;

/// The compression wrapper is SHA-256's: from the standard IV, the padded empty message
/// compresses to SHA-256("").
#[test]
fn compress_is_sha256_compression() {
    const SHA256_IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut padded = [0u8; 64];
    padded[0] = 0x80;
    let expected: [u8; 32] = Sha256::digest(b"").into();
    assert_eq!(compress(SHA256_IV, &padded), expected);
}

#[test]
fn node_hash_is_ordered_and_separated_from_rfc6962_nodes() {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    assert_ne!(node_hash(&a, &b), crate::merkle::node_hash(&a, &b));
    assert_eq!(node_hash(&a, &b), node_hash(&a, &b));
}

fn outpoint(i: u32) -> OutPoint {
    OutPoint {
        txid: TxId([i as u8; 32]),
        index: i,
    }
}

fn entry(i: u32) -> Entry {
    Entry::unlocked(TxOutput {
        amount: u64::from(i) + 1,
        owner: [(i % 7) as u8; 32],
    })
}

fn sample(n: u32) -> Vec<(OutPoint, Entry)> {
    (0..n).map(|i| (outpoint(i), entry(i))).collect()
}

#[test]
fn root_is_independent_of_insertion_order_and_history() {
    let mut forward = StateTree::from_entries(sample(300)).unwrap();
    let mut backward = StateTree::from_entries(sample(300).into_iter().rev()).unwrap();
    assert_eq!(forward.root(), backward.root());
    let empty_root = StateTree::new().root();
    assert_ne!(forward.root(), empty_root);
    for (o, _) in sample(300) {
        backward.remove(&o);
    }
    assert_eq!(backward.root(), empty_root);
    assert!(backward.is_empty());
}

#[test]
fn a_repeated_outpoint_is_refused_in_bulk_too() {
    let mut twice = sample(10);
    twice.push((outpoint(3), entry(4)));
    assert_eq!(
        StateTree::from_entries(twice).unwrap_err(),
        StateTreeError::Exists(outpoint(3))
    );
}

#[test]
fn incremental_root_equals_rebuilt_root() {
    let mut tree = StateTree::from_entries(sample(200)).unwrap();
    tree.root();
    tree.remove(&outpoint(5));
    tree.set_lock(&outpoint(6), Some(LockId([9; 32]))).unwrap();
    tree.insert(outpoint(1000), entry(1000)).unwrap();
    let mut rebuilt = StateTree::from_entries(
        sample(200)
            .into_iter()
            .filter(|(o, _)| *o != outpoint(5))
            .map(|(o, e)| {
                if o == outpoint(6) {
                    (
                        o,
                        Entry {
                            locked_by: Some(LockId([9; 32])),
                            ..e
                        },
                    )
                } else {
                    (o, e)
                }
            })
            .chain([(outpoint(1000), entry(1000))]),
    )
    .unwrap();
    assert_eq!(tree.root(), rebuilt.root());
}

#[test]
fn proofs_show_presence_and_absence_and_nothing_else() {
    let mut tree = StateTree::from_entries(sample(500)).unwrap();
    let root = tree.root();
    for i in [0, 17, 499] {
        let p = tree.prove(&outpoint(i));
        assert_eq!(p.verify(&root, &outpoint(i)), Ok(Some(entry(i))));
    }
    let absent = outpoint(777);
    let p = tree.prove(&absent);
    assert_eq!(p.verify(&root, &absent), Ok(None));

    // Hiding an entry, changing it, or using another bucket's proof all fail.
    let present = outpoint(17);
    let mut hidden = tree.prove(&present);
    hidden.entries.retain(|(o, _)| *o != present);
    assert_eq!(
        hidden.verify(&root, &present),
        Err(StateProofError::RootMismatch)
    );
    let mut changed = tree.prove(&present);
    for (o, e) in &mut changed.entries {
        if *o == present {
            e.output.amount += 1;
        }
    }
    assert_eq!(
        changed.verify(&root, &present),
        Err(StateProofError::RootMismatch)
    );
    let other = (0..500)
        .map(outpoint)
        .find(|o| bucket_of(o) != bucket_of(&present))
        .unwrap();
    assert!(matches!(
        tree.prove(&other).verify(&root, &present),
        Err(StateProofError::WrongBucket { .. })
    ));
    let mut short = tree.prove(&present);
    short.path.pop();
    assert_eq!(
        short.verify(&root, &present),
        Err(StateProofError::PathLength { found: 15 })
    );
}

#[test]
fn a_proof_listing_an_entry_twice_or_out_of_order_is_refused() {
    // Same txid, indices 2^16 apart: the same bucket.
    let a = outpoint(7);
    let b = OutPoint {
        index: a.index + (1 << 16),
        ..a
    };
    assert_eq!(bucket_of(&a), bucket_of(&b));
    let mut tree = StateTree::from_entries([(a, entry(1)), (b, entry(2))]).unwrap();
    let root = tree.root();
    let mut p = tree.prove(&a);
    p.entries.swap(0, 1);
    assert_eq!(
        p.verify(&root, &a),
        Err(StateProofError::Unsorted { index: 1 })
    );
    let mut p = tree.prove(&a);
    let first = p.entries[0];
    p.entries.push(first);
    assert!(matches!(
        p.verify(&root, &a),
        Err(StateProofError::Unsorted { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Random inserts and removes (with roots asked in between): the incremental root equals
    /// a fresh tree's over the final entries, and every proof tells the truth.
    #[test]
    fn incremental_tree_matches_a_fresh_one(
        ops in proptest::collection::vec((0u32..64, proptest::prelude::any::<bool>(),
            proptest::prelude::any::<bool>()), 1..200)
    ) {
        let mut tree = StateTree::new();
        let mut model = std::collections::BTreeMap::new();
        for (i, insert, ask_root) in ops {
            if insert {
                let fresh = !model.contains_key(&outpoint(i));
                proptest::prop_assert_eq!(tree.insert(outpoint(i), entry(i)).is_ok(), fresh);
                model.insert(outpoint(i), entry(i));
            } else {
                proptest::prop_assert_eq!(tree.remove(&outpoint(i)), model.remove(&outpoint(i)));
            }
            if ask_root {
                tree.root();
            }
        }
        let root = tree.root();
        let mut fresh = StateTree::from_entries(model.clone()).unwrap();
        proptest::prop_assert_eq!(root, fresh.root());
        proptest::prop_assert_eq!(tree.len(), model.len());
        for i in 0..64 {
            let o = outpoint(i);
            proptest::prop_assert_eq!(tree.prove(&o).verify(&root, &o), Ok(model.get(&o).copied()));
        }
    }
}

#[test]
fn apply_transaction_is_all_or_nothing() {
    let mut tree = StateTree::from_entries(sample(3)).unwrap();
    let before = tree.root();
    let tx = Transaction {
        inputs: vec![crate::tx::TxInput {
            prev: outpoint(99),
            owner: [0; 32],
            signature: [0; 64],
        }],
        outputs: vec![entry(1).output],
    };
    assert_eq!(
        tree.apply_transaction(&tx),
        Err(StateTreeError::Missing(outpoint(99)))
    );
    assert_eq!(tree.root(), before);
}

/// An outpoint whose txid is a hash of `i`, so outpoints spread over every bucket and subtree.
fn spread_outpoint(i: u32) -> OutPoint {
    OutPoint {
        txid: TxId(Sha256::digest(i.to_le_bytes()).into()),
        index: i % 3,
    }
}

/// The root from the definition alone, independent of the tree's incremental bookkeeping: each
/// bucket's leaf from its entries in outpoint order, then every inner node, bottom up.
fn root_from_scratch(entries: &std::collections::BTreeMap<OutPoint, Entry>) -> Hash {
    let mut buckets: Vec<Vec<(OutPoint, Entry)>> = vec![Vec::new(); BUCKETS];
    for (o, e) in entries {
        buckets[bucket_of(o)].push((*o, *e));
    }
    let mut nodes = vec![[0u8; 32]; 2 * BUCKETS];
    for (b, bucket) in buckets.iter().enumerate() {
        nodes[BUCKETS + b] = bucket_hash(bucket);
    }
    for i in (1..BUCKETS).rev() {
        nodes[i] = node_hash(&nodes[2 * i], &nodes[2 * i + 1]);
    }
    nodes[1]
}

/// A tree built from many entries (every subtree changed at once: the parallel refresh) has the
/// root of the definition.
#[test]
fn a_bulk_built_tree_has_the_defined_root() {
    let model: std::collections::BTreeMap<OutPoint, Entry> = (0..40_000)
        .map(|i| (spread_outpoint(i), entry(i)))
        .collect();
    let mut tree = StateTree::from_entries(model.clone()).unwrap();
    assert_eq!(tree.root(), root_from_scratch(&model));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Batches of changes between roots, some touching fewer buckets than the parallel refresh's
    /// threshold (rehashed on the calling thread), some many more (rehashed per subtree in
    /// parallel), over outpoints spread across every subtree: after each batch the incremental
    /// root is the root of the definition, and proofs tell the truth.
    #[test]
    fn both_refresh_paths_give_the_defined_root(
        batches in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), 0u32..4_000, proptest::prelude::any::<u64>()),
            1..5)
    ) {
        use rand::{Rng, SeedableRng};
        let mut tree = StateTree::new();
        let mut model = std::collections::BTreeMap::new();
        for (large, size, seed) in batches {
            let ops = if large {
                PARALLEL_REFRESH_MIN_BUCKETS as u32 * 2 + size
            } else {
                1 + size % (PARALLEL_REFRESH_MIN_BUCKETS as u32 / 2)
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for _ in 0..ops {
                let i = rng.random_range(0..6_000u32);
                let o = spread_outpoint(i);
                if rng.random_bool(0.6) {
                    let fresh = !model.contains_key(&o);
                    proptest::prop_assert_eq!(tree.insert(o, entry(i)).is_ok(), fresh);
                    model.entry(o).or_insert(entry(i));
                } else {
                    proptest::prop_assert_eq!(tree.remove(&o), model.remove(&o));
                }
            }
            let root = tree.root();
            proptest::prop_assert_eq!(root, root_from_scratch(&model));
            for i in [0, 1, 2_999, 5_999] {
                let o = spread_outpoint(i);
                proptest::prop_assert_eq!(
                    tree.prove(&o).verify(&root, &o),
                    Ok(model.get(&o).copied())
                );
            }
        }
    }
}
