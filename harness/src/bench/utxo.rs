//! The UTXO benchmark: batch validation, apply and undo against a large set, the Merkle state
//! commitment (build, per-block update, proofs), and fraud proofs (size, build and verify time).
//!
//! Invariants and choices:
//! - The set holds `plan.entries` unspent outputs; each block spends `plan.block` of them (one
//!   input, two outputs). UTXO rules do not look at signatures, so the validation and apply blocks
//!   are unsigned; the fraud-proof block is really signed (a proof checks signatures first).
//! - Apply is measured together with the undo that restores the set, so every sample starts from
//!   the same state; the figure is labelled "apply + undo".
//! - Every figure is a median with min and max over `plan.samples` samples, single-threaded except
//!   where the engine parallelizes inside (bucket hashing of the state tree uses rayon).

use std::time::{Duration, Instant};

use iosv_engine::fraud::{FraudProof, SignedHeader, build};
use iosv_engine::tx::{
    BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxInput, TxOutput, tx_root,
};
use iosv_engine::utxo::{StateTree, UtxoSet};
use iosv_engine::workload::signing_key;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::Serialize;

use super::timing::{Spread, one_sample};

#[derive(Clone, Copy, Debug, Serialize)]
pub struct UtxoPlan {
    /// Unspent outputs in the set.
    pub entries: usize,
    /// Transactions per block.
    pub block: usize,
    pub samples: usize,
    #[serde(skip)]
    pub min_sample: Duration,
}

impl UtxoPlan {
    pub const QUICK: UtxoPlan = UtxoPlan {
        entries: 100_000,
        block: 1024,
        samples: 5,
        min_sample: Duration::from_millis(50),
    };
    pub const FULL: UtxoPlan = UtxoPlan {
        entries: 1_000_000,
        block: 1024,
        samples: 7,
        min_sample: Duration::from_millis(200),
    };
}

