//! The normal league's sampling re-validation: findings on honest and faulty optimistic blocks,
//! VRF-seeded selection, and the measured escape rate of an invalid transaction against
//! `(1 − p)^k`.

use std::collections::HashMap;

use iosv_engine::sampling::{
    Finding, FindingReason, SamplingSeed, is_selected, revalidate, revalidate_signatures, select,
};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{BlockHeader, OutPoint, Transaction, TxInput, TxOutput};
use iosv_engine::utxo::{UtxoError, UtxoSet};
use iosv_engine::vrf::SecretKey;
use iosv_engine::workload::{KeyReuse, TxWorkload, signing_key};

const WORKLOAD_SEED: u64 = 0x5a3d;
const TXS: usize = 300;
const INPUTS: usize = 2;

/// An honest block: the state before it and its transactions.
fn honest_block() -> (UtxoSet, Vec<Transaction>) {
    let w = TxWorkload::generate(TXS, INPUTS, KeyReuse::Distinct, WORKLOAD_SEED);
    let set = UtxoSet::new();
    for (outpoint, output) in &w.genesis {
        set.insert_genesis(*outpoint, *output).unwrap();
    }
    let txs = w
        .txs
        .iter()
        .map(|b| Transaction::decode(b).unwrap())
        .collect();
    (set, txs)
}

fn verifier() -> Verifier {
    Verifier::new(Backend::Cpu).unwrap()
}

fn header_hash(height: u64) -> [u8; 32] {
    BlockHeader {
        version: 1,
        shard: 0,
        height,
        prev_hash: [0x11; 32],
        tx_root: [0x22; 32],
        tx_count: 0,
        pre_state_root: [0x55; 32],
        state_root: [0x33; 32],
        timestamp_ms: 1_700_000_000_000 + height,
        proposer: [0x44; 32],
    }
    .hash()
}

/// A signed transaction spending `prev` (owned by workload key `key_index`) to `owner`.
fn spend(prev: OutPoint, key_index: u64, amount: u64) -> Transaction {
    let mut tx = Transaction {
        inputs: vec![TxInput {
            prev,
            owner: [0; 32],
            signature: [0; 64],
        }],
        outputs: vec![TxOutput {
            amount,
            owner: [0x77; 32],
        }],
    };
    tx.sign(&[signing_key(WORKLOAD_SEED, key_index)]).unwrap();
    tx
}

fn all(txs: &[Transaction]) -> Vec<usize> {
    select(&SamplingSeed([9; 64]), txs.len(), 1.0)
}

#[test]
fn honest_block_gives_no_findings() {
    let (set, mut txs) = honest_block();
    let v = verifier();
    assert_eq!(
        revalidate(&set, &txs, &all(&txs), &v),
        Vec::<Finding>::new()
    );

    // A spend of an output created earlier in the same block is judged in block order: valid.
    // With distinct keys, the workload's output owners are workload keys; find tx 10's receiver.
    let receiver = txs[10].outputs[0].owner;
    let keys: HashMap<[u8; 32], u64> = (0..(TXS * INPUTS) as u64)
        .map(|i| (signing_key(WORKLOAD_SEED, i).verifying_key().to_bytes(), i))
        .collect();
    let prev = OutPoint {
        txid: txs[10].txid(),
        index: 0,
    };
    let chained = spend(prev, keys[&receiver], txs[10].outputs[0].amount);
    txs.push(chained);
    let sample = all(&txs);
    assert_eq!(revalidate(&set, &txs, &sample, &v), Vec::<Finding>::new());

    // The same spend placed before the transaction that creates its input is invalid.
    let early = txs.pop().unwrap();
    txs.insert(5, early);
    let findings = revalidate(&set, &txs, &all(&txs), &v);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].index, 5);
    assert_eq!(
        findings[0].reason,
        FindingReason::Utxo(UtxoError::UnknownOutpoint { outpoint: prev })
    );
    // The pre-state is only read.
    assert_eq!(set.len(), TXS * INPUTS);
}

