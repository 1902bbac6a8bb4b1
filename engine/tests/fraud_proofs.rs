//! Fraud proofs: one of each kind of invalidity is built from a sampled finding and verifies (also
//! after a JSON round trip); tampered proofs are refused; and on random valid blocks no proof can be
//! built, nor does any claim, with the best evidence an accuser can assemble, verify.

use ed25519_dalek::SigningKey;
use iosv_engine::fraud::{
    BuildError, Claim, FraudKind, FraudProof, FraudProofError, SignedHeader, Source, TxWitness,
    build,
};
use iosv_engine::sampling::{AuditError, audit, revalidate};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{
    BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxInput, TxOutput,
    tx_inclusion_proof, tx_leaves, tx_root,
};
use iosv_engine::utxo::{LockId, StateTree, UtxoSet};
use iosv_engine::vrf::SecretKey;
use iosv_engine::workload::signing_key;
use proptest::prelude::*;

const KEY_SEED: u64 = 0xf4a0d;

fn key(i: u64) -> SigningKey {
    signing_key(KEY_SEED, i)
}

fn pk(i: u64) -> [u8; 32] {
    key(i).verifying_key().to_bytes()
}

fn genesis_point(i: u32) -> OutPoint {
    OutPoint {
        txid: TxId([0xee; 32]),
        index: i,
    }
}

/// A transaction spending `prev` (each signed by the given key) into `outputs`.
fn spend(prev: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
    let mut tx = Transaction {
        inputs: prev
            .iter()
            .map(|(p, _)| TxInput {
                prev: *p,
                owner: [0; 32],
                signature: [0; 64],
            })
            .collect(),
        outputs: outputs
            .iter()
            .map(|&(amount, owner)| TxOutput {
                amount,
                owner: pk(owner),
            })
            .collect(),
    };
    let keys: Vec<SigningKey> = prev.iter().map(|&(_, k)| key(k)).collect();
    tx.sign(&keys).unwrap();
    tx
}

fn out(tx: &Transaction, index: u32) -> OutPoint {
    OutPoint {
        txid: tx.txid(),
        index,
    }
}

/// The state before every test block: genesis output `i` of 100 owned by key `i` (0..20), two
/// huge outputs owned by key 30, and genesis 19 locked.
fn pre_state() -> UtxoSet {
    let set = UtxoSet::new();
    for i in 0..20 {
        set.insert_genesis(
            genesis_point(i),
            TxOutput {
                amount: 100,
                owner: pk(u64::from(i)),
            },
        )
        .unwrap();
    }
    for i in [100, 101] {
        set.insert_genesis(
            genesis_point(i),
            TxOutput {
                amount: u64::MAX / 2 + 1,
                owner: pk(30),
            },
        )
        .unwrap();
    }
    set.lock(LockId([7; 32]), &[genesis_point(19)]).unwrap();
    set
}

const PROPOSER: u64 = 999;

fn header_for(txs: &[Transaction], tree: &mut StateTree) -> SignedHeader {
    let header = BlockHeader {
        version: HEADER_VERSION,
        shard: 1,
        height: 42,
        prev_hash: [9; 32],
        tx_root: tx_root(txs),
        tx_count: u32::try_from(txs.len()).unwrap(),
        pre_state_root: tree.root(),
        state_root: [0; 32],
        timestamp_ms: 1_700_000_000_000,
        proposer: [0; 32],
    };
    SignedHeader::sign(header, &key(PROPOSER))
}

/// Builds the proof for `index`, checks it verifies as `kind` (also after JSON), and that the other
/// indices — valid here — refuse to build.
fn prove_and_check(
    set: &UtxoSet,
    txs: &[Transaction],
    index: usize,
    kind: FraudKind,
) -> FraudProof {
    let mut tree = StateTree::from_set(set);
    let header = header_for(txs, &mut tree);
    let proof = build(&header, txs, set, &mut tree, index).expect("a proof");
    let proven = proof.verify().expect("the proof verifies");
    assert_eq!(proven.kind, kind);
    assert_eq!(proven.index, index as u64);
    assert_eq!(proven.txid, txs[index].txid());
    assert_eq!(proven.proposer, pk(PROPOSER));
    let json = serde_json::to_string(&proof).unwrap();
    let back: FraudProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back.verify(), Ok(proven));
    for other in (0..txs.len()).filter(|&i| i != index) {
        assert_eq!(
            build(&header, txs, set, &mut tree, other).unwrap_err(),
            BuildError::Valid { index: other },
            "transaction {other} is valid"
        );
    }
    // The sampling re-validation finds exactly the accused transaction.
    let all: Vec<usize> = (0..txs.len()).collect();
    let findings = revalidate(set, txs, &all, &Verifier::new(Backend::Cpu).unwrap());
    assert_eq!(
        findings.iter().map(|f| f.index).collect::<Vec<_>>(),
        vec![index]
    );
    proof
}

