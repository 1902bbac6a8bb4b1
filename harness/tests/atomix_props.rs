//! Atomix property tests: random cross-shard transactions (conflicting spends, bad signatures,
//! outputs exceeding inputs) under random interleavings of message deliveries and losses, shard
//! signing, roster changes, client crashes, duplicate clients and replayed finishes. After the
//! system settles (recovery of stalled locks, claims of undelivered outputs):
//! - no lock is left and every shard involved in a transaction agrees on its outcome;
//! - no outpoint is spent by two committed transactions;
//! - value is conserved: the total equals the genesis total minus the committed transactions' fees;
//! - every replayed finish was refused and changed nothing.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::Policy;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::workload::signing_key;
use iosv_harness::atomix::Outcome;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

mod atomix_world;
use atomix_world::AtomixWorld;

const KEY_SEED: u64 = 0x9a7;
const SHARDS: u32 = 3;
const GENESIS: usize = 8;

fn key(i: u64) -> SigningKey {
    signing_key(KEY_SEED, i)
}

fn genesis_point(i: usize) -> OutPoint {
    OutPoint {
        txid: TxId([0xa0 ^ i as u8; 32]),
        index: i as u32,
    }
}

fn genesis_amount(i: usize) -> u64 {
    10 + 13 * i as u64
}

#[derive(Clone, Debug)]
struct TxSpec {
    inputs: BTreeSet<usize>,
    /// Signs input 0 with a key that does not own it.
    wrong_key: bool,
    fee: u64,
    /// Outputs exceed the inputs by one.
    greedy: bool,
    split: bool,
    salt: u8,
}

impl TxSpec {
    fn build(&self) -> Transaction {
        let inputs: Vec<usize> = self.inputs.iter().copied().collect();
        let total: u64 = inputs.iter().map(|&i| genesis_amount(i)).sum();
        let out_total = if self.greedy {
            total + 1
        } else {
            total - self.fee.min(total - 2)
        };
        let owner = key(100 + u64::from(self.salt)).verifying_key().to_bytes();
        let outputs = if self.split {
            vec![
                TxOutput {
                    amount: out_total / 2,
                    owner,
                },
                TxOutput {
                    amount: out_total - out_total / 2,
                    owner,
                },
            ]
        } else {
            vec![TxOutput {
                amount: out_total,
                owner,
            }]
        };
        let mut tx = Transaction {
            inputs: inputs
                .iter()
                .map(|&i| TxInput {
                    prev: genesis_point(i),
                    owner: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
            outputs,
        };
        let keys: Vec<SigningKey> = inputs
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                key(if n == 0 && self.wrong_key {
                    50
                } else {
                    i as u64
                })
            })
            .collect();
        tx.sign(&keys).unwrap();
        tx
    }
}

#[derive(Clone, Debug)]
enum Op {
    Submit(usize),
    Deliver(usize),
    Lose(usize),
    Seal(u32),
    Rotate(u32),
    Crash(usize),
    Replay(usize),
}

fn tx_spec() -> impl Strategy<Value = TxSpec> {
    (
        prop::collection::btree_set(0..GENESIS, 1..=3),
        prop::bool::weighted(0.1),
        0u64..5,
        prop::bool::weighted(0.1),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(inputs, wrong_key, fee, greedy, split, salt)| TxSpec {
            inputs,
            wrong_key,
            fee,
            greedy,
            split,
            salt,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..16usize).prop_map(Op::Submit),
        8 => (0..16usize).prop_map(Op::Deliver),
        1 => (0..16usize).prop_map(Op::Lose),
        4 => (0..SHARDS).prop_map(Op::Seal),
        1 => (0..SHARDS).prop_map(Op::Rotate),
        1 => (0..16usize).prop_map(Op::Crash),
        1 => (0..32usize).prop_map(Op::Replay),
    ]
}

