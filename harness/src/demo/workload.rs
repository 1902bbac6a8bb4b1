//! The demo's clients: real signed transactions, generated (and signed) before the clock starts,
//! released open-loop at a fixed rate.
//!
//! Every transaction spends genesis outputs of its own, so honest transactions never conflict and
//! the figures measure validation, not contention. Owners are drawn per shard from
//! `accounts_per_shard` keys with Zipf weights (a few accounts sign most transactions, as on real
//! chains). Placement follows the Atomix [`ShardMap`] (an outpoint's shard is a hash of it):
//! - **in-shard**: one input and one output in the home shard (the client picks the receiver
//!   among the shard's accounts until the output lands there, as a wallet would);
//! - **cross-shard**: inputs in two shards, one output wherever it lands;
//! - **invalid**: in-shard shape, the input's owner is a victim and the signature is made with
//!   another key (a theft only signature verification catches), paid to a colluding account.

use ed25519_dalek::{Signer, SigningKey};
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::workload::{ZipfSampler, signing_key};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::config::DemoConfig;
use crate::atomix::{ShardId, ShardMap};

/// Amount of every genesis output a transaction spends.
pub const COIN: u64 = 1_000;

/// What a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    InShard,
    CrossShard,
    Invalid,
}

/// A transaction and when its client sends it.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// Microseconds after the start of the load.
    pub at_us: u64,
    pub kind: Kind,
    /// The shard it is sent to (for a cross-shard transaction: its first input shard).
    pub shard: ShardId,
    pub txid: TxId,
    pub tx: Transaction,
}

/// Genesis outputs per shard and the arrivals, in time order.
pub struct Workload {
    pub genesis: Vec<Vec<(OutPoint, TxOutput)>>,
    pub arrivals: Vec<Arrival>,
}

/// The key of account `index` of `shard`.
pub fn account_key(seed: u64, shard: ShardId, index: usize) -> SigningKey {
    signing_key(
        seed ^ (u64::from(shard) + 1).wrapping_mul(0xA24B_AED4_963E_E407),
        index as u64,
    )
}

/// The colluding account forged transactions pay (one per shard).
pub fn thief_key(seed: u64, shard: ShardId) -> SigningKey {
    signing_key(seed ^ 0x7417_7417, u64::from(shard))
}

/// The first outpoint `(SHA-256(parts ‖ nonce u32 LE), 0)`, nonce = 0, 1, …, that `map` places in
/// `shard`: how the demo mints outputs that must live in a given shard (genesis coins, stakes,
/// compensation). About `shards` hashes on average.
pub fn outpoint_in(map: &ShardMap, shard: ShardId, parts: &[&[u8]]) -> OutPoint {
    for nonce in 0u32.. {
        let mut h = Sha256::new();
        for part in parts {
            h.update(part);
        }
        h.update(nonce.to_le_bytes());
        let point = OutPoint {
            txid: TxId(h.finalize().into()),
            index: 0,
        };
        if map.shard_of(&point) == shard {
            return point;
        }
    }
    unreachable!("some nonce lands in every shard")
}

/// A genesis outpoint of `shard`, unique to (`seed`, `t`, `slot`).
fn genesis_point(map: &ShardMap, seed: u64, t: u64, slot: u8, shard: ShardId) -> OutPoint {
    outpoint_in(
        map,
        shard,
        &[
            crate::domain::DEMO_GENESIS,
            &seed.to_le_bytes(),
            &t.to_le_bytes(),
            &[slot],
        ],
    )
}

fn unsigned(inputs: &[(OutPoint, [u8; 32])], output: TxOutput) -> Transaction {
    Transaction {
        inputs: inputs
            .iter()
            .map(|&(prev, owner)| TxInput {
                prev,
                owner,
                signature: [0; 64],
            })
            .collect(),
        outputs: vec![output],
    }
}

/// A genesis output and the shard that holds it.
type Placed = (ShardId, OutPoint, TxOutput);

struct Plan {
    kind: Kind,
    shard: ShardId,
    other: ShardId,
    from: usize,
    from_other: usize,
    to: usize,
}