#[test]
fn bad_signature() {
    let set = pre_state();
    let mut bad = spend(&[(genesis_point(1), 1)], &[(100, 2)]);
    bad.inputs[0].signature[0] ^= 1;
    let txs = vec![spend(&[(genesis_point(0), 0)], &[(100, 1)]), bad];
    prove_and_check(&set, &txs, 1, FraudKind::BadSignature);
}

#[test]
fn malformed_transaction() {
    let set = pre_state();
    let txs = vec![
        spend(&[(genesis_point(0), 0)], &[(100, 1)]),
        spend(&[(genesis_point(1), 1)], &[(0, 2)]),
    ];
    prove_and_check(&set, &txs, 1, FraudKind::Malformed);
}

#[test]
fn unknown_outpoint_never_created() {
    let set = pre_state();
    let ghost = OutPoint {
        txid: TxId([0x42; 32]),
        index: 0,
    };
    let txs = vec![
        spend(&[(genesis_point(0), 0)], &[(100, 1)]),
        spend(&[(ghost, 2)], &[(1, 2)]),
    ];
    prove_and_check(&set, &txs, 1, FraudKind::UnknownOutpoint);
}

#[test]
fn unknown_outpoint_beyond_an_earlier_transactions_outputs() {
    let set = pre_state();
    let first = spend(&[(genesis_point(0), 0)], &[(100, 1)]);
    let second = spend(&[(out(&first, 3), 1)], &[(1, 2)]);
    let proof = prove_and_check(&set, &[first, second], 1, FraudKind::UnknownOutpoint);
    let Claim::UnknownOutpoint { creator, .. } = &proof.claim else {
        panic!("wrong claim")
    };
    assert!(creator.is_some(), "the creator shows it has no output 3");

    // Without the creator, the claim is refused: the outpoint's txid is in the block prefix.
    let mut stripped = proof.clone();
    if let Claim::UnknownOutpoint { creator, .. } = &mut stripped.claim {
        *creator = None;
    }
    assert!(matches!(
        stripped.verify(),
        Err(FraudProofError::CreatedInBlock { .. })
    ));
}

#[test]
fn locked_outpoint() {
    let set = pre_state();
    let txs = vec![spend(&[(genesis_point(19), 19)], &[(100, 1)])];
    prove_and_check(&set, &txs, 0, FraudKind::Locked);
}

#[test]
fn wrong_owner_in_the_pre_state() {
    let set = pre_state();
    let txs = vec![spend(&[(genesis_point(3), 4)], &[(100, 4)])];
    prove_and_check(&set, &txs, 0, FraudKind::WrongOwner);
}

#[test]
fn wrong_owner_of_an_output_created_in_the_block() {
    let set = pre_state();
    let first = spend(&[(genesis_point(5), 5)], &[(100, 5)]);
    let second = spend(&[(out(&first, 0), 6)], &[(100, 6)]);
    let proof = prove_and_check(&set, &[first, second], 1, FraudKind::WrongOwner);
    assert!(matches!(
        proof.claim,
        Claim::WrongOwner {
            source: Source::InBlock(_),
            ..
        }
    ));
}

#[test]
fn double_spend_within_the_block() {
    let set = pre_state();
    let txs = vec![
        spend(&[(genesis_point(4), 4)], &[(100, 1)]),
        spend(&[(genesis_point(6), 6)], &[(100, 1)]),
        spend(&[(genesis_point(4), 4)], &[(100, 2)]),
    ];
    prove_and_check(&set, &txs, 2, FraudKind::DoubleSpend);
}

#[test]
fn inputs_overflow() {
    let set = pre_state();
    let txs = vec![spend(
        &[(genesis_point(100), 30), (genesis_point(101), 30)],
        &[(1, 1)],
    )];
    prove_and_check(&set, &txs, 0, FraudKind::InputsOverflow);
}

#[test]
fn insufficient_funds() {
    let set = pre_state();
    let txs = vec![
        spend(&[(genesis_point(7), 7)], &[(60, 7), (40, 8)]),
        spend(&[(genesis_point(8), 8)], &[(150, 8)]),
    ];
    prove_and_check(&set, &txs, 1, FraudKind::InsufficientFunds);
}

#[test]
fn insufficient_funds_with_a_source_in_the_block() {
    let set = pre_state();
    let first = spend(&[(genesis_point(9), 9)], &[(60, 9), (40, 10)]);
    let second = spend(
        &[(out(&first, 1), 10), (genesis_point(10), 10)],
        &[(141, 10)],
    );
    prove_and_check(&set, &[first, second], 1, FraudKind::InsufficientFunds);
}

