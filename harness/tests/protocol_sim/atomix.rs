//! Atomix under the one deterministic simulator: shards and clients as `node::Node`s over a
//! network that loses and duplicates messages, with an input shard that crashes (losing its
//! unsigned decisions) and restarts, and a client that crashes and restarts. Checked at the end:
//! no double spend (of two transactions spending one outpoint exactly one commits), no lost or
//! created funds (the shards' total value equals the genesis total), every transaction ended the
//! same way at every shard it concerns, no lock left; and the same seed gives a byte-identical
//! trace.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::MemberKey;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::{ShardState, UtxoSet};
use iosv_engine::workload::signing_key;
use iosv_harness::atomix::{
    AtomixNode, AtomixShard, AtomixTiming, ClientNode, Directory, Outcome, ShardMap, ShardNode,
};
use iosv_harness::node::{MICROS_PER_MS, NodeId, Time};
use iosv_harness::sim::network::{LinkModel, SimNetwork};
use iosv_harness::sim::{Happening, Simulator};
use sha2::{Digest, Sha256};

const SHARDS: u32 = 3;
const MEMBERS: usize = 4;
const MS: Time = MICROS_PER_MS;

pub(super) fn key(i: u64) -> SigningKey {
    signing_key(0x0a70_1c51, i)
}

pub(super) fn seed32(seed: u64, what: &str, i: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"atomix_sim test seeds");
    h.update(what.as_bytes());
    h.update(seed.to_le_bytes());
    h.update(i.to_le_bytes());
    h.finalize().into()
}

/// An outpoint of shard `shard` with txid `[tag; 32]`.
pub(super) fn outpoint_in(map: &ShardMap, shard: u32, tag: u8) -> OutPoint {
    (0..)
        .map(|index| OutPoint {
            txid: TxId([tag; 32]),
            index,
        })
        .find(|o| map.shard_of(o) == shard)
        .unwrap()
}

/// A transaction spending `inputs` (outpoint, owner key) into `outputs` (amount, owner key).
pub(super) fn spend(inputs: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
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
                owner: key(owner).verifying_key().to_bytes(),
            })
            .collect(),
    };
    let keys: Vec<SigningKey> = inputs.iter().map(|&(_, k)| key(k)).collect();
    tx.sign(&keys).unwrap();
    tx
}

struct World {
    nodes: Vec<AtomixNode>,
    genesis_total: u128,
    /// The two transactions that spend one outpoint.
    conflicting: (TxId, TxId),
    /// Every transaction submitted.
    txs: Vec<Transaction>,
}

fn world(seed: u64) -> World {
    let map = ShardMap::new(SHARDS);
    let mut dir = Directory::new();
    let mut shards = Vec::new();
    for id in 0..SHARDS {
        let keys = (0..MEMBERS as u64)
            .map(|m| MemberKey::from_seed(&seed32(seed, "member", u64::from(id) * 100 + m)))
            .collect();
        let shard = AtomixShard::new(
            id,
            map,
            Policy::ByzCoin,
            keys,
            ShardState::new(UtxoSet::with_shards(4)),
        )
        .unwrap();
        dir.update(shard.info().clone());
        shards.push(shard);
    }
    // Genesis: (shard, tag, owner key, amount).
    let funds = [
        (0, 1, 0, 100),
        (1, 2, 0, 50),
        (1, 3, 1, 70),
        (2, 4, 1, 30),
        (2, 5, 2, 40),
        (0, 6, 2, 60),
    ];
    let mut outpoints = BTreeMap::new();
    let mut genesis_total = 0u128;
    for (shard, tag, owner, amount) in funds {
        let op = outpoint_in(&map, shard, tag);
        shards[shard as usize]
            .state_mut()
            .insert(
                op,
                TxOutput {
                    amount,
                    owner: key(owner).verifying_key().to_bytes(),
                },
            )
            .unwrap();
        outpoints.insert(tag, (op, owner));
        genesis_total += u128::from(amount);
    }
    let input = |tag: u8| outpoints[&tag];
    // A and A2 both spend outpoint 1 (shard 0): exactly one may commit.
    let a = spend(&[input(1), input(2)], &[(90, 10), (60, 11)]);
    let a2 = spend(&[input(1), input(3)], &[(170, 12)]);
    let c = spend(&[input(5), input(6)], &[(100, 13)]);
    let e = spend(&[input(4)], &[(10, 14), (20, 15)]);
    let timing = AtomixTiming {
        seal_every: 2 * MS,
        retry_every: 15 * MS,
    };
    let mut nodes: Vec<AtomixNode> = shards
        .into_iter()
        .map(|s| {
            let id = u64::from(s.id());
            AtomixNode::Shard(Box::new(ShardNode::new(
                s,
                dir.clone(),
                timing,
                seed32(seed, "nonces", id),
            )))
        })
        .collect();
    let wallets = [
        vec![a.clone()],
        vec![a2.clone(), e.clone()],
        vec![c.clone()],
    ];
    for (k, txs) in wallets.into_iter().enumerate() {
        nodes.push(AtomixNode::Client(ClientNode::new(
            SHARDS + k as NodeId,
            map,
            dir.clone(),
            timing,
            txs,
        )));
    }
    World {
        nodes,
        genesis_total,
        conflicting: (a.txid(), a2.txid()),
        txs: vec![a, a2, c, e],
    }
}