#[test]
fn bad_signature_is_found() {
    let (set, mut txs) = honest_block();
    let bad = 137;
    txs[bad].inputs[1].signature[40] ^= 0x01;
    let findings = revalidate(&set, &txs, &all(&txs), &verifier());
    assert_eq!(
        findings,
        vec![Finding {
            index: bad,
            txid: txs[bad].txid(),
            reason: FindingReason::BadSignature { input: 1 },
        }]
    );
    assert!(findings[0].to_string().contains("bad signature on input 1"));
    // Not sampled, not found.
    let others: Vec<usize> = (0..txs.len()).filter(|&i| i != bad).collect();
    assert!(revalidate(&set, &txs, &others, &verifier()).is_empty());
}

#[test]
fn double_spend_is_found() {
    let (set, mut txs) = honest_block();
    // Tx 50's input 0 spends genesis output 100, owned by workload key 100 (distinct keys).
    let prev = txs[50].inputs[0].prev;
    let double = spend(prev, (50 * INPUTS) as u64, 1_000);
    let at = 200;
    txs.insert(at, double);
    let findings = revalidate(&set, &txs, &all(&txs), &verifier());
    let expected = UtxoError::DoubleSpend {
        outpoint: prev,
        first_tx_index: 50,
    };
    assert_eq!(
        findings,
        vec![Finding {
            index: at,
            txid: txs[at].txid(),
            reason: FindingReason::Utxo(expected.clone()),
        }]
    );
    assert_eq!(findings[0].reason.to_string(), expected.to_string());
    // Found when sampled alone too (the prefix is still validated in order).
    assert_eq!(
        revalidate(&set, &txs, &[at, at, 10_000], &verifier()),
        findings
    );
}

/// The signature half alone: it finds exactly revalidate's bad-signature findings (and not the
/// UTXO ones, which a replica that applied the block judged already), on any sample.
#[test]
fn signature_revalidation_matches_the_full_one_on_signatures() {
    let (set, mut txs) = honest_block();
    txs[137].inputs[1].signature[40] ^= 0x01;
    txs[12].inputs[0].signature[3] ^= 0x80;
    let prev = txs[50].inputs[0].prev;
    txs.insert(200, spend(prev, (50 * INPUTS) as u64, 1_000));
    let txids: Vec<_> = txs.iter().map(Transaction::txid).collect();
    let v = verifier();
    for sample in [
        all(&txs),
        vec![137, 200, 137, 99_999],
        vec![0, 1, 2],
        vec![],
    ] {
        let full: Vec<Finding> = revalidate(&set, &txs, &sample, &v)
            .into_iter()
            .filter(|f| matches!(f.reason, FindingReason::BadSignature { .. }))
            .collect();
        assert_eq!(revalidate_signatures(&txs, &txids, &sample, &v), full);
    }
    let found = revalidate_signatures(&txs, &txids, &all(&txs), &v);
    let indices: Vec<usize> = found.iter().map(|f| f.index).collect();
    assert_eq!(indices, vec![12, 137]);
}

