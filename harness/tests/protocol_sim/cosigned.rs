//! Co-signed shards under the one deterministic simulator: every validator a node — each
//! shard's leader and its three co-signers, which apply every entry of the leader's journal to
//! their own replica and co-sign each batch in a CoSi round over the simulated network — with
//! shard 0's leader fraudulent (it accepts a forged signature), 10% loss and duplication, and
//! shard 1's leader and one of its co-signers crashed and restarted.
//!
//! Checked at the end: shard 0's three co-signers convicted their leader and the next roster
//! member leads; the forged transaction never commits; of two spends of one outpoint exactly one
//! commits; every other transaction commits and ends the same way at every shard it concerns;
//! no lock is left and funds are conserved at the shards' current leaders; every member that
//! holds its shard's whole history holds the same UTXO set as its leader; and the same seed gives
//! a byte-identical trace.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::Signer;
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::{ShardState, UtxoSet};
use iosv_harness::atomix::{
    AtomixEvent, AtomixNode, AtomixShard, AtomixTiming, ClientNode, CosignerNode, Cosigning,
    Directory, Outcome, ShardInfo, ShardMap, ShardNode, Succession,
};
use iosv_harness::node::{MICROS_PER_MS, NodeId, Time};
use iosv_harness::sim::network::{LinkModel, SimNetwork};
use iosv_harness::sim::{Happening, Simulator};

use super::atomix::{key, outpoint_in, seed32, spend};

const SHARDS: u32 = 2;
const MEMBERS: usize = 4;
const CLIENTS: u32 = 2;
const MS: Time = MICROS_PER_MS;

/// The node of roster member `index` of `shard`: the leader is the shard's own node, the
/// co-signers follow the clients, shard by shard.
fn member_node(shard: u32, index: usize) -> NodeId {
    if index == 0 {
        shard
    } else {
        SHARDS + CLIENTS + shard * (MEMBERS as u32 - 1) + index as u32 - 1
    }
}