/// Runs the case and checks the invariants; returns how many distinct transactions committed.
fn run(specs: &[TxSpec], ops: &[Op], seed: u64) -> Result<usize, TestCaseError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut w = AtomixWorld::new(SHARDS, 4, Policy::ByzCoin, &mut rng).unwrap();
    for i in 0..GENESIS {
        w.genesis(
            genesis_point(i),
            TxOutput {
                amount: genesis_amount(i),
                owner: key(i as u64).verifying_key().to_bytes(),
            },
        )
        .unwrap();
    }
    let genesis_total = w.total_value();
    let txs: Vec<Transaction> = specs.iter().map(TxSpec::build).collect();
    let mut clients = 0usize;
    for op in ops {
        match *op {
            Op::Submit(k) => {
                w.submit(txs[k % txs.len()].clone()).unwrap();
                clients += 1;
            }
            Op::Deliver(i) => {
                w.deliver(i);
            }
            Op::Lose(i) => {
                w.lose(i);
            }
            Op::Seal(s) => w.seal(s, &mut rng),
            Op::Rotate(s) => w.rotate(s, &mut rng).unwrap(),
            Op::Crash(c) if clients > 0 => w.crash_client(c % clients),
            Op::Crash(_) => {}
            Op::Replay(k) if !w.delivered().is_empty() => {
                let k = k % w.delivered().len();
                let roots: Vec<[u8; 32]> = w
                    .shards()
                    .iter()
                    .map(|s| s.state().utxo().consistency_digest())
                    .collect();
                let verdict = w.replay(k).unwrap();
                prop_assert!(verdict.is_err(), "replay accepted: {:?}", verdict);
                let after: Vec<[u8; 32]> = w
                    .shards()
                    .iter()
                    .map(|s| s.state().utxo().consistency_digest())
                    .collect();
                prop_assert_eq!(roots, after, "a refused replay changed state");
            }
            Op::Replay(_) => {}
        }
    }
    let settled = w.settle(12, &mut rng);
    prop_assert!(
        settled,
        "did not settle: {} locks, {} pending, refusals {:?}",
        w.locks_held(),
        w.pending().len(),
        w.refusals().iter().rev().take(6).collect::<Vec<_>>()
    );
    prop_assert_eq!(w.locks_held(), 0);

    let map = *w.map();
    let mut spent_by: BTreeMap<OutPoint, TxId> = BTreeMap::new();
    let mut fees = 0u128;
    let mut seen = BTreeSet::new();
    for tx in &txs {
        let txid = tx.txid();
        if !seen.insert(txid) {
            continue;
        }
        let inputs = map.input_shards(tx);
        let outcomes: BTreeSet<Option<Outcome>> = inputs
            .iter()
            .map(|&s| w.shards()[s as usize].outcome(&txid))
            .collect();
        if outcomes.contains(&Some(Outcome::Committed)) {
            prop_assert_eq!(
                outcomes.len(),
                1,
                "input shards disagree on {}: {:?}",
                txid,
                outcomes
            );
            for o in map.output_shards(tx) {
                prop_assert_eq!(
                    w.shards()[o as usize].outcome(&txid),
                    Some(Outcome::Committed)
                );
            }
            for index in 0..tx.outputs.len() as u32 {
                let o = OutPoint { txid, index };
                prop_assert!(w.shards()[map.shard_of(&o) as usize].state().contains(&o));
            }
            for input in &tx.inputs {
                if let Some(other) = spent_by.insert(input.prev, txid) {
                    return Err(TestCaseError::fail(format!(
                        "{} spent by {} and {}",
                        input.prev, other, txid
                    )));
                }
            }
            let inputs_total: u64 = tx
                .inputs
                .iter()
                .map(|i| genesis_amount(i.prev.index as usize))
                .sum();
            fees += u128::from(inputs_total - tx.output_total().unwrap());
        } else {
            prop_assert!(!outcomes.contains(&Some(Outcome::Committed)));
        }
    }
    for i in 0..GENESIS {
        let o = genesis_point(i);
        let present = w.shards()[map.shard_of(&o) as usize].state().get(&o);
        prop_assert_eq!(
            present.is_some(),
            !spent_by.contains_key(&o),
            "genesis {} neither spent nor present",
            i
        );
        prop_assert!(present.is_none_or(|e| e.locked_by.is_none()));
    }
    prop_assert_eq!(w.total_value(), genesis_total - fees);
    Ok(spent_by.values().collect::<BTreeSet<_>>().len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_interleavings_keep_the_invariants(
        specs in prop::collection::vec(tx_spec(), 2..6),
        ops in prop::collection::vec(op(), 0..60),
        seed in any::<u64>(),
    ) {
        run(&specs, &ops, seed)?;
    }
}

/// Many clients racing for few outpoints, every message delivered in a seeded random order.
#[test]
fn contended_outpoints_under_seeded_shuffles() {
    use rand::Rng;
    let mut committed = 0;
    for seed in 0..8u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(1000 + seed);
        let specs: Vec<TxSpec> = (0..6)
            .map(|n| TxSpec {
                inputs: [n % 3, 3 + (n % 2), 5 + (n % 3)].into_iter().collect(),
                wrong_key: false,
                fee: n as u64,
                greedy: false,
                split: n % 2 == 0,
                salt: n as u8,
            })
            .collect();
        let mut ops: Vec<Op> = (0..specs.len()).map(Op::Submit).collect();
        for _ in 0..80 {
            ops.push(match rng.random_range(0..10) {
                0..=6 => Op::Deliver(rng.random_range(0..32)),
                7 | 8 => Op::Seal(rng.random_range(0..SHARDS)),
                _ => Op::Crash(rng.random_range(0..6)),
            });
        }
        committed += run(&specs, &ops, seed).unwrap();
    }
    // Six transactions over eight outpoints, each conflicting with others: some commit, not all.
    assert!((1..6 * 8).contains(&committed), "{committed} committed");
}