/// One measured quantity.
#[derive(Clone, Debug, Serialize)]
pub struct UtxoMeasurement {
    pub what: String,
    pub value: Spread,
    pub unit: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct UtxoReport {
    pub plan: UtxoPlan,
    pub setup_seconds: f64,
    pub measurements: Vec<UtxoMeasurement>,
}

const OWNER_SEED: u64 = 0x0770;

fn genesis(entries: usize, owner: [u8; 32]) -> Vec<(OutPoint, TxOutput)> {
    let mut rng = StdRng::seed_from_u64(entries as u64);
    (0..entries)
        .map(|_| {
            let mut txid = [0u8; 32];
            rng.fill_bytes(&mut txid);
            (
                OutPoint {
                    txid: TxId(txid),
                    index: 0,
                },
                TxOutput {
                    amount: 1_000,
                    owner,
                },
            )
        })
        .collect()
}

fn unsigned_spend(prev: OutPoint, owner: [u8; 32]) -> Transaction {
    Transaction {
        inputs: vec![TxInput {
            prev,
            owner,
            signature: [0; 64],
        }],
        outputs: vec![
            TxOutput { amount: 600, owner },
            TxOutput { amount: 400, owner },
        ],
    }
}

/// Times `f` per call as a rate of `items` per call; `log` gets the line.
fn measure(
    plan: &UtxoPlan,
    what: &str,
    unit: &str,
    items: usize,
    mut f: impl FnMut(),
    log: &impl Fn(String),
) -> UtxoMeasurement {
    f();
    let rates: Vec<f64> = (0..plan.samples)
        .map(|_| one_sample(plan.min_sample, items, &mut f))
        .collect();
    spread_of(what, unit, rates, log)
}

/// The measurement of `samples`, logged with its spread.
fn spread_of(what: &str, unit: &str, samples: Vec<f64>, log: &impl Fn(String)) -> UtxoMeasurement {
    let m = UtxoMeasurement {
        what: what.to_string(),
        value: Spread::of(samples),
        unit: unit.to_string(),
    };
    log(format!(
        "{:<48} {:>12.0} {} (min {:.0}, max {:.0})",
        m.what, m.value.median, m.unit, m.value.min, m.value.max
    ));
    m
}

/// A fixed value (a size), recorded with a spread of one sample.
fn fixed(what: &str, value: f64, unit: &str, log: &impl Fn(String)) -> UtxoMeasurement {
    log(format!("{what:<48} {value:>12.0} {unit}"));
    UtxoMeasurement {
        what: what.to_string(),
        value: Spread::of(vec![value]),
        unit: unit.to_string(),
    }
}

/// The state tree's changes of `block` (valid against it).
fn apply_block(tree: &mut StateTree, block: &[Transaction]) {
    for tx in block {
        tree.apply_transaction(tx).expect("valid");
    }
}

/// The inverse of [`apply_block`]: the outputs it `created` go, the outputs it spent come back.
fn revert_block(tree: &mut StateTree, created: &[OutPoint], spent: &[(OutPoint, TxOutput)]) {
    for o in created {
        tree.remove(o);
    }
    for (o, out) in spent {
        tree.insert(*o, iosv_engine::utxo::Entry::unlocked(*out))
            .expect("absent");
    }
}

pub fn run(plan: UtxoPlan, log: impl Fn(String)) -> anyhow::Result<UtxoReport> {
    let setup = Instant::now();
    let key = signing_key(OWNER_SEED, 0);
    let owner = key.verifying_key().to_bytes();
    let outputs = genesis(plan.entries, owner);
    let set = UtxoSet::new();
    for (o, out) in &outputs {
        set.insert_genesis(*o, *out)?;
    }
    let block: Vec<Transaction> = outputs[..plan.block]
        .iter()
        .map(|(o, _)| unsigned_spend(*o, owner))
        .collect();
    let setup_seconds = setup.elapsed().as_secs_f64();
    let mut ms = Vec::new();

    ms.push(measure(
        &plan,
        "validate_batch",
        "tx/s",
        plan.block,
        || {
            let verdicts = set.validate_batch(&block);
            assert!(verdicts.iter().all(Result::is_ok));
        },
        &log,
    ));
    ms.push(measure(
        &plan,
        "apply_block + undo_block",
        "tx/s",
        plan.block,
        || {
            let undo = set.apply_block(&block).expect("valid block");
            set.undo_block(&undo).expect("undo of the last block");
        },
        &log,
    ));

    let mut samples = Vec::new();
    let mut tree = StateTree::new();
    for _ in 0..plan.samples {
        let start = Instant::now();
        tree = StateTree::from_set(&set);
        tree.root();
        samples.push(plan.entries as f64 / start.elapsed().as_secs_f64());
    }
    let m = UtxoMeasurement {
        what: "StateTree::from_set + root".to_string(),
        value: Spread::of(samples),
        unit: "entries/s".to_string(),
    };
    log(format!(
        "{:<48} {:>12.0} {}",
        m.what, m.value.median, m.unit
    ));
    ms.push(m);

    // One block's changes and the new root, then the inverse, so each sample starts equal.
    let created: Vec<OutPoint> = block
        .iter()
        .flat_map(|tx| {
            let txid = tx.txid();
            (0..2).map(move |index| OutPoint { txid, index })
        })
        .collect();
    ms.push(measure(
        &plan,
        "StateTree block update + root (x2: apply, revert)",
        "tx/s",
        2 * plan.block,
        || {
            apply_block(&mut tree, &block);
            tree.root();
            revert_block(&mut tree, &created, &outputs[..plan.block]);
            tree.root();
        },
        &log,
    ));

    // The rehash alone (the root after a block's changes, and after their inverse): the part that
    // runs per subtree in parallel, timed apart from the changes themselves.
    let mut samples = Vec::with_capacity(plan.samples);
    for _ in 0..plan.samples {
        let (mut rehashing, mut blocks) = (Duration::ZERO, 0usize);
        while rehashing < plan.min_sample || blocks == 0 {
            apply_block(&mut tree, &block);
            let start = Instant::now();
            tree.root();
            rehashing += start.elapsed();
            revert_block(&mut tree, &created, &outputs[..plan.block]);
            let start = Instant::now();
            tree.root();
            rehashing += start.elapsed();
            blocks += 2;
        }
        samples.push((blocks * plan.block) as f64 / rehashing.as_secs_f64());
    }
    ms.push(spread_of(
        "StateTree root after a block (rehash only)",
        "tx/s",
        samples,
        &log,
    ));

    let root = tree.root();
    let probe = outputs[plan.block / 2].0;
    let proof = tree.prove(&probe);
    let proof_json = serde_json::to_vec(&proof)?;
    ms.push(fixed(
        "BucketProof entries in bucket",
        proof.entries.len() as f64,
        "entries",
        &log,
    ));
    ms.push(fixed(
        "BucketProof JSON size",
        proof_json.len() as f64,
        "bytes",
        &log,
    ));
    ms.push(measure(
        &plan,
        "BucketProof::verify",
        "proofs/s",
        1,
        || {
            assert!(proof.verify(&root, &probe).expect("valid proof").is_some());
        },
        &log,
    ));

    // A signed block with one double spend at the end, against the same state.
    let mut signed: Vec<Transaction> = outputs[..plan.block - 1]
        .iter()
        .map(|(o, _)| {
            let mut tx = unsigned_spend(*o, owner);
            tx.sign(std::slice::from_ref(&key))
                .expect("one key per input");
            tx
        })
        .collect();
    let mut double = unsigned_spend(outputs[0].0, owner);
    double.outputs[1].amount = 399;
    double
        .sign(std::slice::from_ref(&key))
        .expect("one key per input");
    signed.push(double);
    let header = SignedHeader::sign(
        BlockHeader {
            version: HEADER_VERSION,
            shard: 0,
            height: 1,
            prev_hash: [0; 32],
            tx_root: tx_root(&signed),
            tx_count: u32::try_from(signed.len())?,
            pre_state_root: root,
            state_root: [0; 32],
            timestamp_ms: 0,
            proposer: [0; 32],
        },
        &signing_key(OWNER_SEED, 1),
    );
    let accused = signed.len() - 1;
    let mut fraud: Option<FraudProof> = None;
    ms.push(measure(
        &plan,
        "fraud::build (double spend, block prefix)",
        "proofs/s",
        1,
        || {
            fraud = Some(build(&header, &signed, &set, &mut tree, accused).expect("a proof"));
        },
        &log,
    ));
    let fraud = fraud.expect("built");
    ms.push(fixed(
        "FraudProof (double spend) JSON size",
        serde_json::to_vec(&fraud)?.len() as f64,
        "bytes",
        &log,
    ));
    ms.push(measure(
        &plan,
        "FraudProof::verify (double spend)",
        "proofs/s",
        1,
        || {
            fraud.verify().expect("verifies");
        },
        &log,
    ));
    Ok(UtxoReport {
        plan,
        setup_seconds,
        measurements: ms,
    })
}