struct Outcomes {
    trace: Vec<u8>,
    /// Each transaction's outcome at each shard it concerns.
    ended: BTreeMap<TxId, BTreeMap<u32, Outcome>>,
    locks: usize,
    total: u128,
    genesis_total: u128,
    conflicting: (TxId, TxId),
    txs: Vec<Transaction>,
    refusals: usize,
}

/// The network and the crashes of one run.
struct Faults {
    loss: f64,
    duplicate: f64,
    /// (node, down at, back at).
    crashes: Vec<(NodeId, Time, Time)>,
}

/// Input shard 1 goes down before its first seal (its queued decisions are lost), and a client
/// goes down with its proofs; 10% loss and 10% duplication.
fn fixed_faults() -> Faults {
    Faults {
        loss: 0.10,
        duplicate: 0.10,
        crashes: vec![(1, 1_800, 60 * MS), (SHARDS + 1, 3 * MS, 30 * MS)],
    }
}

fn run(seed: u64) -> Outcomes {
    run_with(seed, &fixed_faults())
}

fn run_with(seed: u64, faults: &Faults) -> Outcomes {
    let w = world(seed);
    let map = ShardMap::new(SHARDS);
    let net = SimNetwork::new(
        LinkModel {
            latency: MS,
            jitter: MS,
            loss: faults.loss,
            duplicate: faults.duplicate,
        },
        BTreeMap::new(),
        Vec::new(),
        seed,
    );
    let mut sim = Simulator::new(w.nodes, net, Vec::new());
    for &(node, down, up) in &faults.crashes {
        sim.schedule_crash(node, down);
        sim.schedule_restart(node, up);
    }
    let back = faults.crashes.iter().map(|c| c.2).max().unwrap_or(0);
    let concerned = |tx: &Transaction| -> BTreeSet<u32> {
        map.input_shards(tx)
            .union(&map.output_shards(tx))
            .copied()
            .collect()
    };
    let ended = |sim: &Simulator<AtomixNode, Vec<u8>>| {
        let mut ended: BTreeMap<TxId, BTreeMap<u32, Outcome>> = BTreeMap::new();
        for tx in &w.txs {
            let txid = tx.txid();
            for s in concerned(tx) {
                let shard = sim.node(s).and_then(AtomixNode::as_shard).unwrap().shard();
                if let Some(o) = shard.outcome(&txid) {
                    ended.entry(txid).or_default().insert(s, o);
                }
            }
        }
        ended
    };
    let locks = |sim: &Simulator<AtomixNode, Vec<u8>>| -> usize {
        (0..SHARDS)
            .map(|s| {
                let node = sim.node(s).and_then(AtomixNode::as_shard).unwrap();
                node.shard().state().lock_count()
            })
            .sum()
    };
    let settled = |sim: &Simulator<AtomixNode, Vec<u8>>| {
        let e = ended(sim);
        // Every shard concerned ended each transaction (an aborted one concerns only its input
        // shards), and no lock remains.
        w.txs.iter().all(|tx| {
            let here = e.get(&tx.txid());
            let commit = here.is_some_and(|m| m.values().any(|o| *o == Outcome::Committed));
            let needed = if commit {
                concerned(tx)
            } else {
                map.input_shards(tx)
            };
            here.is_some_and(|m| needed.iter().all(|s| m.contains_key(s)))
        }) && locks(sim) == 0
    };
    let mut out = Vec::new();
    let mut refusals = 0;
    let deadline = 5_000 * MS;
    // Run past the restarts before judging, so that the crashed nodes are back.
    while (sim.now() < back || !settled(&sim))
        && sim.step(deadline, &mut out).expect("trace to memory")
    {
        refusals += out
            .drain(..)
            .filter(|h| {
                matches!(
                    h,
                    Happening::Output {
                        output: iosv_harness::atomix::AtomixEvent::Refused { .. },
                        ..
                    }
                )
            })
            .count();
    }
    let total = (0..SHARDS)
        .map(|s| {
            let node = sim.node(s).and_then(AtomixNode::as_shard).unwrap();
            node.shard().state().total_value()
        })
        .sum();
    Outcomes {
        ended: ended(&sim),
        locks: locks(&sim),
        total,
        trace: sim.into_trace(),
        genesis_total: w.genesis_total,
        conflicting: w.conflicting,
        txs: w.txs,
        refusals,
    }
}