/// The transaction of `inputs` (outpoint, owner key) and `outputs` (amount, owner key), unsigned.
fn unsigned(inputs: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
    Transaction {
        inputs: inputs
            .iter()
            .map(|&(prev, owner)| TxInput {
                prev,
                owner: key(owner).verifying_key().to_bytes(),
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
    }
}

/// A theft: the owner's coin, signed by someone else (only signature verification catches it).
fn forged(input: (OutPoint, u64), thief: u64) -> Transaction {
    let mut tx = unsigned(&[input], &[(input_amount(), thief)]);
    let msg = tx.signing_hash();
    tx.inputs[0].signature = key(thief).sign(&msg).to_bytes();
    tx
}

fn input_amount() -> u64 {
    40
}

struct World {
    nodes: Vec<AtomixNode>,
    genesis_total: u128,
    conflicting: (TxId, TxId),
    forged: TxId,
    txs: Vec<Transaction>,
}

fn world(seed: u64) -> World {
    let map = ShardMap::new(SHARDS);
    let timing = AtomixTiming {
        seal_every: 2 * MS,
        retry_every: 15 * MS,
    };
    let mut dir = Directory::new();
    let mut rosters = Vec::new();
    let mut keys = Vec::new();
    for id in 0..SHARDS {
        let members: Vec<MemberKey> = (0..MEMBERS as u64)
            .map(|m| MemberKey::from_seed(&seed32(seed, "member", u64::from(id) * 100 + m)))
            .collect();
        let regs: Vec<_> = members.iter().map(MemberKey::registration).collect();
        let roster = Roster::from_registrations(&regs).unwrap();
        dir.update(ShardInfo::new(id, 0, roster.clone(), Policy::ByzCoin));
        rosters.push(roster);
        keys.push(members);
    }
    // Genesis: (shard, tag, owner key, amount).
    let funds = [
        (0, 1, 0, 100),
        (1, 2, 0, 50),
        (1, 3, 1, 70),
        (0, 4, 1, input_amount()),
        (0, 5, 2, 60),
        (1, 6, 2, 30),
    ];
    let mut states: Vec<ShardState> = (0..SHARDS)
        .map(|_| ShardState::new(UtxoSet::with_shards(4)))
        .collect();
    let mut outpoints = BTreeMap::new();
    let mut genesis_total = 0u128;
    for (shard, tag, owner, amount) in funds {
        let op = outpoint_in(&map, shard, tag);
        states[shard as usize]
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
    let a = spend(&[input(1), input(2)], &[(90, 10), (60, 11)]);
    let a2 = spend(&[input(1), input(3)], &[(170, 12)]);
    let c = spend(&[input(5), input(6)], &[(90, 13)]);
    let theft = forged(input(4), 99);
    let replica = |shard: u32| {
        AtomixShard::replica(
            shard,
            map,
            Policy::ByzCoin,
            rosters[shard as usize].clone(),
            ShardState::from_entries(&states[shard as usize].entries()).unwrap(),
        )
    };
    let succession = |shard: u32| Succession {
        roster_nodes: (0..MEMBERS).map(|i| member_node(shard, i)).collect(),
        clients: (SHARDS..SHARDS + CLIENTS).collect(),
        timing,
        round_timeout: 10 * MS,
    };
    let mut nodes = Vec::new();
    for shard in 0..SHARDS {
        let cosigning = Cosigning::new(
            succession(shard).roster_nodes,
            0,
            keys[shard as usize][0].clone(),
            rosters[shard as usize].clone(),
            Policy::ByzCoin,
            Vec::new(),
            10 * MS,
        )
        .unwrap();
        let leader = ShardNode::new(
            replica(shard),
            dir.clone(),
            timing,
            seed32(seed, "nonces", u64::from(shard)),
        )
        .cosigned(cosigning);
        let leader = if shard == 0 {
            leader.fraudulent()
        } else {
            leader
        };
        nodes.push(AtomixNode::Shard(Box::new(leader)));
    }
    let rosters_of: BTreeMap<u32, Vec<NodeId>> = (0..SHARDS)
        .map(|s| (s, succession(s).roster_nodes))
        .collect();
    let wallets = [vec![a.clone(), theft.clone()], vec![a2.clone(), c.clone()]];
    for (k, txs) in wallets.into_iter().enumerate() {
        nodes.push(AtomixNode::Client(
            ClientNode::new(SHARDS + k as NodeId, map, dir.clone(), timing, txs)
                .with_rosters(rosters_of.clone()),
        ));
    }
    for (shard, members) in (0..SHARDS).zip(&keys) {
        for (index, key) in members.iter().enumerate().skip(1) {
            let id = member_node(shard, index);
            nodes.push(AtomixNode::Cosigner(Box::new(
                CosignerNode::new(
                    id,
                    index,
                    key.clone(),
                    replica(shard),
                    Vec::new(),
                    dir.clone(),
                    succession(shard),
                    seed32(seed, "nonces", u64::from(id)),
                    0,
                )
                .unwrap(),
            )));
        }
    }
    World {
        nodes,
        genesis_total,
        conflicting: (a.txid(), a2.txid()),
        forged: theft.txid(),
        txs: vec![a, a2, c, theft],
    }
}

struct Outcomes {
    trace: Vec<u8>,
    ended: BTreeMap<TxId, BTreeMap<u32, Outcome>>,
    locks: usize,
    total: u128,
    /// (accuser, convicted leader, successor) of every fraud report.
    frauds: BTreeSet<(NodeId, NodeId, Option<NodeId>)>,
    /// Members holding their shard's whole history with a UTXO set unlike their leader's.
    diverged: Vec<NodeId>,
    /// Members holding their shard's whole history (leaders left out).
    whole: usize,
    leaders: Vec<NodeId>,
}

fn run(seed: u64) -> (Outcomes, World) {
    let mut w = world(seed);
    let nodes = std::mem::take(&mut w.nodes);
    let map = ShardMap::new(SHARDS);
    let txs = w.txs.clone();
    let net = SimNetwork::new(
        LinkModel {
            latency: MS,
            jitter: MS,
            loss: 0.10,
            duplicate: 0.10,
        },
        BTreeMap::new(),
        Vec::new(),
        seed,
    );
    let mut sim = Simulator::new(nodes, net, Vec::new());
    // Shard 1's leader and its co-signer (roster member 2) go down and come back.
    sim.schedule_crash(1, 6 * MS);
    sim.schedule_restart(1, 40 * MS);
    let cosigner = member_node(1, 2);
    sim.schedule_crash(cosigner, 20 * MS);
    sim.schedule_restart(cosigner, 70 * MS);
    let back = 70 * MS;
    let leader_of = |sim: &Simulator<AtomixNode, Vec<u8>>, shard: u32| -> NodeId {
        // The successor, once it took over, is a shard node; the convicted leader is not asked.
        (1..MEMBERS)
            .map(|i| member_node(shard, i))
            .find(|&n| sim.node(n).and_then(AtomixNode::as_shard).is_some())
            .unwrap_or(shard)
    };
    let concerned = |tx: &Transaction| -> BTreeSet<u32> {
        map.input_shards(tx)
            .union(&map.output_shards(tx))
            .copied()
            .collect()
    };
    let ended = |sim: &Simulator<AtomixNode, Vec<u8>>| {
        let mut ended: BTreeMap<TxId, BTreeMap<u32, Outcome>> = BTreeMap::new();
        for tx in &txs {
            for s in concerned(tx) {
                let node = sim.node(leader_of(sim, s)).and_then(AtomixNode::as_shard);
                if let Some(o) = node.and_then(|n| n.shard().outcome(&tx.txid())) {
                    ended.entry(tx.txid()).or_default().insert(s, o);
                }
            }
        }
        ended
    };
    let locks = |sim: &Simulator<AtomixNode, Vec<u8>>| -> usize {
        (0..SHARDS)
            .filter_map(|s| sim.node(leader_of(sim, s)).and_then(AtomixNode::as_shard))
            .map(|n| n.shard().state().lock_count())
            .sum()
    };
    let settled = |sim: &Simulator<AtomixNode, Vec<u8>>| {
        let e = ended(sim);
        txs.iter().all(|tx| {
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
    let mut frauds = BTreeSet::new();
    let deadline = 5_000 * MS;
    let mut settled_at = None;
    // Past the restarts, and then 50 ms more for the members to catch up.
    while settled_at.is_none_or(|t| sim.now() < t + 50 * MS)
        && sim.step(deadline, &mut out).expect("trace to memory")
    {
        for h in out.drain(..) {
            if let Happening::Output {
                output:
                    AtomixEvent::Fraud {
                        node,
                        leader,
                        successor,
                        ..
                    },
                ..
            } = h
            {
                frauds.insert((node, leader, successor));
            }
        }
        if settled_at.is_none() && sim.now() >= back && settled(&sim) {
            settled_at = Some(sim.now());
        }
    }
    let leaders: Vec<NodeId> = (0..SHARDS).map(|s| leader_of(&sim, s)).collect();
    let total = leaders
        .iter()
        .filter_map(|&l| sim.node(l).and_then(AtomixNode::as_shard))
        .map(|n| n.shard().state().total_value())
        .sum();
    let (mut diverged, mut whole) = (Vec::new(), 0);
    for shard in 0..SHARDS {
        let leader = sim
            .node(leaders[shard as usize])
            .and_then(AtomixNode::as_shard)
            .unwrap();
        let history = leader.journal_len().unwrap();
        for index in 1..MEMBERS {
            let id = member_node(shard, index);
            let Some(member) = sim.node(id).and_then(AtomixNode::as_cosigner) else {
                continue;
            };
            if member.applied() as usize == history {
                whole += 1;
                if member.replica().state().entries() != leader.shard().state().entries() {
                    diverged.push(id);
                }
            }
        }
    }
    let o = Outcomes {
        ended: ended(&sim),
        locks: locks(&sim),
        total,
        frauds,
        diverged,
        whole,
        leaders,
        trace: sim.into_trace(),
    };
    (o, w)
}

fn check(o: &Outcomes, w: &World, seed: u64) {
    // Shard 0's three co-signers convicted leader 0 and handed the lead to member 1 (node 4).
    let expected: BTreeSet<_> = (1..MEMBERS)
        .map(|i| (member_node(0, i), 0, Some(member_node(0, 1))))
        .collect();
    assert_eq!(o.frauds, expected, "seed {seed}: convictions");
    assert_eq!(o.leaders, [member_node(0, 1), 1], "seed {seed}: leaders");
    let outcome = |txid: &TxId| -> Option<Outcome> {
        let m = o.ended.get(txid)?;
        let first = *m.values().next()?;
        assert!(
            m.values().all(|x| *x == first),
            "seed {seed}: shards disagree on a transaction: {m:?}"
        );
        Some(first)
    };
    for tx in &w.txs {
        assert!(
            outcome(&tx.txid()).is_some(),
            "seed {seed}: a transaction never ended"
        );
    }
    assert_eq!(
        outcome(&w.forged),
        Some(Outcome::Aborted),
        "seed {seed}: the forged transaction must abort"
    );
    let (a, a2) = w.conflicting;
    let committed = [a, a2]
        .iter()
        .filter(|t| outcome(t) == Some(Outcome::Committed))
        .count();
    assert_eq!(
        committed, 1,
        "seed {seed}: exactly one of two spends commits"
    );
    assert_eq!(
        outcome(&w.txs[2].txid()),
        Some(Outcome::Committed),
        "seed {seed}"
    );
    assert_eq!(o.locks, 0, "seed {seed}: locks left");
    assert_eq!(
        o.total, w.genesis_total,
        "seed {seed}: funds lost or created"
    );
    assert!(
        o.diverged.is_empty(),
        "seed {seed}: {:?} diverged",
        o.diverged
    );
    assert!(
        o.whole >= 2,
        "seed {seed}: only {} members hold the whole history",
        o.whole
    );
}

#[test]
fn cosigned_shards_convict_a_fraudulent_leader_under_loss_and_restarts() {
    for seed in [31u64, 32, 33] {
        let (a, w) = run(seed);
        check(&a, &w, seed);
        let (b, _) = run(seed);
        assert!(
            a.trace == b.trace,
            "seed {seed}: two runs of one seed gave different traces"
        );
        let text = String::from_utf8(a.trace).unwrap();
        assert!(text.contains("\"ev\":\"restart\""));
        assert!(text.contains("\"type\":\"convicted\""));
    }
}
