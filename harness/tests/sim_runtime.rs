//! The real-time runner drives the same validator state machines on threads with channels, in
//! real time, and they elect the same leaders and accept the same randomness as in the simulator.

mod sim_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iosv_harness::epoch::Output;
use iosv_harness::runtime;
use iosv_harness::sim::{SimConfig, run::validators};

#[test]
fn real_time_run_agrees_with_the_simulator() {
    let seed = 9;
    let cfg = SimConfig {
        validators: 7,
        shards: 1,
        // Δ is generous so a loaded machine's scheduling delays stay well inside it.
        delta_ms: 200,
        epoch_len_ms: Some(2_400),
        ..SimConfig::default()
    };
    let nodes = validators(&cfg, seed).unwrap();
    // Epochs 0 and 1 complete; epoch 2 starts at 4.8 s, after the run.
    let records = runtime::run(nodes, Duration::from_millis(4_000));
    let mut accepted: BTreeMap<u64, BTreeMap<u32, [u8; 32]>> = BTreeMap::new();
    for r in &records {
        if let Output::RandomnessAccepted {
            epoch,
            value,
            elapsed,
            ..
        } = r.output
        {
            assert!(
                elapsed <= 3 * 100_000,
                "accepted {elapsed} µs after the close"
            );
            accepted.entry(epoch).or_default().insert(r.node, value);
        }
    }
    let simulated = sim_common::run(&cfg, seed, 2);
    for epoch in 0..2u64 {
        let by_node = accepted.get(&epoch).expect("epoch accepted in real time");
        assert_eq!(by_node.len(), 7, "every node accepted epoch {epoch}");
        let values: BTreeSet<_> = by_node.values().collect();
        assert_eq!(values.len(), 1, "agreement in epoch {epoch}");
        let sim_value = simulated.checks.epochs[epoch as usize]
            .value
            .clone()
            .unwrap();
        assert_eq!(hex::encode(values.first().unwrap()), sim_value);
    }
}

/// The finality members that run under the simulator (`tests/finality_sim.rs`) run unchanged on
/// the real-time runner: threads, channels, the wall clock.
#[test]
fn finality_members_finalize_in_real_time_too() {
    use iosv_harness::finality::{Config, Member, ProposalSource};
    use iosv_harness::sim::finality_net::proposal_for;
    use std::sync::Arc;

    const HEIGHTS: u64 = 5;
    let seeds: Vec<[u8; 32]> = (0..4u8).map(|i| [i + 1; 32]).collect();
    let nonces: Vec<[u8; 32]> = (0..4u8).map(|i| [i + 101; 32]).collect();
    let proposals: ProposalSource =
        Arc::new(|_, height| (height < HEIGHTS).then(|| proposal_for(height)));
    // Generous timeouts (µs): a loaded CI machine's scheduling delays stay inside them.
    let config = Config {
        fanout: 2,
        level_timeout: 50_000,
        view_timeout: 1_000_000,
        fast_path: true,
    };
    let members = Member::league(&seeds, &nonces, config, proposals);
    let records = runtime::run(members, Duration::from_millis(3_000));
    let mut decided: BTreeMap<u64, [u8; 32]> = BTreeMap::new();
    let mut per_member: BTreeMap<u32, u64> = BTreeMap::new();
    for r in &records {
        let digest = r.output.proposal.digest();
        assert_eq!(
            *decided.entry(r.output.height).or_insert(digest),
            digest,
            "two values at height {}",
            r.output.height
        );
        *per_member.entry(r.node).or_default() += 1;
    }
    assert_eq!(
        per_member.len(),
        4,
        "every member finalized: {per_member:?}"
    );
    assert!(
        per_member.values().all(|&h| h == HEIGHTS),
        "heights per member: {per_member:?}"
    );
}