#[test]
fn selection_is_deterministic_and_seed_is_verifiable() {
    let sk = SecretKey::from_seed(&[1; 32]);
    let other = SecretKey::from_seed(&[2; 32]);
    let (h1, h2) = (header_hash(1), header_hash(2));
    let (seed, proof) = SamplingSeed::derive(&sk, &h1);
    let pk = sk.public().to_bytes();

    // Anyone recomputes the seed, hence the sample, from the public key and the proof.
    let checked = SamplingSeed::verify(&pk, &h1, &proof).unwrap();
    assert_eq!(checked, seed);
    assert_eq!(select(&checked, 1000, 0.1), select(&seed, 1000, 0.1));
    assert_eq!(SamplingSeed::derive(&sk, &h1), (seed, proof));

    // A proof for another header, or checked under another key, is rejected.
    assert!(SamplingSeed::verify(&pk, &h2, &proof).is_err());
    assert!(SamplingSeed::verify(&other.public().to_bytes(), &h1, &proof).is_err());
    let (_, other_proof) = SamplingSeed::derive(&other, &h1);
    assert!(SamplingSeed::verify(&pk, &h1, &other_proof).is_err());

    // Different keys or headers give different seeds and samples.
    let seed_other_key = SamplingSeed::derive(&other, &h1).0;
    let seed_other_header = SamplingSeed::derive(&sk, &h2).0;
    assert_ne!(seed, seed_other_key);
    assert_ne!(seed, seed_other_header);
    assert_ne!(select(&seed, 1000, 0.3), select(&seed_other_key, 1000, 0.3));
    assert_ne!(
        select(&seed, 1000, 0.3),
        select(&seed_other_header, 1000, 0.3)
    );

    // The sample depends only on (seed, tx_count, p), and per index only on (seed, i, p).
    let s = select(&seed, 1000, 0.3);
    assert_eq!(s, select(&seed, 1000, 0.3));
    assert_eq!(
        s,
        (0..1000)
            .filter(|&i| is_selected(&seed, i, 0.3))
            .collect::<Vec<_>>()
    );
    assert!(select(&seed, 1000, 0.0).is_empty());
    assert_eq!(select(&seed, 1000, 1.0).len(), 1000);
}

/// The escape-rate test: an invalid transaction at a fixed index escapes `k` independent samplers
/// with probability `(1 − p)^k`.
///
/// Each trial is a new header; each of 4 validators has its own VRF key, so its seed per trial is
/// independent of the others'. The `k`-validator cell uses validators `0..k`, and the cells for
/// different `p` reuse the same seeds: every cell is an unbiased estimate on its own (the cells are
/// correlated with each other, which the per-cell bound does not care about). Deterministic keys and
/// headers: the test cannot flake.
#[test]
fn escape_rate_matches_one_minus_p_to_the_k() {
    const TRIALS: usize = 4_000;
    const VALIDATORS: usize = 4;
    const BLOCK_LEN: usize = 32;
    const BAD_INDEX: usize = 17;
    let keys: Vec<SecretKey> = (0..VALIDATORS)
        .map(|v| SecretKey::from_seed(&[0xa0 + v as u8; 32]))
        .collect();
    // seeds[trial][validator]
    let seeds: Vec<Vec<SamplingSeed>> = (0..TRIALS)
        .map(|t| {
            let h = header_hash(t as u64);
            keys.iter()
                .map(|sk| SamplingSeed::derive(sk, &h).0)
                .collect()
        })
        .collect();

    println!("escape rate of one invalid tx (index {BAD_INDEX} of {BLOCK_LEN})");
    println!(
        "{:>5} {:>2} {:>9} {:>9} {:>7} {:>6}",
        "p", "k", "expected", "measured", "trials", "z"
    );
    let mut worst: f64 = 0.0;
    for p in [0.05, 0.1, 0.3] {
        for k in [1usize, 2, 4] {
            let escaped = seeds
                .iter()
                .filter(|per_validator| {
                    per_validator[..k]
                        .iter()
                        .all(|seed| !select(seed, BLOCK_LEN, p).contains(&BAD_INDEX))
                })
                .count();
            let q = (1.0 - p).powi(k as i32);
            let measured = escaped as f64 / TRIALS as f64;
            let sigma = (q * (1.0 - q) / TRIALS as f64).sqrt();
            let z = (measured - q) / sigma;
            worst = worst.max(z.abs());
            println!("{p:>5} {k:>2} {q:>9.4} {measured:>9.4} {TRIALS:>7} {z:>6.2}");
            assert!(
                z.abs() <= 4.5,
                "p={p} k={k}: measured {measured}, expected {q} ({z:.2} sigma)"
            );
        }
    }
    println!("largest deviation: {worst:.2} sigma");
}
