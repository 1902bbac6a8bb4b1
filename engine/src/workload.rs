//! Deterministic generators of real signed inputs, for tests, benchmarks and demos.
//!
//! Key reuse is modelled as a Zipf distribution over a fixed set of accounts: a few accounts sign
//! most of the traffic, as on real chains, which is what the key cache and key coalescing exploit.

use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rayon::prelude::*;

use crate::sig::SigItem;
use crate::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};

/// How signatures are spread over signing keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyReuse {
    /// Every signature has its own key.
    Distinct,
    /// Keys drawn from `accounts` accounts with Zipf weights `1 / rank^exponent`.
    Zipf { accounts: usize, exponent: f64 },
}

impl KeyReuse {
    /// The workload named in the benchmarks: 10,000 accounts, Zipf exponent 1.
    pub const SKEWED_10K: KeyReuse = KeyReuse::Zipf {
        accounts: 10_000,
        exponent: 1.0,
    };
}

/// Samples account ranks with Zipf weights by binary search in the cumulative distribution.
pub struct ZipfSampler {
    cdf: Vec<f64>,
}

impl ZipfSampler {
    pub fn new(accounts: usize, exponent: f64) -> Self {
        let accounts = accounts.max(1);
        let mut cdf = Vec::with_capacity(accounts);
        let mut total = 0.0;
        for rank in 1..=accounts {
            total += 1.0 / (rank as f64).powf(exponent);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// A deterministic signing key for account `index` under `seed`.
pub fn signing_key(seed: u64, index: u64) -> SigningKey {
    let mut rng = StdRng::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    SigningKey::from_bytes(&secret)
}

/// A source of valid signatures: fixed accounts (for [`KeyReuse::Zipf`]) and random messages.
pub struct SigWorkload {
    reuse: KeyReuse,
    msg_len: usize,
    keys: Vec<SigningKey>,
    sampler: Option<ZipfSampler>,
}

impl SigWorkload {
    /// Accounts are derived from `key_seed`, so every batch generated from one workload shares them.
    pub fn new(reuse: KeyReuse, msg_len: usize, key_seed: u64) -> Self {
        let (keys, sampler) = match reuse {
            KeyReuse::Distinct => (Vec::new(), None),
            KeyReuse::Zipf { accounts, exponent } => (
                (0..accounts as u64)
                    .into_par_iter()
                    .map(|i| signing_key(key_seed, i))
                    .collect(),
                Some(ZipfSampler::new(accounts, exponent)),
            ),
        };
        Self {
            reuse,
            msg_len,
            keys,
            sampler,
        }
    }

    pub fn reuse(&self) -> KeyReuse {
        self.reuse
    }

    /// `count` valid signatures, reproducible from `seed`.
    pub fn generate(&self, count: usize, seed: u64) -> Vec<SigItem> {
        let mut rng = StdRng::seed_from_u64(seed);
        let picks: Vec<usize> = match &self.sampler {
            Some(sampler) => (0..count).map(|_| sampler.sample(&mut rng)).collect(),
            None => Vec::new(),
        };
        let messages: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let mut m = vec![0u8; self.msg_len];
                rng.fill_bytes(&mut m);
                m
            })
            .collect();
        messages
            .into_par_iter()
            .enumerate()
            .map(|(i, msg)| {
                let owned;
                let key = if picks.is_empty() {
                    owned = signing_key(seed ^ 0xD15C_0000_0000, i as u64);
                    &owned
                } else {
                    &self.keys[picks[i]]
                };
                SigItem {
                    pk: key.verifying_key().to_bytes(),
                    sig: key.sign(&msg).to_bytes(),
                    msg,
                }
            })
            .collect()
    }
}

/// `count` valid signatures over random `msg_len`-byte messages, reproducible from `seed`.
pub fn signed_items(count: usize, msg_len: usize, reuse: KeyReuse, seed: u64) -> Vec<SigItem> {
    SigWorkload::new(reuse, msg_len, seed).generate(count, seed)
}

/// A transaction workload: genesis outputs and signed transactions spending them, each
/// transaction spending its own genesis outputs (so all are valid and none conflict).
pub struct TxWorkload {
    /// Outputs to insert into the UTXO set before the transactions are submitted.
    pub genesis: Vec<(OutPoint, TxOutput)>,
    /// Encoded, signed transactions, in submission order.
    pub txs: Vec<Vec<u8>>,
}

/// Amount of each genesis output.
const GENESIS_AMOUNT: u64 = 1_000;

impl TxWorkload {
    /// `count` transactions with `inputs` inputs each (every input signed by its owner, drawn from
    /// `reuse`), one output each, reproducible from `seed`.
    pub fn generate(count: usize, inputs: usize, reuse: KeyReuse, seed: u64) -> Self {
        let inputs = inputs.max(1);
        let accounts = match reuse {
            KeyReuse::Distinct => count * inputs,
            KeyReuse::Zipf { accounts, .. } => accounts,
        };
        let keys: Vec<SigningKey> = (0..accounts as u64)
            .into_par_iter()
            .map(|i| signing_key(seed, i))
            .collect();
        let owners: Vec<[u8; 32]> = keys
            .par_iter()
            .map(|k| k.verifying_key().to_bytes())
            .collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let sampler = match reuse {
            KeyReuse::Distinct => None,
            KeyReuse::Zipf { accounts, exponent } => Some(ZipfSampler::new(accounts, exponent)),
        };
        // Owner of each input, and the receiver of each transaction's output.
        let picks: Vec<usize> = (0..count * inputs)
            .map(|i| sampler.as_ref().map_or(i, |s| s.sample(&mut rng)))
            .collect();
        let receivers: Vec<usize> = (0..count).map(|_| rng.random_range(0..accounts)).collect();
        let genesis: Vec<(OutPoint, TxOutput)> = picks
            .iter()
            .enumerate()
            .map(|(i, &owner)| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&seed.to_le_bytes());
                id[8..16].copy_from_slice(&(i as u64).to_le_bytes());
                id[31] = 0x6e; // marks a genesis output
                (
                    OutPoint {
                        txid: TxId(id),
                        index: 0,
                    },
                    TxOutput {
                        amount: GENESIS_AMOUNT,
                        owner: owners[owner],
                    },
                )
            })
            .collect();
        let txs = (0..count)
            .into_par_iter()
            .map(|t| {
                let spent = &genesis[t * inputs..(t + 1) * inputs];
                let mut tx = Transaction {
                    inputs: spent
                        .iter()
                        .map(|(prev, _)| TxInput {
                            prev: *prev,
                            owner: [0; 32],
                            signature: [0; 64],
                        })
                        .collect(),
                    outputs: vec![TxOutput {
                        amount: GENESIS_AMOUNT * inputs as u64,
                        owner: owners[receivers[t]],
                    }],
                };
                let signers: Vec<SigningKey> = picks[t * inputs..(t + 1) * inputs]
                    .iter()
                    .map(|&k| keys[k].clone())
                    .collect();
                tx.sign(&signers).expect("one key per input");
                tx.encode()
            })
            .collect();
        Self { genesis, txs }
    }
}