#[test]
fn output_that_already_exists() {
    let set = pre_state();
    let tx = spend(&[(genesis_point(11), 11)], &[(100, 11)]);
    set.insert_genesis(out(&tx, 0), tx.outputs[0]).unwrap();
    prove_and_check(&set, &[tx], 0, FraudKind::OutputExists);
}

fn sample_proof() -> (UtxoSet, FraudProof) {
    let set = pre_state();
    let txs = vec![
        spend(&[(genesis_point(4), 4)], &[(100, 1)]),
        spend(&[(genesis_point(4), 4)], &[(100, 2)]),
    ];
    let proof = prove_and_check(&set, &txs, 1, FraudKind::DoubleSpend);
    (set, proof)
}

#[test]
fn tampered_proofs_are_refused() {
    let (_, proof) = sample_proof();

    let mut p = proof.clone();
    p.header.signature[10] ^= 1;
    assert_eq!(p.verify(), Err(FraudProofError::BadHeaderSignature));

    let mut p = proof.clone();
    p.header.header.tx_count += 1;
    assert_eq!(
        p.verify(),
        Err(FraudProofError::BadHeaderSignature),
        "the header is signed as a whole"
    );

    let mut p = proof.clone();
    let last = p.accused.bytes.len() - 1;
    p.accused.bytes[last] ^= 1;
    assert!(matches!(
        p.verify(),
        Err(FraudProofError::NotInBlock { .. })
    ));

    let mut p = proof.clone();
    p.accused.inclusion.index = 0;
    assert!(matches!(
        p.verify(),
        Err(FraudProofError::NotInBlock { .. })
    ));

    let mut p = proof.clone();
    p.accused.bytes.push(0);
    assert!(matches!(
        p.verify(),
        Err(FraudProofError::Undecodable { .. })
    ));

    // Accusing the earlier (valid) transaction of double spending against the later one.
    let mut p = proof.clone();
    if let Claim::DoubleSpend { earlier, .. } = &mut p.claim {
        std::mem::swap(earlier, &mut p.accused);
    }
    assert!(matches!(
        p.verify(),
        Err(FraudProofError::NotEarlier { .. })
    ));

    // A proof re-signed by someone else convicts that someone else, not the proposer.
    let mut p = proof.clone();
    p.header = SignedHeader::sign(p.header.header.clone(), &key(12345));
    assert_eq!(p.verify().unwrap().proposer, pk(12345));
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    let (_, proof) = sample_proof();
    let json = serde_json::to_string(&proof).unwrap();
    for cut in [0, 1, json.len() / 3, json.len() / 2, json.len() - 1] {
        assert!(serde_json::from_str::<FraudProof>(&json[..cut]).is_err());
    }
    let broken = json.replacen("\"header\":\"", "\"header\":\"00", 1);
    assert!(serde_json::from_str::<FraudProof>(&broken).is_err());
}

/// Every claim an accuser could make about transaction `index` of a block, with the most honest
/// evidence available from the real state and block.
fn every_claim(txs: &[Transaction], tree: &mut StateTree, index: usize) -> Vec<(TxWitness, Claim)> {
    let leaves = tx_leaves(txs);
    let witness = |i: usize| TxWitness {
        bytes: txs[i].encode(),
        inclusion: tx_inclusion_proof(&leaves, i).unwrap(),
    };
    let tx = &txs[index];
    let mut source = |o: &OutPoint| match (0..index).find(|&j| txs[j].txid() == o.txid) {
        Some(j) if tree.get(o).is_none() => Source::InBlock(witness(j)),
        _ => Source::PreState(tree.prove(o)),
    };
    let sources: Vec<Source> = tx.inputs.iter().map(|i| source(&i.prev)).collect();
    let mut claims = vec![
        Claim::Malformed,
        Claim::InputsOverflow {
            sources: sources.clone(),
        },
        Claim::InsufficientFunds {
            sources: sources.clone(),
        },
    ];
    for (input, i) in tx.inputs.iter().enumerate() {
        claims.push(Claim::BadSignature { input });
        claims.push(Claim::UnknownOutpoint {
            input,
            absent: tree.prove(&i.prev),
            leaves: leaves.clone(),
            creator: (0..index)
                .find(|&j| txs[j].txid() == i.prev.txid)
                .map(witness),
        });
        claims.push(Claim::Locked {
            input,
            entry: tree.prove(&i.prev),
        });
        claims.push(Claim::WrongOwner {
            input,
            source: sources[input].clone(),
        });
        for j in 0..index {
            claims.push(Claim::DoubleSpend {
                input,
                earlier: witness(j),
            });
        }
    }
    for output in 0..tx.outputs.len() {
        claims.push(Claim::OutputExists {
            output,
            existing: tree.prove(&out(tx, output as u32)),
        });
    }
    claims.into_iter().map(|c| (witness(index), c)).collect()
}

