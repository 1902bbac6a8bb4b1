//! Fixtures of the seeded Atomix scenarios (`atomix_scenarios`, `atomix_proofs`): accounts'
//! keys, a three-shard world, genesis outputs placed in a chosen shard, signed transactions.

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::Policy;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::workload::signing_key;
use iosv_harness::atomix::{AtomixProof, Decision, ShardId};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::AtomixWorld;

/// The seed of every key these fixtures sign with.
const KEY_SEED: u64 = 0xa701c;

/// Key `i` of the scenarios' accounts.
pub fn key(i: u64) -> SigningKey {
    signing_key(KEY_SEED, i)
}

/// The public key of key `i`.
pub fn pk(i: u64) -> [u8; 32] {
    key(i).verifying_key().to_bytes()
}

/// A world of 3 shards of 4 members (ByzCoin), and the rng that seeded it.
pub fn world(seed: u64) -> (AtomixWorld, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let w = AtomixWorld::new(3, 4, Policy::ByzCoin, &mut rng).unwrap();
    (w, rng)
}

/// A genesis output of `amount` owned by key `owner`, placed in shard `shard`.
pub fn fund(w: &mut AtomixWorld, shard: ShardId, tag: u8, owner: u64, amount: u64) -> OutPoint {
    let outpoint = (0..)
        .map(|index| OutPoint {
            txid: TxId([tag; 32]),
            index,
        })
        .find(|o| w.map().shard_of(o) == shard)
        .unwrap();
    w.genesis(
        outpoint,
        TxOutput {
            amount,
            owner: pk(owner),
        },
    )
    .unwrap();
    outpoint
}

/// A transaction spending `inputs` (outpoint, signing key) into `outputs` (amount, owner key).
pub fn spend(inputs: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
    let mut tx = Transaction {
        inputs: inputs
            .iter()
            .map(|&(prev, _)| TxInput {
                prev,
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
    let keys: Vec<SigningKey> = inputs.iter().map(|&(_, k)| key(k)).collect();
    tx.sign(&keys).unwrap();
    tx
}

/// One freshly sealed proof of shard 0 for a transaction spending `a` (shard 0) and `b` (shard 1).
pub fn one_proof(seed: u64) -> (AtomixWorld, Transaction, AtomixProof) {
    let (mut w, mut rng) = world(seed);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 1, 2, 2, 100);
    let tx = spend(&[(a, 1), (b, 2)], &[(200, 3)]);
    let decision = w.shard_mut(0).unwrap().request_lock(&tx).unwrap();
    assert_eq!(decision, Decision::Accept { value: 100 });
    let proof = w.shard_mut(0).unwrap().seal(&mut rng).unwrap().remove(0);
    (w, tx, proof)
}
