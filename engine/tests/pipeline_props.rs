//! The pipeline against a sequential reference validator: for random transaction streams (valid
//! spends, chained spends, double spends, unknown outpoints, wrong owners, overspends, bad
//! signatures, resubmissions, undecodable bytes), the pipeline commits exactly the transactions
//! the reference commits, and ends in the same UTXO state — whatever the number of threads of each
//! parallel stage (decoders, verifiers, the UTXO set's lookup and apply threads) and the number of
//! UTXO shards, so conflicting spends land in different shards and on different threads.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use iosv_engine::pipeline::{Outcome, Pipeline, PipelineConfig, RejectReason};
use iosv_engine::sig::{Backend, SigRef, Verifier, verify_single};
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::UtxoSet;
use iosv_engine::workload::signing_key;
use proptest::prelude::*;

const ACCOUNTS: usize = 6;

#[derive(Clone, Debug)]
enum Step {
    /// Spend `inputs` (indices into the known outpoints), signed by their owners (or, for
    /// `signer_shift >= 6`, the first input by someone else), paying a share of the inputs set by
    /// `pay_scale` (3: more than the inputs); optionally preceded by a copy with a bad signature.
    Spend {
        inputs: Vec<usize>,
        signer_shift: usize,
        pay_scale: u8,
        receiver: usize,
        bad_copy_first: bool,
    },
    /// Corrupt one signature of the previous spend and submit it again.
    BadSignature,
    /// Submit the previous transaction's bytes again.
    Resubmit,
    /// Submit bytes that do not decode.
    Garbage(Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (prop::collection::vec(0usize..64, 1..3), 0usize..8, 0u8..4, 0usize..ACCOUNTS, prop::bool::weighted(0.2))
            .prop_map(|(inputs, signer_shift, pay_scale, receiver, bad_copy_first)| Step::Spend { inputs, signer_shift, pay_scale, receiver, bad_copy_first }),
        1 => Just(Step::BadSignature),
        1 => Just(Step::Resubmit),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Step::Garbage),
    ]
}

/// Builds the byte stream from the steps, knowing only which outpoints exist at some time (genesis
/// and every output ever created), so that spends of spent or unknown outpoints happen too.
fn build_stream(
    keys: &[SigningKey],
    genesis: &[(OutPoint, TxOutput)],
    steps: &[Step],
) -> Vec<Vec<u8>> {
    let mut known: Vec<(OutPoint, TxOutput)> = genesis.to_vec();
    // An outpoint nobody ever created.
    known.push((
        OutPoint {
            txid: TxId([0xee; 32]),
            index: 7,
        },
        TxOutput {
            amount: 5,
            owner: keys[0].verifying_key().to_bytes(),
        },
    ));
    let owner_index = |owner: &[u8; 32]| {
        keys.iter()
            .position(|k| &k.verifying_key().to_bytes() == owner)
            .unwrap()
    };
    let mut stream: Vec<Vec<u8>> = Vec::new();
    let mut last: Option<Transaction> = None;
    for s in steps {
        match s {
            Step::Spend {
                inputs,
                signer_shift,
                pay_scale,
                receiver,
                bad_copy_first,
            } => {
                let mut chosen: Vec<(OutPoint, TxOutput)> = Vec::new();
                for &i in inputs {
                    let pick = known[i % known.len()];
                    if !chosen.iter().any(|(o, _)| *o == pick.0) {
                        chosen.push(pick);
                    }
                }
                let total: u64 = chosen.iter().map(|(_, o)| o.amount).sum();
                // pay_scale 0..=2: pay less or all; 3: overspend.
                let amount = match pay_scale {
                    0 => (total / 2).max(1),
                    1 | 2 => total.max(1),
                    _ => total + 1,
                };
                let mut tx = Transaction {
                    inputs: chosen
                        .iter()
                        .map(|(prev, _)| TxInput {
                            prev: *prev,
                            owner: [0; 32],
                            signature: [0; 64],
                        })
                        .collect(),
                    outputs: vec![TxOutput {
                        amount,
                        owner: keys[*receiver].verifying_key().to_bytes(),
                    }],
                };
                // signer_shift 0..=5: the right owners; 6..: someone else signs the first input.
                let signers: Vec<SigningKey> = chosen
                    .iter()
                    .enumerate()
                    .map(|(n, (_, o))| {
                        let right = owner_index(&o.owner);
                        if n == 0 && *signer_shift >= 6 {
                            keys[(right + 1) % keys.len()].clone()
                        } else {
                            keys[right].clone()
                        }
                    })
                    .collect();
                tx.sign(&signers).unwrap();
                let txid = tx.txid();
                for (index, out) in tx.outputs.iter().enumerate() {
                    known.push((
                        OutPoint {
                            txid,
                            index: index as u32,
                        },
                        *out,
                    ));
                }
                if *bad_copy_first {
                    // A copy with a corrupted signature, submitted first: only the signature
                    // check stops it from taking the honest transaction's place.
                    let mut bad = tx.clone();
                    bad.inputs[0].signature[9] ^= 0x10;
                    stream.push(bad.encode());
                }
                stream.push(tx.encode());
                last = Some(tx);
            }
            Step::BadSignature => {
                if let Some(mut tx) = last.clone() {
                    tx.inputs[0].signature[5] ^= 0x40;
                    stream.push(tx.encode());
                }
            }
            Step::Resubmit => {
                if let Some(tx) = &last {
                    stream.push(tx.encode());
                }
            }
            Step::Garbage(bytes) => stream.push(bytes.clone()),
        }
    }
    stream
}