fn check(o: &Outcomes, seed: u64) {
    let outcome = |txid: &TxId| -> Option<Outcome> {
        let m = o.ended.get(txid)?;
        let first = *m.values().next()?;
        assert!(
            m.values().all(|x| *x == first),
            "seed {seed}: shards disagree on a transaction: {m:?}"
        );
        Some(first)
    };
    for tx in &o.txs {
        assert!(
            outcome(&tx.txid()).is_some(),
            "seed {seed}: a transaction never ended"
        );
    }
    let (a, a2) = o.conflicting;
    let committed = [a, a2]
        .iter()
        .filter(|t| outcome(t) == Some(Outcome::Committed))
        .count();
    assert_eq!(
        committed, 1,
        "seed {seed}: of two spends of one outpoint exactly one commits"
    );
    for tx in &o.txs[2..] {
        assert_eq!(
            outcome(&tx.txid()),
            Some(Outcome::Committed),
            "seed {seed}: an unconflicted transaction aborted"
        );
    }
    assert_eq!(o.locks, 0, "seed {seed}: locks left");
    assert_eq!(
        o.total, o.genesis_total,
        "seed {seed}: funds lost or created"
    );
}

#[test]
fn atomix_with_loss_duplication_and_a_restarted_input_shard_commits_safely() {
    for seed in [11u64, 12, 13] {
        let a = run(seed);
        check(&a, seed);
        let b = run(seed);
        assert!(
            a.trace == b.trace,
            "seed {seed}: two runs of one seed gave different traces"
        );
        let text = String::from_utf8(a.trace).unwrap();
        assert!(
            text.contains("\"dup\":true") && text.contains("\"reason\":\"loss\""),
            "seed {seed}: the network should have lost and duplicated messages"
        );
        assert!(text.contains("\"ev\":\"restart\""));
        eprintln!(
            "seed {seed}: {} trace lines, {} refusals",
            text.lines().count(),
            a.refusals
        );
    }
}

/// Property: whatever loss, duplication and crash/restarts of shards and clients a seed draws
/// (everything back up by 300 ms), exactly one of the two conflicting spends commits, the others
/// commit, funds are conserved and no lock is left.
#[test]
fn random_faults_never_double_spend_or_lose_funds() {
    use rand::{Rng, SeedableRng};
    for seed in 200..212u64 {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let crashes = (0..rng.random_range(0..=3))
            .map(|_| {
                let node = rng.random_range(0..SHARDS + 3);
                let down = rng.random_range(0..100) * MS / 2;
                (node, down, down + rng.random_range(1..250) * MS)
            })
            .collect();
        let faults = Faults {
            loss: f64::from(rng.random_range(0..=15u32)) / 100.0,
            duplicate: f64::from(rng.random_range(0..=15u32)) / 100.0,
            crashes,
        };
        check(&run_with(seed, &faults), seed);
    }
}