/// Generates the load of `cfg`, signing on all threads; `progress` is called with the number of
/// transactions done so far (from any thread).
pub fn generate(cfg: &DemoConfig, progress: &(dyn Fn(u64) + Sync)) -> Workload {
    let map = ShardMap::new(cfg.shards);
    let shards = cfg.shards;
    let seed = cfg.seed;
    let count = ((cfg.duration_s + cfg.warmup_s) * cfg.rate).round() as u64;
    let keys: Vec<Vec<SigningKey>> = (0..shards)
        .map(|s| {
            (0..cfg.accounts_per_shard)
                .into_par_iter()
                .map(|i| account_key(seed, s, i))
                .collect()
        })
        .collect();
    let owners: Vec<Vec<[u8; 32]>> = keys
        .iter()
        .map(|ks| ks.iter().map(|k| k.verifying_key().to_bytes()).collect())
        .collect();
    let thieves: Vec<SigningKey> = (0..shards).map(|s| thief_key(seed, s)).collect();
    let fraud_shards: Vec<ShardId> = (0..shards).filter(|&s| cfg.fraudulent(s)).collect();
    let zipf = ZipfSampler::new(cfg.accounts_per_shard, 1.0);
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xD3E0);
    let plans: Vec<Plan> = (0..count)
        .map(|_| {
            let u: f64 = rng.random();
            let (kind, shard) = if u < cfg.invalid_fraction && !fraud_shards.is_empty() {
                let s = fraud_shards[rng.random_range(0..fraud_shards.len())];
                (Kind::Invalid, s)
            } else if u < cfg.invalid_fraction + cfg.cross_shard_fraction && shards > 1 {
                (Kind::CrossShard, rng.random_range(0..shards))
            } else {
                (Kind::InShard, rng.random_range(0..shards))
            };
            let other = if shards > 1 {
                (shard + rng.random_range(1..shards)) % shards
            } else {
                shard
            };
            Plan {
                kind,
                shard,
                other,
                from: zipf.sample(&mut rng),
                from_other: zipf.sample(&mut rng),
                to: rng.random_range(0..cfg.accounts_per_shard),
            }
        })
        .collect();
    let double_every = cfg.faults.iter().find_map(|f| match *f {
        super::config::Fault::CrossShardDoubleSpend { every } => Some(every),
        _ => None,
    });
    let done = std::sync::atomic::AtomicU64::new(0);
    let made: Vec<(Vec<Arrival>, Vec<Placed>)> = plans
        .par_iter()
        .enumerate()
        .map(|(t, plan)| {
            let t = t as u64;
            let at_us = (t as f64 * 1e6 / cfg.rate) as u64;
            let s = plan.shard;
            let a = genesis_point(&map, seed, t, 0, s);
            let owner_a = owners[s as usize][plan.from];
            let mut genesis = vec![(
                s,
                a,
                TxOutput {
                    amount: COIN,
                    owner: owner_a,
                },
            )];
            let mut twin = None;
            let tx = match plan.kind {
                Kind::InShard | Kind::Invalid => {
                    let mut tx = Transaction::default();
                    let n = cfg.accounts_per_shard;
                    for step in 0..(64 * n) {
                        let receiver = if plan.kind == Kind::Invalid {
                            thieves[s as usize].verifying_key().to_bytes()
                        } else {
                            owners[s as usize][(plan.to + step) % n]
                        };
                        // A forged transaction varies its amount instead (one receiver).
                        let amount = if plan.kind == Kind::Invalid {
                            COIN - step as u64 % COIN
                        } else {
                            COIN
                        };
                        tx = unsigned(
                            &[(a, owner_a)],
                            TxOutput {
                                amount,
                                owner: receiver,
                            },
                        );
                        let out = OutPoint {
                            txid: tx.txid(),
                            index: 0,
                        };
                        if map.shard_of(&out) == s {
                            break;
                        }
                    }
                    let txid = tx.txid();
                    let signer = if plan.kind == Kind::Invalid {
                        &thieves[s as usize]
                    } else {
                        &keys[s as usize][plan.from]
                    };
                    tx.inputs[0].signature = signer.sign(txid.as_bytes()).to_bytes();
                    tx
                }
                Kind::CrossShard => {
                    let o = plan.other;
                    let b = genesis_point(&map, seed, t, 1, o);
                    let owner_b = owners[o as usize][plan.from_other];
                    genesis.push((
                        o,
                        b,
                        TxOutput {
                            amount: COIN,
                            owner: owner_b,
                        },
                    ));
                    let mut tx = unsigned(
                        &[(a, owner_a), (b, owner_b)],
                        TxOutput {
                            amount: 2 * COIN,
                            owner: owners[o as usize][plan.to],
                        },
                    );
                    let signers = [
                        keys[s as usize][plan.from].clone(),
                        keys[o as usize][plan.from_other].clone(),
                    ];
                    tx.sign(&signers).expect("one key per input");
                    if double_every.is_some_and(|k| t.is_multiple_of(k)) {
                        let mut other = tx.clone();
                        other.outputs[0].owner = owners[s as usize][plan.to];
                        other.sign(&signers).expect("one key per input");
                        twin = Some(other);
                    }
                    tx
                }
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(16_384) {
                progress(n);
            }
            let mut out = vec![Arrival {
                at_us,
                kind: plan.kind,
                shard: s,
                txid: tx.txid(),
                tx,
            }];
            if let Some(tx) = twin {
                out.push(Arrival {
                    at_us,
                    kind: Kind::CrossShard,
                    shard: s,
                    txid: tx.txid(),
                    tx,
                });
            }
            (out, genesis)
        })
        .collect();
    progress(count);
    let mut genesis: Vec<Vec<(OutPoint, TxOutput)>> = vec![Vec::new(); shards as usize];
    let mut arrivals = Vec::with_capacity(made.len());
    for (made, outs) in made {
        for (s, point, output) in outs {
            genesis[s as usize].push((point, output));
        }
        arrivals.extend(made);
    }
    Workload { genesis, arrivals }
}