/// What became of a submission, by kind (the pipeline's reasons carry more detail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Committed,
    Undecodable,
    Duplicate,
    BadSignature,
    LedgerRule,
}

/// Each submission's transaction (if it decoded) and what became of it.
type Judged = Vec<(Option<TxId>, Kind)>;

/// The reference: one transaction at a time, every rule written out plainly.
fn reference(
    genesis: &[(OutPoint, TxOutput)],
    stream: &[Vec<u8>],
) -> (Judged, BTreeMap<OutPoint, TxOutput>) {
    let mut utxo: BTreeMap<OutPoint, TxOutput> = genesis.iter().copied().collect();
    let mut seen: HashSet<(TxId, Vec<[u8; 64]>)> = HashSet::new();
    let mut committed = Vec::new();
    for bytes in stream {
        let Ok(tx) = Transaction::decode(bytes) else {
            committed.push((None, Kind::Undecodable));
            continue;
        };
        let txid = tx.txid();
        if !seen.insert((txid, tx.inputs.iter().map(|i| i.signature).collect())) {
            committed.push((Some(txid), Kind::Duplicate));
            continue;
        }
        let sigs_ok = tx.inputs.iter().all(|i| {
            verify_single(SigRef {
                pk: &i.owner,
                msg: &txid.0,
                sig: &i.signature,
            })
        });
        if !sigs_ok {
            committed.push((Some(txid), Kind::BadSignature));
            continue;
        }
        let mut total_in: u64 = 0;
        let mut utxo_ok = true;
        for i in &tx.inputs {
            match utxo.get(&i.prev) {
                Some(out) if out.owner == i.owner => match total_in.checked_add(out.amount) {
                    Some(t) => total_in = t,
                    None => utxo_ok = false,
                },
                _ => utxo_ok = false,
            }
        }
        let total_out = tx
            .outputs
            .iter()
            .try_fold(0u64, |a, o| a.checked_add(o.amount));
        if utxo_ok && total_out.is_some_and(|o| o <= total_in) {
            for i in &tx.inputs {
                utxo.remove(&i.prev);
            }
            for (index, out) in tx.outputs.iter().enumerate() {
                utxo.insert(
                    OutPoint {
                        txid,
                        index: index as u32,
                    },
                    *out,
                );
            }
            committed.push((Some(txid), Kind::Committed));
        } else {
            committed.push((Some(txid), Kind::LedgerRule));
        }
    }
    (committed, utxo)
}