/// A random valid block: spends of genesis outputs and of outputs created earlier in the block,
/// each to one or two new owners.
fn valid_block(choices: &[(bool, u8, bool)]) -> Vec<Transaction> {
    let mut unspent: Vec<(OutPoint, u64, u64)> = (0..18)
        .map(|i| (genesis_point(i), 100, u64::from(i)))
        .collect();
    let mut txs = Vec::new();
    for &(from_block, pick, split) in choices {
        let candidates: Vec<usize> = (0..unspent.len())
            .filter(|&i| from_block == (unspent[i].0.txid != TxId([0xee; 32])))
            .collect();
        let Some(&slot) = candidates.get(usize::from(pick) % candidates.len().max(1)) else {
            continue;
        };
        let (prev, amount, owner) = unspent.swap_remove(slot);
        let new_owner = (owner + 1) % 25;
        let outputs: Vec<(u64, u64)> = if split && amount > 1 {
            vec![(amount / 2, new_owner), (amount - amount / 2, owner)]
        } else {
            vec![(amount, new_owner)]
        };
        let tx = spend(&[(prev, owner)], &outputs);
        for (i, &(a, o)) in outputs.iter().enumerate() {
            unspent.push((out(&tx, i as u32), a, o));
        }
        txs.push(tx);
    }
    txs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_proof_against_a_valid_block(
        choices in prop::collection::vec((any::<bool>(), any::<u8>(), any::<bool>()), 1..12)
    ) {
        let set = pre_state();
        let txs = valid_block(&choices);
        prop_assume!(!txs.is_empty());
        prop_assert!(set.validate_batch(&txs).iter().all(Result::is_ok));
        let mut tree = StateTree::from_set(&set);
        let header = header_for(&txs, &mut tree);
        for index in 0..txs.len() {
            prop_assert_eq!(
                build(&header, &txs, &set, &mut tree, index).unwrap_err(),
                BuildError::Valid { index }
            );
            for (accused, claim) in every_claim(&txs, &mut tree, index) {
                let proof = FraudProof { header: header.clone(), accused, claim };
                prop_assert!(
                    proof.verify().is_err(),
                    "a {:?} claim against valid transaction {} verified",
                    proof.claim.kind(),
                    index
                );
            }
        }
    }
}

/// The whole normal-league audit with p = 1: the invalid transaction and the one that fails only
/// because of it give a single proof against the guilty one; an honest block gives none; a body
/// that does not match the header is refused before any sampling.
#[test]
fn audit_turns_findings_into_proofs() {
    let set = pre_state();
    let vrf = SecretKey::from_seed(&[3; 32]);
    let verifier = Verifier::new(Backend::Cpu).unwrap();
    let overdraw = spend(&[(genesis_point(12), 12)], &[(150, 12)]);
    let dependent = spend(&[(out(&overdraw, 0), 12)], &[(150, 13)]);
    let txs = vec![
        spend(&[(genesis_point(13), 13)], &[(100, 1)]),
        overdraw,
        dependent,
    ];
    let mut tree = StateTree::from_set(&set);
    let header = header_for(&txs, &mut tree);
    let a = audit(&header, &txs, &set, &mut tree, &vrf, 1.0, &verifier).unwrap();
    assert_eq!(a.sampled, vec![0, 1, 2]);
    assert_eq!(
        a.findings.iter().map(|f| f.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(a.proofs.len(), 1);
    assert!(a.unproven.is_empty());
    let proven = a.proofs[0].verify().unwrap();
    assert_eq!(
        (proven.index, proven.kind),
        (1, FraudKind::InsufficientFunds)
    );

    let honest = vec![spend(&[(genesis_point(14), 14)], &[(100, 1)])];
    let header = header_for(&honest, &mut tree);
    let a = audit(&header, &honest, &set, &mut tree, &vrf, 1.0, &verifier).unwrap();
    assert!(a.findings.is_empty() && a.proofs.is_empty());

    assert_eq!(
        audit(&header, &txs, &set, &mut tree, &vrf, 1.0, &verifier).unwrap_err(),
        AuditError::BodyMismatch
    );
    let mut forged = header.clone();
    forged.signature[0] ^= 1;
    assert_eq!(
        audit(&forged, &honest, &set, &mut tree, &vrf, 1.0, &verifier).unwrap_err(),
        AuditError::BadHeaderSignature
    );
}