/// The Atomix shards and clients that run under the simulator (`tests/protocol_sim/atomix.rs`)
/// run unchanged on the real-time runner: a lone cross-shard transaction commits; of a
/// cross-shard transaction and its double spend, submitted by two clients at once, at most one
/// commits (both abort when each shard locks a different one first: Atomix promises safety, not
/// that one of two conflicting transactions wins); all three settle at their clients.
#[test]
fn atomix_nodes_commit_in_real_time_too() {
    use ed25519_dalek::SigningKey;
    use iosv_engine::cosi::Policy;
    use iosv_engine::cosi::schnorr::MemberKey;
    use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
    use iosv_engine::utxo::{ShardState, UtxoSet};
    use iosv_engine::workload::signing_key;
    use iosv_harness::atomix::{
        AtomixEvent, AtomixNode, AtomixShard, AtomixTiming, ClientNode, Directory, Outcome,
        ShardMap, ShardNode,
    };

    let key = |i: u64| -> SigningKey { signing_key(0x0a70_0001, i) };
    let map = ShardMap::new(2);
    let mut dir = Directory::new();
    let mut shards = Vec::new();
    for id in 0..2u32 {
        let keys = (0..4u8)
            .map(|m| MemberKey::from_seed(&[id as u8 * 16 + m + 1; 32]))
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
    let mut inputs = Vec::new();
    let mut lone_inputs = Vec::new();
    for (shard, tag) in [(0u32, 1u8), (1, 2), (0, 3), (1, 4)] {
        let op = (0..)
            .map(|index| OutPoint {
                txid: TxId([tag; 32]),
                index,
            })
            .find(|o| map.shard_of(o) == shard)
            .unwrap();
        shards[shard as usize]
            .state_mut()
            .insert(
                op,
                TxOutput {
                    amount: 50,
                    owner: key(0).verifying_key().to_bytes(),
                },
            )
            .unwrap();
        if tag <= 2 {
            inputs.push(op);
        } else {
            lone_inputs.push(op);
        }
    }
    let spend = |inputs: &[OutPoint], to: u64| {
        let mut tx = Transaction {
            inputs: inputs
                .iter()
                .map(|&prev| TxInput {
                    prev,
                    owner: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
            outputs: vec![TxOutput {
                amount: 100,
                owner: key(to).verifying_key().to_bytes(),
            }],
        };
        tx.sign(&[key(0), key(0)]).unwrap();
        tx
    };
    let (tx, double, lone) = (spend(&inputs, 1), spend(&inputs, 2), spend(&lone_inputs, 3));
    // Generous timing (µs) for a loaded machine.
    let timing = AtomixTiming {
        seal_every: 5_000,
        retry_every: 200_000,
    };
    let mut nodes: Vec<AtomixNode> = shards
        .into_iter()
        .map(|s| AtomixNode::Shard(Box::new(ShardNode::new(s, dir.clone(), timing, [7; 32]))))
        .collect();
    nodes.push(AtomixNode::Client(ClientNode::new(
        2,
        map,
        dir.clone(),
        timing,
        vec![tx.clone(), lone.clone()],
    )));
    nodes.push(AtomixNode::Client(ClientNode::new(
        3,
        map,
        dir,
        timing,
        vec![double.clone()],
    )));
    let records = runtime::run(nodes, Duration::from_millis(1_500));
    let settled: BTreeMap<TxId, Outcome> = records
        .iter()
        .filter_map(|r| match r.output {
            AtomixEvent::Settled { txid, outcome } => Some((txid, outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(settled.len(), 3, "every transaction settles: {settled:?}");
    let committed: BTreeSet<TxId> = settled
        .iter()
        .filter(|(_, o)| **o == Outcome::Committed)
        .map(|(t, _)| *t)
        .collect();
    assert!(
        committed.contains(&lone.txid()),
        "the lone one commits: {settled:?}"
    );
    assert!(
        !(committed.contains(&tx.txid()) && committed.contains(&double.txid())),
        "at most one of the two spends commits: {settled:?}"
    );
}