/// Threads and shards of one pipeline run.
#[derive(Clone, Copy, Debug)]
struct Shape {
    sig_batch: usize,
    decoders: usize,
    verifiers: usize,
    utxo_threads: usize,
    utxo_shards: usize,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..9, 1usize..4, 1usize..4, 1usize..5, 0u32..7).prop_map(
        |(sig_batch, decoders, verifiers, utxo_threads, shard_bits)| Shape {
            sig_batch,
            decoders,
            verifiers,
            utxo_threads,
            utxo_shards: 1 << shard_bits,
        },
    )
}

fn run_pipeline(
    genesis: &[(OutPoint, TxOutput)],
    stream: &[Vec<u8>],
    shape: Shape,
) -> (Judged, UtxoSet) {
    let utxo = Arc::new(UtxoSet::with_shards(shape.utxo_shards).with_threads(shape.utxo_threads));
    for (o, out) in genesis {
        utxo.insert_genesis(*o, *out).unwrap();
    }
    let config = PipelineConfig {
        sig_batch: shape.sig_batch,
        batch_deadline: Duration::from_millis(1),
        submit_queue: 8,
        batch_queue: 2,
        decode_workers: shape.decoders,
        verify_workers: shape.verifiers,
        dedup_window: 1 << 16,
    };
    let (submitter, pipeline) =
        Pipeline::start(config, utxo.clone(), Verifier::new(Backend::Cpu).unwrap());
    let outcomes = pipeline.outcomes().clone();
    let drain = std::thread::spawn(move || outcomes.iter().collect::<Vec<Outcome>>());
    for bytes in stream {
        submitter.submit(bytes.clone()).unwrap();
    }
    drop(submitter);
    let outcomes = drain.join().unwrap();
    let report = pipeline.join();
    assert_eq!(
        outcomes.len(),
        stream.len(),
        "every submission has exactly one outcome"
    );
    assert_eq!(report.committed + report.rejected, stream.len() as u64);
    let mut kinds: Vec<(Option<TxId>, Kind)> = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Committed { txid, .. } => (Some(txid), Kind::Committed),
            Outcome::Rejected { txid, reason } => (
                txid,
                match reason {
                    RejectReason::Decode(_) => Kind::Undecodable,
                    RejectReason::Duplicate => Kind::Duplicate,
                    RejectReason::BadSignature { .. } => Kind::BadSignature,
                    RejectReason::Ledger(_) => Kind::LedgerRule,
                },
            ),
        })
        .collect();
    kinds.sort();
    (
        kinds,
        Arc::try_unwrap(utxo).expect("pipeline released the ledger"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pipeline_judges_every_submission_as_the_sequential_reference_does(
        steps in prop::collection::vec(step(), 1..120),
        shape in shape(),
    ) {
        let keys: Vec<SigningKey> = (0..ACCOUNTS as u64).map(|i| signing_key(99, i)).collect();
        let genesis: Vec<(OutPoint, TxOutput)> = (0..12u8)
            .map(|i| (OutPoint { txid: TxId([i; 32]), index: 0 }, TxOutput { amount: 100 + i as u64, owner: keys[i as usize % ACCOUNTS].verifying_key().to_bytes() }))
            .collect();
        let stream = build_stream(&keys, &genesis, &steps);
        let (expected, expected_utxo) = reference(&genesis, &stream);
        let mut expected = expected;
        expected.sort();
        let (committed, utxo) = run_pipeline(&genesis, &stream, shape);
        prop_assert_eq!(&committed, &expected);
        let actual: BTreeMap<OutPoint, TxOutput> = utxo.entries().into_iter().map(|(o, e)| (o, e.output)).collect();
        prop_assert_eq!(actual, expected_utxo);
    }
}
